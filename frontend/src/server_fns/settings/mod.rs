//! Server functions of a project's settings page (project admins only).

pub mod get;
pub mod update;
