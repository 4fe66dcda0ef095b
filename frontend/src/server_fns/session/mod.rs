//! Server functions about the login session.

pub mod login;
pub mod logout;
