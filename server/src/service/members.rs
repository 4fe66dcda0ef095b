//! Who may work in a project: adding users with a role, granting and revoking roles.
//! The CLI (`relabel users add`), the members page and `/api/v1/projects/{slug}/members`
//! share these rules: [`add`] and [`revoke`] are the rules, [`list_members`],
//! [`add_member`] and [`revoke_member`] the admin's actions that check the caller first.

use relabel_core::types::{AddedMember, MemberView};
use serde::Deserialize;

use super::{Caller, ServiceError, parse_role, project_for, roles};
use crate::auth::{self, PasswordError, Role};
use crate::domain::Project;
use crate::storage::{Store, StoreError};

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// The input cannot be used; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The user or role asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The password of a user being created.
#[derive(Debug, Clone)]
pub enum NewPassword {
    /// Chosen by the person creating the account.
    Given(String),
    /// Generated, and shown once.
    Generate,
}

/// What [`add`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The user's id.
    pub user_id: i64,
    /// True when the account was created, false when an existing user got the role.
    pub created: bool,
    /// False when the user held the role there already.
    pub granted: bool,
    /// The generated password, to show once.
    pub generated_password: Option<String>,
}

/// Whether `name` can be a login name: 1-64 letters, digits, '.', '_' and '-'.
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Gives `name` the `role` in `project` (`None`: every project, admin only), creating
/// the user when the name is new. An existing user keeps their password: a given
/// password for an existing name is refused rather than silently ignored.
pub async fn add(
    store: &dyn Store,
    project: Option<&Project>,
    actor: Option<i64>,
    name: &str,
    role: Role,
    password: NewPassword,
) -> Result<Added, MemberError> {
    if !valid_user_name(name) {
        return Err(MemberError::Invalid(format!(
            "username: {name:?} must be 1-64 characters of letters, digits, '.', '_' and '-'"
        )));
    }
    if project.is_none() && role != Role::Admin {
        return Err(MemberError::Invalid(format!(
            "project: the {} role is held in a project",
            role.as_str()
        )));
    }
    let project_id = project.map(|p| p.id);
    if let Some(user) = store.user_by_name(name).await? {
        if matches!(password, NewPassword::Given(_)) {
            return Err(MemberError::Conflict(format!(
                "username: a user named {name:?} exists; adding them keeps their password, so leave the password empty"
            )));
        }
        let granted = store
            .grant_role(user.id, project_id, role, actor, crate::domain::now_ms())
            .await?;
        return Ok(Added {
            user_id: user.id,
            created: false,
            granted,
            generated_password: None,
        });
    }
    let (password, generated) = match password {
        NewPassword::Given(p) => (p, false),
        NewPassword::Generate => (auth::generate_password(), true),
    };
    let hash = auth::hash_password_blocking(password.clone())
        .await
        .map_err(|e| match e {
            PasswordError::TooShort => MemberError::Invalid(format!("password: {e}")),
            PasswordError::Hashing(cause) => {
                MemberError::Store(StoreError::Corrupt(format!("password hashing: {cause}")))
            }
        })?;
    let user_id = store
        .create_member(
            name,
            &hash,
            project_id,
            role,
            actor,
            crate::domain::now_ms(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => MemberError::Conflict(format!("username: {m}")),
            other => other.into(),
        })?;
    Ok(Added {
        user_id,
        created: true,
        granted: true,
        generated_password: generated.then_some(password),
    })
}

/// Takes `role` in `project` away from the user. An admin cannot take their own admin
/// role: a project must not lose its last way to be administered by accident.
pub async fn revoke(
    store: &dyn Store,
    project: &Project,
    actor: Option<i64>,
    user_id: i64,
    role: Role,
) -> Result<(), MemberError> {
    if actor == Some(user_id) && role == Role::Admin {
        return Err(MemberError::Conflict(
            "you cannot take your own admin role; ask another admin".into(),
        ));
    }
    if store
        .revoke_role(
            user_id,
            Some(project.id),
            role,
            actor,
            crate::domain::now_ms(),
        )
        .await?
    {
        Ok(())
    } else {
        Err(MemberError::NotFound(format!(
            "that user does not hold {} in {}",
            role.as_str(),
            project.slug
        )))
    }
}

/// The project's members and the roles they hold there. Project admins only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for anyone else; or the store's.
pub async fn list_members(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
) -> Result<Vec<MemberView>, ServiceError> {
    let project = project_for(store, caller, slug, roles::ADMINS).await?;
    Ok(store
        .project_members(&project)
        .await?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            name: m.name,
            roles: m.roles,
            site_admin: m.site_admin,
            disabled: m.disabled,
        })
        .collect())
}

/// What an admin sends to add a member (the members form, `POST .../members`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The login name; a new name creates the account.
    pub username: String,
    /// admin, guideline_editor, reviewer or annotator.
    pub role: String,
    /// The new account's password; empty or absent generates one, shown once. Must be
    /// empty for an existing user, who keeps theirs.
    #[serde(default)]
    pub password: String,
}

/// Gives `new.username` the role in the project, creating the account when the name is
/// new. Project admins only; the role and name are read after the caller is checked, so
/// a stranger's malformed request is refused for who they are.
///
/// # Errors
///
/// [`ServiceError::Forbidden`], [`ServiceError::Invalid`] for an unknown role, the rules
/// of [`add`]; or the store's.
pub async fn add_member(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    new: NewMember,
) -> Result<AddedMember, ServiceError> {
    let project = project_for(store, caller, slug, roles::ADMINS).await?;
    let role = parse_role(&new.role)?;
    let password = if new.password.is_empty() {
        NewPassword::Generate
    } else {
        NewPassword::Given(new.password)
    };
    let name = new.username.trim().to_owned();
    let added = add(store, Some(&project), caller.id(), &name, role, password).await?;
    Ok(AddedMember {
        name,
        created: added.created,
        granted: added.granted,
        password: added.generated_password,
    })
}

/// Takes `role` in the project away from user `user_id`. Project admins only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`], [`ServiceError::Invalid`] for an unknown role, the rules
/// of [`revoke`]; or the store's.
pub async fn revoke_member(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    user_id: i64,
    role: &str,
) -> Result<(), ServiceError> {
    let project = project_for(store, caller, slug, roles::ADMINS).await?;
    let role = parse_role(role)?;
    Ok(revoke(store, &project, caller.id(), user_id, role).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_short_and_plain() {
        assert!(valid_user_name("annotator.7_b-x"));
        assert!(!valid_user_name(""));
        assert!(!valid_user_name("with space"));
        assert!(!valid_user_name("<script>"));
        assert!(!valid_user_name(&"a".repeat(65)));
    }
}
