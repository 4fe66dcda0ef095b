//! Changes a project's settings.

#![allow(
    clippy::too_many_arguments,
    reason = "a plain form post: one argument per form field, here and in the generated client"
)]

use leptos::prelude::*;

use crate::error::AppFnError;
use crate::types::SettingsView;

/// Changes the project's settings; a plain form post works too (an unchecked
/// `reveal_models` box sends nothing). The scorer fields, when absent, keep their values;
/// so do the quality fields when `gold_window` is absent (with it, an unchecked
/// `pause_flagged` box means off).
#[server(prefix = "/rpc", endpoint = "settings/update")]
pub async fn update_settings(
    slug: String,
    task: String,
    overlap_k: i64,
    gold_percent: f64,
    lease_minutes: i64,
    reveal_models: Option<String>,
    retrain_every: Option<i64>,
    scorer_strategy: Option<String>,
    gold_window: Option<i64>,
    gold_min_percent: Option<f64>,
    pause_flagged: Option<String>,
    review_alpha: Option<f64>,
) -> Result<SettingsView, AppFnError> {
    let (backend, parts) = crate::error::server_context()?;
    let change = crate::backend::SettingsChange {
        task,
        overlap_k,
        gold_percent,
        lease_minutes,
        reveal_models: reveal_models.is_some_and(|v| v != "false"),
        retrain_every,
        scorer_strategy,
        pause_flagged: gold_window.map(|_| pause_flagged.is_some_and(|v| v != "false")),
        gold_window,
        gold_min_percent,
        review_alpha,
    };
    Ok(backend.update_settings(&parts, slug, change).await?)
}
