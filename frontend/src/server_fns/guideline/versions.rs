//! Lists a project's published guideline versions.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::VersionListEntry;

/// The published versions, oldest first.
#[server(prefix = "/rpc", endpoint = "guideline/versions")]
pub async fn guideline_versions(slug: String) -> Result<Vec<VersionListEntry>, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.guideline_versions(&parts, slug).await?)
}
