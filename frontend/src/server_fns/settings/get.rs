//! Reads a project's settings.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::SettingsView;

/// The project's settings.
#[server(prefix = "/rpc", endpoint = "settings/get")]
pub async fn project_settings(slug: String) -> Result<SettingsView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.settings(&parts, slug).await?)
}
