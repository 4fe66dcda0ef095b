//! Reads the project's guideline.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::GuidelineView;

/// The latest published guideline of the project.
#[server(prefix = "/rpc", endpoint = "annotate/guideline")]
pub async fn guideline(slug: String) -> Result<Option<GuidelineView>, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.guideline(&parts, slug).await?)
}
