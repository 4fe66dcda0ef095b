//! Reads one guideline version and its diff from the version before.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::VersionPageView;

/// One version, what changed, and (for editors, reviewers, admins) what it touches.
#[server(prefix = "/rpc", endpoint = "guideline/version")]
pub async fn guideline_version(slug: String, number: i64) -> Result<VersionPageView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.guideline_version_page(&parts, slug, number).await?)
}
