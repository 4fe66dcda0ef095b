//! Server functions of a project's members page (project admins only).

pub mod add;
pub mod list;
pub mod revoke;
