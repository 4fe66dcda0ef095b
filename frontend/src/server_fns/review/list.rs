//! Reads a project's review queue.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::ReviewQueueView;

/// The pairs waiting for a reviewer, widest disagreement first.
#[server(prefix = "/rpc", endpoint = "review/list")]
pub async fn review_queue(slug: String) -> Result<ReviewQueueView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.review_queue(&parts, slug).await?)
}
