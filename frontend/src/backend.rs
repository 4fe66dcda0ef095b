//! What the app needs from the server, as a trait the server implements and provides
//! through Leptos context, so this crate never depends on the server crate. Each call
//! gets the request's parts: the server finds the caller's session there.

use std::sync::Arc;

use http::request::Parts;

use crate::types::ProjectSummary;

/// The server side of the app's data needs.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// The projects the caller may see, with their counts, ordered by slug.
    async fn list_projects(&self, request: &Parts) -> Result<Vec<ProjectSummary>, BackendError>;
    /// Logs the caller in; the user's name on success.
    async fn login(
        &self,
        request: &Parts,
        username: String,
        password: String,
    ) -> Result<String, BackendError>;
    /// Logs the caller out.
    async fn logout(&self, request: &Parts) -> Result<(), BackendError>;
}

/// Why the server refused or failed; it logs causes before returning them.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Nobody is logged in.
    #[error("not logged in")]
    Unauthorized,
    /// Wrong user name or password.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many login attempts; seconds to wait.
    #[error("too many attempts")]
    TooManyAttempts(u64),
    /// Anything else.
    #[error("backend failure: {0}")]
    Failed(String),
}

/// The context value the server provides to every render and server function.
pub type SharedBackend = Arc<dyn Backend>;
