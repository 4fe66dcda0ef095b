//! Importing pairs over HTTP (project admins only): the body is the file, read with the
//! same parser, checks and all-or-nothing transaction as `relabel import pairs`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::AppState;
use super::auth::{CurrentUser, project_for};
use super::error::AppError;
use super::export::choice;
use crate::import::{self, ImportError, ImportFormat, ImportOptions};
use crate::service::roles::ADMINS;

/// Largest body the import endpoint reads; larger files go through `relabel import pairs`,
/// which streams from disk.
pub const MAX_UPLOAD_BYTES: usize = 128 * 1024 * 1024;

/// The query of `POST .../imports`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// jsonl or csv; by default taken from the name's extension.
    pub format: Option<String>,
    /// The file's name, used in error messages (and for the format when none is given).
    pub name: Option<String>,
}

/// Imports the request body into the project: 201 with what was added, or 422 with every
/// bad line (`line`, `field`, `message`) and nothing stored.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/imports",
    params(("slug" = String, Path, description = "The project"), ImportQuery),
    request_body(content = String, description = "The file: JSONL or CSV (docs/formats.md)", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Imported whole; the counts of what was added"),
        (status = 400, description = "No format, or an unknown one"),
        (status = 403, description = "Not an admin of this project"),
        (status = 413, description = "Over 128 MiB; use `relabel import pairs`"),
        (status = 422, description = "Bad lines, each with its line and field; nothing was imported")
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Response, AppError> {
    let project = project_for(&state, &user, &slug, ADMINS).await?;
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let name = q
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "upload".to_owned());
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "name: at most 200 characters, none of them control characters".into(),
        ));
    }
    let format = match q.format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => choice::<ImportFormat>("format", f)?,
        None => ImportFormat::from_path(std::path::Path::new(&name)).ok_or_else(|| {
            AppError::BadRequest(
                "format: give format=jsonl or format=csv, or a name ending in .jsonl or .csv"
                    .into(),
            )
        })?,
    };
    let report = import::import_bytes(
        state.store.as_ref(),
        &project,
        &name,
        format,
        body,
        &ImportOptions::default(),
    )
    .await;
    match report {
        Ok(report) => {
            state.figures.forget(project.id).await;
            Ok((StatusCode::CREATED, Json(report)).into_response())
        }
        Err(ImportError::Rejected {
            file,
            errors,
            bad_lines,
        }) => {
            let message = format!("{file}: {bad_lines} bad line(s); nothing was imported");
            let errors: Vec<_> = errors
                .iter()
                .map(|e| json!({ "line": e.line, "field": e.field, "message": e.message }))
                .collect();
            let body = json!({ "error": {
                "code": "rejected",
                "message": message,
                "bad_lines": bad_lines,
                "lines": errors,
            }});
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
        Err(ImportError::UnknownFormat(file)) => Err(AppError::BadRequest(format!(
            "{file}: give format=jsonl or format=csv"
        ))),
        Err(ImportError::Io { file, source }) => {
            Err(AppError::Internal(format!("{file}: {source}")))
        }
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}
