//! Gives a user a role in a project, creating the account when the name is new.

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::AddedMember;

/// Adds `username` with `role`; an empty password generates one, shown once.
#[server(prefix = "/rpc", endpoint = "members/add")]
pub async fn add_member(
    slug: String,
    username: String,
    role: String,
    password: String,
) -> Result<AddedMember, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    Ok(backend
        .add_member(&parts, slug, username, role, password)
        .await?)
}
