//! Downloading exports over HTTP (project admins only): the formats of `relabel
//! export`, streamed a page of pairs at a time, so a large project never sits whole in
//! memory. A GET, because a download changes nothing.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clap::ValueEnum;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::auth::{CurrentUser, project_for};
use super::error::AppError;
use crate::domain::FrequencyBand;
use crate::export::{self, ExportFormat, ExportOptions, Output, PairSelection, Style};
use crate::service::roles::ADMINS;

/// The query of `GET .../export`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// sft, preference-pairs, stepwise, labels or benchmark.
    pub format: String,
    /// standard or conversational (sft and preference-pairs).
    pub style: Option<String>,
    /// Share of queries held out as the test split (records get a `split` field).
    pub split: Option<String>,
    /// Seed of the split.
    pub seed: Option<String>,
    /// all, adjacent or best-vs-rest (preference pairs).
    pub pairs: Option<String>,
    /// Only judgments made under this guideline version number.
    pub guideline_version: Option<String>,
    /// Only pairs whose query is in this band.
    pub band: Option<String>,
    /// Only pairs with this capability tag.
    pub capability: Option<String>,
    /// Only pairs whose agreement is at least this (0-1).
    pub min_agreement: Option<String>,
}

/// A number from the query; an empty field (as a plain HTML form sends) is none.
fn number<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Result<Option<T>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("{field}: {v:?} is not a number"))),
    }
}

/// Text from the query; an empty field is none.
fn text(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Parses a value of one of the export's option enums, naming the field when it fails.
pub(super) fn choice<T: ValueEnum>(field: &str, value: &str) -> Result<T, AppError> {
    T::from_str(value, true).map_err(|_| {
        let known: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        AppError::BadRequest(format!(
            "{field}: {value:?} is not one of {}",
            known.join(", ")
        ))
    })
}

/// Streams an export of the project as a file download.
#[utoipa::path(
    get,
    path = "/v1/projects/{slug}/export",
    params(("slug" = String, Path, description = "The project"), ExportQuery),
    responses(
        (status = 200, description = "The export file (JSONL, or CSV for labels), streamed"),
        (status = 400, description = "An unknown format or option"),
        (status = 422, description = "Options that do not fit together, or a split that cannot give train and test a query each"),
        (status = 403, description = "Not an admin of this project")
    )
)]
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let project = project_for(&state, &user, &slug, ADMINS).await?;
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let format: ExportFormat = choice("format", &q.format)?;
    let mut options = ExportOptions::new(format);
    options.style = text(q.style)
        .map(|s| choice::<Style>("style", &s))
        .transpose()?;
    options.pairs = text(q.pairs)
        .map(|p| choice::<PairSelection>("pairs", &p))
        .transpose()?
        .unwrap_or_default();
    let split: Option<f64> = number("split", q.split.as_deref())?;
    if let Some(share) = split
        && !(0.0..=1.0).contains(&share)
    {
        return Err(AppError::BadRequest(format!(
            "split: {share} must be between 0 and 1"
        )));
    }
    options.test_share = split;
    options.seed = number("seed", q.seed.as_deref())?.unwrap_or(0);
    options.guideline_version = number("guideline_version", q.guideline_version.as_deref())?;
    options.band = text(q.band)
        .map(|b| choice::<FrequencyBand>("band", &b))
        .transpose()?;
    options.capability = text(q.capability);
    options.min_agreement = number("min_agreement", q.min_agreement.as_deref())?;

    // Options that do not fit, and a split that cannot give both sides a query, are
    // answered with a status before the download starts.
    let prepared = export::prepare(state.store.as_ref(), &project, &options)
        .await
        .map_err(|e| match e {
            export::ExportError::Invalid(message) => AppError::Unprocessable(message),
            export::ExportError::Store(e) => e.into(),
            export::ExportError::Io(e) => AppError::Internal(e.to_string()),
        })?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let store = state.store.clone();
    let who = user.name.clone();
    tokio::spawn(async move {
        let failed = tx.clone();
        match export::write(store.as_ref(), &prepared, Output::Stream(tx)).await {
            Ok(summary) => tracing::info!(
                project = %project.slug, by = %who, records = summary.records,
                left_out = ?summary.left_out, "export downloaded"
            ),
            Err(e) => {
                tracing::error!(project = %project.slug, "export failed: {e}");
                // Ends the body with an error, so the client sees a broken download
                // rather than a file that looks complete.
                let _ = failed.send(Err(std::io::Error::other(e.to_string()))).await;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let (content_type, extension) = match format {
        ExportFormat::Labels => ("text/csv; charset=utf-8", "csv"),
        _ => ("application/x-ndjson; charset=utf-8", "jsonl"),
    };
    let name = format!("{}-{}.{extension}", slug, q.format.to_lowercase());
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
