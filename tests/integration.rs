//! Every integration test of the `relabel` crate, in one test binary: one link of the
//! server and its dependencies instead of one per file, which was most of the test
//! build on a clean clone. Each file below is a module; filter with its name, e.g.
//! `cargo test --test integration cli::` (the names are printed as `cli::...`).

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

mod api;
mod authz;
mod browser;
mod cli;
mod http;
mod quality;
mod queue;
mod scale;
mod storage;
