//! Stores a judgment from the workspace.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppFnError;
use crate::types::JudgmentForm;

/// Stores the judgment (idempotent by its key); the judgment's id and revision.
/// Sent as JSON: a form encoding cannot tell an empty citation list from a missing one.
#[server(prefix = "/rpc", endpoint = "annotate/submit", input = Json)]
pub async fn submit_judgment(slug: String, form: JudgmentForm) -> Result<(i64, i64), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.submit(&parts, slug, form).await?)
}
