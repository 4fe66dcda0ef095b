//! The reviewer's and admin's JSON API for label quality: gold accuracy per annotator,
//! the review queue, one pair's judgments, and recording a final label.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{ApiJson, CurrentUser};
use super::error::AppError;
use crate::service::review::{QualityReport, ReviewList, ReviewPair};
use crate::service::{self, Caller};

/// Gold accuracy per annotator (flagged ones marked), the project's alpha and the
/// review queue's depth.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/quality",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The project's quality figures", body = QualityReport),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a reviewer or admin of this project")
    )
)]
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<QualityReport>, AppError> {
    let (store, figures) = (state.store.as_ref(), &state.figures);
    Ok(Json(
        service::review::report(store, figures, Caller::User(&user), &slug).await?,
    ))
}

/// `GET .../review?limit=N`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewListQuery {
    /// At most this many (1-500, default 50).
    pub limit: Option<usize>,
}

/// Pairs waiting for a reviewer, widest disagreement first.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/review",
    params(
        ("slug" = String, Path, description = "The project"),
        ("limit" = Option<usize>, Query, description = "At most this many (1-500, default 50)")
    ),
    responses(
        (status = 200, description = "The review queue", body = ReviewList),
        (status = 400, description = "A bad limit"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a reviewer or admin of this project")
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    query: Result<Query<ReviewListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ReviewList>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit: {limit} must be between 1 and 500"
        )));
    }
    let (store, figures) = (state.store.as_ref(), &state.figures);
    let caller = Caller::User(&user);
    Ok(Json(
        service::review::queue(store, figures, caller, &slug, limit).await?,
    ))
}

/// A pair's judgments, CoT candidates and decisions, for the reviewer to decide.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/review/{pair_id}",
    params(
        ("slug" = String, Path, description = "The project"),
        ("pair_id" = i64, Path, description = "The pair")
    ),
    responses(
        (status = 200, description = "The pair for review", body = ReviewPair),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a reviewer or admin of this project"),
        (status = 404, description = "No such pair in this project")
    )
)]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, pair_id)): Path<(String, i64)>,
) -> Result<Json<ReviewPair>, AppError> {
    let (store, figures) = (state.store.as_ref(), &state.figures);
    let caller = Caller::User(&user);
    Ok(Json(
        service::review::pair(store, figures, caller, &slug, pair_id).await?,
    ))
}

/// `POST .../review/{pair_id}`: the final label.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// A label on the project's scale.
    pub label: String,
    /// Why (shown to other reviewers and kept in the audit log).
    #[serde(default)]
    pub note: String,
}

/// What a decision stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionResponse {
    /// The decision's id.
    pub decision_id: i64,
}

/// Records the pair's final label; the latest decision is what exports use.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/review/{pair_id}",
    params(
        ("slug" = String, Path, description = "The project"),
        ("pair_id" = i64, Path, description = "The pair")
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Stored", body = DecisionResponse),
        (status = 400, description = "Malformed"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a reviewer or admin of this project"),
        (status = 404, description = "No such pair in this project"),
        (status = 422, description = "A label not on the scale, or a note too long")
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, pair_id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<Json<DecisionResponse>, AppError> {
    let decision_id = service::review::decide(
        state.store.as_ref(),
        &state.figures,
        Caller::User(&user),
        &slug,
        pair_id,
        &body.label,
        &body.note,
        crate::domain::now_ms(),
    )
    .await?;
    Ok(Json(DecisionResponse { decision_id }))
}

/// One chart of the quality dashboard as a CSV table (its row label, then its series).
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/quality/charts/{chart}",
    params(
        ("slug" = String, Path, description = "The project"),
        ("chart" = String, Path, description = "labels-by-band, labels-by-capability, judgments-per-day, alpha-over-time, leaderboard, queue-depth or confusion")
    ),
    responses(
        (status = 200, description = "The chart's table", content_type = "text/csv"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a reviewer or admin of this project"),
        (status = 404, description = "No such chart")
    )
)]
pub async fn chart_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, chart)): Path<(String, String)>,
) -> Result<axum::response::Response, AppError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (store, figures) = (state.store.as_ref(), &state.figures);
    let view = service::review::dashboard(store, figures, Caller::User(&user), &slug).await?;
    let chart = view
        .charts
        .iter()
        .find(|c| c.id == chart)
        .ok_or(AppError::NotFound)?;
    let body = crate::dashboard::to_csv(chart).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{slug}-{}.csv\"", chart.id),
            ),
        ],
        body,
    )
        .into_response())
}
