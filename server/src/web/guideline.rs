//! The guideline's JSON API: versions, one version, the diff of two, what a version's
//! changes touch and sending those judgments to re-review; for editors, the draft and
//! publishing, and the example picker's pair search; for reviewers, the re-review
//! decision.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{ApiJson, CurrentUser, project_for};
use super::error::AppError;
use crate::guideline::{GuidelineDiff, RuleJson};
use crate::rereview::{Impact, RereviewError};
use crate::service::{self, Caller};
use crate::storage::VersionSummary;
use relabel_frontend::types::{DraftEditView, PairHit};

use crate::service::roles::EDITORS;

impl From<RereviewError> for AppError {
    fn from(err: RereviewError) -> Self {
        match err {
            RereviewError::NoVersion(_) | RereviewError::NothingOpen => Self::NotFound,
            RereviewError::FirstVersion | RereviewError::BadLabel(..) => {
                Self::Unprocessable(err.to_string())
            }
            RereviewError::Store(e) => e.into(),
        }
    }
}

/// The published versions, oldest first.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/guideline/versions",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The versions", body = Vec<VersionSummary>),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a member of this project")
    )
)]
pub async fn versions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Vec<VersionSummary>>, AppError> {
    let store = state.store.as_ref();
    Ok(Json(
        service::guideline::versions(store, Caller::User(&user), &slug).await?,
    ))
}

/// One published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Its number.
    pub number: i64,
    /// What changed.
    pub change_note: String,
    /// When it was published (epoch ms).
    pub published_at: Option<i64>,
    /// Its rules, in order.
    pub rules: Vec<RuleJson>,
}

/// A published version and its rules.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/guideline/versions/{number}",
    params(
        ("slug" = String, Path, description = "The project"),
        ("number" = i64, Path, description = "The version")
    ),
    responses(
        (status = 200, description = "The version", body = VersionView),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a member of this project"),
        (status = 404, description = "No such version")
    )
)]
pub async fn version(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, number)): Path<(String, i64)>,
) -> Result<Json<VersionView>, AppError> {
    let store = state.store.as_ref();
    let found = service::guideline::version(store, Caller::User(&user), &slug, number).await?;
    Ok(Json(VersionView {
        number,
        change_note: found.change_note,
        published_at: found.published_at,
        rules: found.rules.into_iter().map(RuleJson::from).collect(),
    }))
}

/// `GET .../guideline/diff?from=A&to=B`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
}

/// Rules added, removed and changed (the body word by word) from one version to another.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/guideline/diff",
    params(
        ("slug" = String, Path, description = "The project"),
        ("from" = i64, Query, description = "The older version"),
        ("to" = i64, Query, description = "The newer version")
    ),
    responses(
        (status = 200, description = "The diff", body = GuidelineDiff),
        (status = 400, description = "from or to missing or not a number"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a member of this project"),
        (status = 404, description = "No such version")
    )
)]
pub async fn diff(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<GuidelineDiff>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let store = state.store.as_ref();
    let caller = Caller::User(&user);
    Ok(Json(
        service::guideline::diff(store, caller, &slug, query.from, query.to).await?,
    ))
}

/// What a version's changes touch: per changed or removed rule, the current judgments
/// that cited it under earlier versions.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/guideline/versions/{number}/impact",
    params(
        ("slug" = String, Path, description = "The project"),
        ("number" = i64, Path, description = "The version")
    ),
    responses(
        (status = 200, description = "What it touches", body = Impact),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an editor, reviewer or admin of this project"),
        (status = 404, description = "No such version"),
        (status = 422, description = "Version 1 has nothing before it")
    )
)]
pub async fn impact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, number)): Path<(String, i64)>,
) -> Result<Json<Impact>, AppError> {
    let store = state.store.as_ref();
    Ok(Json(
        service::guideline::impact(store, Caller::User(&user), &slug, number).await?,
    ))
}

/// How many judgments went to re-review.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sent {
    /// New re-reviews (sending again adds none).
    pub sent: u64,
}

/// Sends the judgments a version's changes touch to the reviewers' queue.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/guideline/versions/{number}/rereview",
    params(
        ("slug" = String, Path, description = "The project"),
        ("number" = i64, Path, description = "The version")
    ),
    responses(
        (status = 200, description = "Sent", body = Sent),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an editor or admin of this project"),
        (status = 404, description = "No such version"),
        (status = 422, description = "Version 1 has nothing before it")
    )
)]
pub async fn send_rereview(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, number)): Path<(String, i64)>,
) -> Result<Json<Sent>, AppError> {
    let (store, figures) = (state.store.as_ref(), &state.figures);
    let sent =
        service::review::send_rereview(store, figures, Caller::User(&user), &slug, number).await?;
    Ok(Json(Sent { sent }))
}

/// `PUT .../guideline/draft`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    /// The rules, in order.
    pub rules: Vec<RuleJson>,
}

