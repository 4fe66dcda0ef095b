//! Skips a pair.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Skips the pair: released, and never shown to the caller again.
#[server(prefix = "/rpc", endpoint = "annotate/skip")]
pub async fn skip_pair(slug: String, pair_id: i64) -> Result<(), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.skip(&parts, slug, pair_id).await?)
}
