//! Server functions about projects.

pub mod list;
