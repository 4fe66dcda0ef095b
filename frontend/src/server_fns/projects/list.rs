//! Lists the caller's projects with their counts.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::ProjectSummary;

/// The projects the caller may see, with their pair and judgment counts.
#[server(prefix = "/rpc", endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.list_projects(&parts).await?)
}
