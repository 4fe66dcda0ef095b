//! Records a reviewer's re-review decision.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Confirms or changes a re-reviewed pair's label under the latest guideline version.
#[server(prefix = "/rpc", endpoint = "review/rereview")]
pub async fn decide_rereview(
    slug: String,
    pair_id: i64,
    label: String,
    note: Option<String>,
) -> Result<(), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend
        .decide_rereview(&parts, slug, pair_id, label, note.unwrap_or_default())
        .await?)
}
