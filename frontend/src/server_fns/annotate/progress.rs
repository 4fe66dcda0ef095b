//! Reads the caller's progress.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::Progress;

/// The caller's progress in the project.
#[server(prefix = "/rpc", endpoint = "annotate/progress")]
pub async fn my_progress(slug: String) -> Result<Progress, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.progress(&parts, slug).await?)
}
