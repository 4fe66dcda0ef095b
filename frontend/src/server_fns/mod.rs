//! Server functions, one per file under `<resource>/<verb>.rs`: thin adapters from the
//! browser to the [`crate::backend::Backend`] the server provides.

pub mod annotate;
pub mod guideline;
pub mod members;
pub mod projects;
pub mod quality;
pub mod review;
pub mod session;
pub mod settings;
