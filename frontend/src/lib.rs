//! The relabel web app: pages and components rendered on the server (`ssr`) and hydrated
//! in the browser (`hydrate`). The values that cross the wire between the two live in
//! `relabel-core` (re-exported here as `types` and `cot_text`), the markdown renderer in
//! `relabel-formats`.

// Leptos views are deeply nested types; the workspace page needs more than the default 128.
#![recursion_limit = "256"]

pub use relabel_core::{cot_text, types};
/// Rule bodies' markdown, rendered the same on both sides (`relabel-formats`).
pub use relabel_formats::markdown;

pub mod app;
pub mod dashboard;
pub mod error;
pub mod export_page;
pub mod guideline_editor;
pub mod guideline_pages;
pub mod members;
pub mod rank_order;
pub mod rank_panel;
pub mod review;
pub mod server_fns;
pub mod settings;
pub mod workspace;

#[cfg(feature = "ssr")]
pub mod backend;

/// Entry point of the wasm bundle: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
