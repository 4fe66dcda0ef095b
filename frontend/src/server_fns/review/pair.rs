//! Reads one pair for review.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::ReviewPairView;

/// A pair's judgments, candidates and decisions.
#[server(prefix = "/rpc", endpoint = "review/pair")]
pub async fn review_pair(slug: String, pair_id: i64) -> Result<ReviewPairView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.review_pair(&parts, slug, pair_id).await?)
}
