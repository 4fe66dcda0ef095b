//! Takes a role in a project from a user.

use leptos::prelude::*;

use crate::error::AppFnError;

/// Takes `role` in the project from the user.
#[server(prefix = "/rpc", endpoint = "members/revoke")]
pub async fn revoke_role(slug: String, user_id: i64, role: String) -> Result<(), AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.revoke_role(&parts, slug, user_id, role).await?)
}
