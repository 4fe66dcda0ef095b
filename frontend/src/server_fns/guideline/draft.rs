//! The guideline editor's draft: read it, save it, publish it.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppFnError;
use crate::types::{DraftEditView, RuleView};

/// The draft to edit (or the latest version when there is none).
#[server(prefix = "/rpc", endpoint = "guideline/draft")]
pub async fn guideline_draft(slug: String) -> Result<DraftEditView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.guideline_draft(&parts, slug).await?)
}

/// Replaces the draft with these rules. Sent as JSON: the rules nest.
#[server(prefix = "/rpc", endpoint = "guideline/save-draft", input = Json)]
pub async fn save_draft(slug: String, rules: Vec<RuleView>) -> Result<(), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.save_guideline_draft(&parts, slug, rules).await?)
}

/// Publishes the draft with a change note; the new version's number.
#[server(prefix = "/rpc", endpoint = "guideline/publish")]
pub async fn publish_draft(slug: String, note: String) -> Result<i64, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.publish_guideline_draft(&parts, slug, note).await?)
}

/// Pairs whose query or item title contains `text` (at most 20), to pick an example from.
#[server(prefix = "/rpc", endpoint = "guideline/search-pairs")]
pub async fn search_pairs(
    slug: String,
    text: String,
) -> Result<Vec<crate::types::PairHit>, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.search_pairs(&parts, slug, text).await?)
}
