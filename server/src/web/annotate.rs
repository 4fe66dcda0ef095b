//! The annotator's JSON API: take the next pair, submit a judgment, skip; their progress
//! and the guideline they judge by.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use relabel_frontend::types::{GuidelineView, PairView, Progress};

use super::AppState;
use super::auth::{ApiJson, CurrentUser};
use super::error::AppError;
use crate::queue::{JudgmentInput, RuleCitation};
use crate::ranking::{CorrectedCot, StepFlag};
use crate::service::annotate::Claimed;
use crate::service::{self, Caller};

/// A pair handed out, with the lease to quote when submitting.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextPair {
    /// The lease on the pair.
    pub lease_id: i64,
    /// When the lease ends (Unix epoch milliseconds).
    pub expires_at: i64,
    /// The number of the guideline version the pair is shown under (the latest
    /// published); the judgment is stamped with it. Null without a published guideline.
    pub guideline_version: Option<i64>,
    /// That version's id: a submit may quote it as `guideline_version_id`, and one that
    /// quotes another is refused with 409.
    pub guideline_version_id: Option<i64>,
    /// The pair.
    pub pair: PairView,
}

/// `POST .../judgments`: a first judgment of a pair, or with `revise` a revision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The pair.
    pub pair_id: i64,
    /// The lease from `next`.
    pub lease_id: Option<i64>,
    /// A label on the project's scale; required when the pair's task judges, absent
    /// when it only ranks.
    pub label: Option<String>,
    /// The rules that decided the label.
    #[serde(default)]
    pub rules: Vec<RuleCitation>,
    /// Why, in the annotator's words.
    pub rationale: Option<String>,
    /// Time spent, in milliseconds.
    pub duration_ms: Option<i64>,
    /// The guideline version shown, as `next` named it. Optional: the server stamps the
    /// version the pair was served under; naming another one is refused (409).
    pub guideline_version_id: Option<i64>,
    /// Made by the client once per judgment; resending it stores nothing new.
    pub idempotency_key: String,
    /// True to revise the caller's judgment of this pair.
    #[serde(default)]
    pub revise: bool,
    /// The CoT candidates best first, as tie groups of their 0-based positions
    /// (`[[2], [0, 1]]`); required when the pair's task ranks.
    pub ranking: Option<Vec<Vec<usize>>>,
    /// Where each flagged candidate first went wrong.
    #[serde(default)]
    pub step_flags: Vec<StepFlag>,
    /// The annotator's corrected reasoning.
    pub corrected_cot: Option<CorrectedCot>,
}

/// What a submit stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitResponse {
    /// The judgment's id.
    pub judgment_id: i64,
    /// 1 for a first judgment, higher for revisions.
    pub revision: i64,
    /// True when this key had been stored before (nothing new was stored).
    pub replayed: bool,
}

/// `POST .../skips`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipRequest {
    /// The pair.
    pub pair_id: i64,
    /// Why, optionally.
    pub reason: Option<String>,
}

/// Hands the caller their next pair and leases it. A POST, because it changes state: it
/// creates the lease (a GET could be prefetched or replayed by a browser).
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/next",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The next pair and its lease", body = NextPair),
        (status = 204, description = "Nothing left for you in this project"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an annotator of this project")
    )
)]
pub async fn next(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let store = state.store.as_ref();
    let Some(Claimed { claim, pair }) =
        service::annotate::next(store, Caller::User(&user), &slug).await?
    else {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    };
    Ok(Json(NextPair {
        lease_id: claim.lease_id,
        expires_at: claim.expires_at,
        guideline_version: claim.guideline_version,
        guideline_version_id: claim.guideline_version_id,
        pair,
    })
    .into_response())
}

/// Stores a judgment; 200 only after it is committed. Idempotent by `idempotency_key`.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/judgments",
    params(("slug" = String, Path, description = "The project")),
    request_body = SubmitRequest,
    responses(
        (status = 200, description = "Stored (or replayed)", body = SubmitResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "A field out of bounds or not fitting the pair; the message names the field first"),
        (status = 403, description = "Not an annotator of this project"),
        (status = 409, description = "Judged already, lease expired, key reused, or another guideline version than the pair was served under")
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<SubmitRequest>,
) -> Result<Json<SubmitResponse>, AppError> {
    let input = JudgmentInput {
        pair_id: body.pair_id,
        lease_id: body.lease_id,
        label: body.label,
        rules: body.rules,
        rationale: body.rationale,
        duration_ms: body.duration_ms,
        guideline_version_id: body.guideline_version_id,
        idempotency_key: body.idempotency_key,
        ranking: service::annotate::ranking_input(
            body.ranking,
            body.step_flags,
            body.corrected_cot,
        )?,
    };
    let store = state.store.as_ref();
    let stored =
        service::annotate::submit(store, Caller::User(&user), &slug, &input, body.revise).await?;
    Ok(Json(SubmitResponse {
        judgment_id: stored.judgment_id,
        revision: stored.revision,
        replayed: stored.replayed,
    }))
}

/// Skips a pair: released, and never shown to the caller again.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/skips",
    params(("slug" = String, Path, description = "The project")),
    request_body = SkipRequest,
    responses(
        (status = 204, description = "Skipped"),
        (status = 403, description = "Not an annotator of this project"),
        (status = 409, description = "Judged already"),
        (status = 422, description = "The reason is too long")
    )
)]
pub async fn skip(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<SkipRequest>,
) -> Result<axum::http::StatusCode, AppError> {
    let store = state.store.as_ref();
    let reason = body.reason.as_deref();
    service::annotate::skip(store, Caller::User(&user), &slug, body.pair_id, reason).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The caller's progress: judged today (UTC), pairs still open to them, and the project's
/// judgments collected and wanted.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/progress",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The caller's progress", body = Progress),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an annotator of this project")
    )
)]
pub async fn progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Progress>, AppError> {
    let now = crate::domain::now_ms();
    Ok(Json(
        service::annotate::progress(state.store.as_ref(), Caller::User(&user), &slug, now).await?,
    ))
}

/// The latest published guideline, with its rules; `null` before the first one.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/guideline",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The guideline, or null", body = Option<GuidelineView>),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a member of this project")
    )
)]
pub async fn guideline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Option<GuidelineView>>, AppError> {
    Ok(Json(
        service::annotate::guideline(state.store.as_ref(), Caller::User(&user), &slug).await?,
    ))
}
