//! Logs out.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Logs out and goes to the login page.
#[server(prefix = "/rpc", endpoint = "session/logout")]
pub async fn logout() -> Result<(), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    backend.logout(&parts).await?;
    leptos_axum::redirect("/login");
    Ok(())
}
