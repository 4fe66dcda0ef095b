# relabel in a container: the server binary, its browser bundle and the scorer's weights.
# Multi-stage: the Rust toolchain stays in the build stage; the runtime is Debian slim.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/dev setup \
 && cargo build --release -p relabel \
 && cargo build -p relabel-frontend --lib --target wasm32-unknown-unknown \
      --no-default-features --features hydrate --profile wasm-release \
 && wasm-bindgen --target web --no-typescript --out-name relabel --out-dir /site/pkg \
      target/wasm32-unknown-unknown/wasm-release/relabel_frontend.wasm \
 && mkdir -p /models models/weights && cp -r models/weights/. /models/

FROM debian:bookworm-slim
RUN useradd --system --home-dir /srv/relabel --shell /usr/sbin/nologin relabel
COPY --from=build /src/target/release/relabel /usr/local/bin/relabel
COPY --from=build /site /srv/relabel/site
COPY --from=build /models /srv/relabel/models
ENV RELABEL_SITE_ROOT=/srv/relabel/site \
    RELABEL_MODEL_DIR=/srv/relabel/models/all-MiniLM-L6-v2
USER relabel
EXPOSE 3000
ENTRYPOINT ["relabel"]
CMD ["serve", "--addr", "0.0.0.0:3000"]
