//! The JSON API under `/api/v1`: thin handlers over the store.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::error::AppError;

/// `GET /api/v1/health`: the server is up and which database it uses.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "backend": state.store.backend() }))
}

/// `GET /api/v1/projects`: every project with its counts.
pub async fn list_projects(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let projects = state.store.list_projects().await?;
    Ok(Json(json!({ "projects": projects })))
}

/// Any other path under `/api`.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