/// Replaces the draft with these rules; every problem is named as `rules[i]...: field`.
#[utoipa::path(
    put,
    path = "/v1/projects/{slug}/guideline/draft",
    params(("slug" = String, Path, description = "The project")),
    request_body = DraftRequest,
    responses(
        (status = 200, description = "Stored as the draft", body = VersionView),
        (status = 400, description = "Malformed"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an editor or admin of this project"),
        (status = 422, description = "A bad id, an empty title, a label off the scale")
    )
)]
pub async fn save_draft(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<DraftRequest>,
) -> Result<Json<VersionView>, AppError> {
    let project = project_for(&state, &user, &slug, EDITORS).await?;
    let rules: Vec<crate::domain::RuleRecord> = body.rules.into_iter().map(Into::into).collect();
    crate::service::guideline::save_draft(
        state.store.as_ref(),
        &project,
        Some(user.id),
        &rules,
        |at| match at.example {
            Some(e) => format!("rules[{}].examples[{e}]", at.rule),
            None => format!("rules[{}]", at.rule),
        },
    )
    .await?;
    Ok(Json(VersionView {
        number: 0,
        change_note: String::new(),
        published_at: None,
        rules: rules.into_iter().map(RuleJson::from).collect(),
    }))
}

/// `POST .../guideline/publish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// What changed (required).
    pub note: String,
}

/// The number a publish gave.
#[derive(Debug, Serialize, ToSchema)]
pub struct Published {
    /// The new version's number.
    pub number: i64,
}

/// Publishes the draft as the next version; annotators see it from their next pair.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/guideline/publish",
    params(("slug" = String, Path, description = "The project")),
    request_body = PublishRequest,
    responses(
        (status = 200, description = "Published", body = Published),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an editor or admin of this project"),
        (status = 404, description = "No draft to publish"),
        (status = 422, description = "An empty change note")
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<PublishRequest>,
) -> Result<Json<Published>, AppError> {
    let project = project_for(&state, &user, &slug, EDITORS).await?;
    let number = crate::service::guideline::publish(
        state.store.as_ref(),
        &project,
        Some(user.id),
        &body.note,
    )
    .await?;
    Ok(Json(Published { number }))
}

/// `POST .../rereview/{pair_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RereviewRequest {
    /// The label under the new version (the old one to confirm it).
    pub label: String,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// The judgment a re-review stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct RereviewResponse {
    /// The reviewer's new judgment, under the latest version.
    pub judgment_id: i64,
}

/// A reviewer's re-review decision: stored as their judgment under the latest version.
#[utoipa::path(
    post,
    path = "/v1/projects/{slug}/rereview/{pair_id}",
    params(
        ("slug" = String, Path, description = "The project"),
        ("pair_id" = i64, Path, description = "The pair")
    ),
    request_body = RereviewRequest,
    responses(
        (status = 200, description = "Stored", body = RereviewResponse),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not a reviewer or admin of this project"),
        (status = 404, description = "The pair has no open re-review"),
        (status = 422, description = "A label not on the scale")
    )
)]
pub async fn decide_rereview(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((slug, pair_id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<RereviewRequest>,
) -> Result<Json<RereviewResponse>, AppError> {
    let (store, figures) = (state.store.as_ref(), &state.figures);
    let (label, note) = (&body.label, &body.note);
    let judgment_id = service::review::decide_rereview(
        store,
        figures,
        Caller::User(&user),
        &slug,
        pair_id,
        label,
        note,
    )
    .await?;
    Ok(Json(RereviewResponse { judgment_id }))
}

/// What the editor starts from: the draft, else the latest version, else no rules, with
/// the project's scale for the examples' labels.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/guideline/draft",
    params(("slug" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The rules to edit and where they came from", body = DraftEditView),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an editor or admin of this project")
    )
)]
pub async fn draft(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<DraftEditView>, AppError> {
    Ok(Json(
        service::guideline::draft(state.store.as_ref(), Caller::User(&user), &slug).await?,
    ))
}

/// `GET .../pairs?search=TEXT`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSearch {
    /// Text the query or the item title contains.
    pub search: String,
}

/// Up to 20 pairs whose query or item title contains the text (2 to 200 characters), for
/// picking a rule's worked example.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/pairs",
    params(
        ("slug" = String, Path, description = "The project"),
        ("search" = String, Query, description = "2 to 200 characters of a query or an item title")
    ),
    responses(
        (status = 200, description = "The pairs found", body = Vec<PairHit>),
        (status = 400, description = "search missing"),
        (status = 401, description = "Not logged in"),
        (status = 403, description = "Not an editor or admin of this project"),
        (status = 422, description = "search too short or too long")
    )
)]
pub async fn search_pairs(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    query: Result<Query<PairSearch>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<PairHit>>, AppError> {
    let query = match query {
        Ok(Query(query)) => query,
        Err(e) => {
            // Who is asking is checked before what they sent, as everywhere.
            project_for(&state, &user, &slug, EDITORS).await?;
            return Err(AppError::BadRequest(e.body_text()));
        }
    };
    let store = state.store.as_ref();
    Ok(Json(
        service::guideline::search_pairs(store, Caller::User(&user), &slug, &query.search).await?,
    ))
}
