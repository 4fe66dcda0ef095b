//! Leases the caller's next pair.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::ClaimedPair;

/// The caller's next pair in the project, leased to them; `None` when nothing is left.
#[server(prefix = "/rpc", endpoint = "annotate/next")]
pub async fn claim_next(slug: String) -> Result<Option<ClaimedPair>, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.claim_next(&parts, slug).await?)
}
