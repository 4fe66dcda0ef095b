//! The JSON API under `/api/v1`: thin handlers over the store.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::CurrentUser;
use super::error::AppError;

/// The server is up, and which database it uses.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    responses((status = 200, description = "Up"))
)]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "backend": state.store.backend() }))
}

/// `GET /healthz`: the process is alive (nothing else is checked).
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database answers and its migrations are applied, else 503
/// with the reason, so a load balancer sends no traffic to this server.
pub async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    match state.store.readiness().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "why": why })),
        )
            .into_response(),
    }
}

/// The projects the caller is a member of (a site admin sees all), with their counts.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    responses(
        (status = 200, description = "`{\"projects\": [ProjectSummary]}`"),
        (status = 401, description = "Not logged in")
    )
)]
pub async fn list_projects(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, AppError> {
    let projects = super::auth::visible_projects(&state, &user).await?;
    Ok(Json(json!({ "projects": projects })))
}

/// Any other path under `/api`.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
