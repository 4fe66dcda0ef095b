//! Reads a project's quality dashboard.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::DashboardView;

/// The project's quality dashboard.
#[server(prefix = "/rpc", endpoint = "quality/dashboard")]
pub async fn project_dashboard(slug: String) -> Result<DashboardView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.dashboard(&parts, slug).await?)
}
