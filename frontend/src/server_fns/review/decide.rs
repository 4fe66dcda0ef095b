//! Records a pair's final label.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Records the reviewer's final label for a pair, with a note; a plain form post works too.
#[server(prefix = "/rpc", endpoint = "review/decide")]
pub async fn decide(
    slug: String,
    pair_id: i64,
    label: String,
    note: Option<String>,
) -> Result<(), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend
        .decide(&parts, slug, pair_id, label, note.unwrap_or_default())
        .await?)
}
