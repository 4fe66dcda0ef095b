//! Lists the projects with their counts.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::ProjectSummary;

/// Every project with its pair and judgment counts.
#[server(prefix = "/rpc", endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppFnError> {
    let backend =
        use_context::<crate::backend::SharedBackend>().ok_or(AppFnError::Misconfigured)?;
    backend.list_projects().await.map_err(|err| {
        leptos::logging::error!("list_projects: {err}");
        AppFnError::Storage
    })
}
