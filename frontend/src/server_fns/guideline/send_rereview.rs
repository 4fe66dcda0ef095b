//! Sends the judgments a version's changes touch to re-review.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Sends them; how many re-reviews are new. A plain form post works too.
#[server(prefix = "/rpc", endpoint = "guideline/send-rereview")]
pub async fn send_rereview(slug: String, number: i64) -> Result<u64, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.send_rereview(&parts, slug, number).await?)
}
