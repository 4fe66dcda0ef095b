//! Lists a project's members.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::MemberView;

/// The project's members with their roles, and the site admins.
#[server(prefix = "/rpc", endpoint = "members/list")]
pub async fn list_members(slug: String) -> Result<Vec<MemberView>, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend.list_members(&parts, slug).await?)
}
