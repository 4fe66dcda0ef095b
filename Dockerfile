# relabel in a container: the server binary plus its browser bundle.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/dev setup \
 && cargo build --release -p relabel \
 && cargo build -p relabel-frontend --lib --target wasm32-unknown-unknown \
      --no-default-features --features hydrate --profile wasm-release \
 && wasm-bindgen --target web --no-typescript --out-name relabel --out-dir /site/pkg \
      target/wasm32-unknown-unknown/wasm-release/relabel_frontend.wasm

FROM debian:bookworm-slim
COPY --from=build /src/target/release/relabel /usr/local/bin/relabel
COPY --from=build /site /srv/relabel/site
ENV RELABEL_SITE_ROOT=/srv/relabel/site
EXPOSE 3000
ENTRYPOINT ["relabel"]
CMD ["serve", "--addr", "0.0.0.0:3000"]
