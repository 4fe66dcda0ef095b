//! What the app needs from the server's storage, as a trait the server implements and
//! provides through Leptos context, so this crate never depends on the server crate.

use std::sync::Arc;

use crate::types::ProjectSummary;

/// The server side of the app's data needs.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Every project with its counts, ordered by slug.
    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, BackendError>;
}

/// A storage failure; the server logs the cause before returning it.
#[derive(Debug, thiserror::Error)]
#[error("backend failure: {0}")]
pub struct BackendError(pub String);

/// The context value the server provides to every render and server function.
pub type SharedBackend = Arc<dyn Backend>;
