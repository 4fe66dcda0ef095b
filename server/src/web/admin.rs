//! The project admin's JSON API: members and their roles, and the project's settings.
//! Each handler finds out who is asking and calls the service the pages' server
//! functions call, so the two answer alike.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use relabel_frontend::types::{AddedMember, MemberView, SettingsChange, SettingsView};

use super::AppState;
use super::auth::{ApiJson, CurrentUser};
use super::error::AppError;
use crate::service::members::NewMember;
use crate::service::{self, Caller};

/// The project's members and the roles each holds there.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/members",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The members", body = Vec<MemberView>),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an admin of this project")
    )
)]
pub async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Vec<MemberView>>, AppError> {
    let store = state.store.as_ref();
    Ok(Json(
        service::members::list_members(store, Caller::User(&user), &slug).await?,
    ))
}

/// Gives a user a role in the project, creating the account when the name is new (its
/// generated password is answered once).
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/members",
    params(("slug" = String, Path, description = "The project")),
    request_body = NewMember,
    responses(
        (status = 200, description = "Added, or the role granted", body = AddedMember),
        (status = 400, description = "Malformed"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an admin of this project"),
        (status = 409, description = "A password given for an existing user"),
        (status = 422, description = "An unknown role or a bad user name")
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(new): ApiJson<NewMember>,
) -> Result<Json<AddedMember>, AppError> {
    let store = state.store.as_ref();
    Ok(Json(
        service::members::add_member(store, Caller::User(&user), &slug, new).await?,
    ))
}

/// Takes a role in the project away from a user.
#[utoipa::path(
    delete,
    path = "/v1/projects/{slug}/members/{user_id}/roles/{role}",
    params(
        ("slug" = String, Path, description = "The project"),
        ("user_id" = i64, Path, description = "The user"),
        ("role" = String, Path, description = "admin, guideline_editor, reviewer or annotator")
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an admin of this project"),
        (status = 404, description = "The user does not hold that role here"),
        (status = 409, description = "Your own admin role: ask another admin"),
        (status = 422, description = "An unknown role")
    )
)]
pub async fn revoke_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, user_id, role)): Path<(String, i64, String)>,
) -> Result<StatusCode, AppError> {
    let store = state.store.as_ref();
    service::members::revoke_member(store, Caller::User(&user), &slug, user_id, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The project's settings and its scorer's newest runs.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/settings",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The settings", body = SettingsView),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an admin of this project")
    )
)]
pub async fn settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<SettingsView>, AppError> {
    let (store, off) = (state.store.as_ref(), state.scorer_off.as_deref());
    Ok(Json(
        service::settings::settings(store, Caller::User(&user), &slug, off).await?,
    ))
}

/// Changes the project's settings (optional fields left out keep their values) and
/// answers them as stored.
#[utoipa::path(
    put,
    path = "/v1/projects/{slug}/settings",
    params(("slug" = String, Path, description = "The project")),
    request_body = SettingsChange,
    responses(
        (status = 200, description = "The settings as stored", body = SettingsView),
        (status = 400, description = "Malformed"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an admin of this project"),
        (status = 422, description = "An unknown task or strategy, or a value out of range")
    )
)]
pub async fn update_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(change): ApiJson<SettingsChange>,
) -> Result<Json<SettingsView>, AppError> {
    let (store, off) = (state.store.as_ref(), state.scorer_off.as_deref());
    let now = crate::domain::now_ms();
    Ok(Json(
        service::settings::update_settings(store, Caller::User(&user), &slug, change, off, now)
            .await?,
    ))
}
