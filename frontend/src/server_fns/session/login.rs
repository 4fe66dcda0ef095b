//! Logs in from the login page.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Logs in and goes to the project list.
#[server(prefix = "/rpc", endpoint = "session/login")]
pub async fn login(username: String, password: String) -> Result<String, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    let name = backend.login(&parts, username, password).await?;
    leptos_axum::redirect("/");
    Ok(name)
}
