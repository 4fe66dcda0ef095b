//! A project's settings, as its admins read and change them (the settings page and
//! `/api/v1/projects/{slug}/settings`): task, overlap, gold, leases, the scorer's
//! strategy and retraining, and the quality thresholds, with the scorer's newest runs.

use relabel_core::StrategyKind;
use relabel_core::types::{ScorerRunView, SettingsChange, SettingsView};

use super::{Caller, ServiceError, project_for, roles, utc_minute};
use crate::domain::{Project, ProjectSettings};
use crate::storage::{ScorerRun, Store};

/// How many of the scorer's runs the settings list.
const RUNS_SHOWN: i64 = 10;

/// The project's settings and its scorer's newest runs. Project admins only.
/// `scorer_off` says why the scorer is off on this server (`None`: it is on).
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for anyone else; or the store's.
pub async fn settings(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    scorer_off: Option<&str>,
) -> Result<SettingsView, ServiceError> {
    let project = project_for(store, caller, slug, roles::ADMINS).await?;
    with_runs(store, &project, scorer_off).await
}

/// Changes the project's settings (absent optional fields keep their values) and answers
/// the settings as stored. Project admins only; the task and strategy are read after the
/// caller is checked.
///
/// # Errors
///
/// [`ServiceError::Forbidden`], [`ServiceError::Invalid`] for an unknown task or
/// strategy, [`ServiceError::Problems`] for a value out of range; or the store's.
pub async fn update_settings(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    change: SettingsChange,
    scorer_off: Option<&str>,
    now: i64,
) -> Result<SettingsView, ServiceError> {
    let project = project_for(store, caller, slug, roles::ADMINS).await?;
    let invalid = |field, message: String| ServiceError::Invalid { field, message };
    let scorer_strategy = match &change.scorer_strategy {
        Some(name) => name
            .parse::<StrategyKind>()
            .map_err(|e| invalid("scorer_strategy", e))?,
        None => project.scorer_strategy,
    };
    let settings = ProjectSettings {
        task: change.task.parse().map_err(|e| invalid("task", e))?,
        overlap_k: change.overlap_k,
        gold_rate: change.gold_percent / 100.0,
        lease_seconds: change.lease_minutes.saturating_mul(60),
        reveal_models: change.reveal_models,
        retrain_every: change.retrain_every.unwrap_or(project.retrain_every),
        scorer_strategy,
        gold_window: change.gold_window.unwrap_or(project.gold_window),
        gold_min_accuracy: change
            .gold_min_percent
            .map_or(project.gold_min_accuracy, |p| p / 100.0),
        pause_flagged: change.pause_flagged.unwrap_or(project.pause_flagged),
        review_alpha: change.review_alpha.unwrap_or(project.review_alpha),
    };
    settings
        .validate()
        .map_err(|problem| ServiceError::Problems(vec![problem]))?;
    let updated = store
        .update_project_settings(&project, &settings, caller.id(), now)
        .await?;
    with_runs(store, &updated, scorer_off).await
}

/// The settings view of `project`, with its scorer's newest runs.
async fn with_runs(
    store: &dyn Store,
    project: &Project,
    scorer_off: Option<&str>,
) -> Result<SettingsView, ServiceError> {
    let mut view = settings_view(&ProjectSettings::of(project));
    view.scorer_off = scorer_off.map(str::to_owned);
    view.scorer_runs = store
        .scorer_runs(project, RUNS_SHOWN, false)
        .await?
        .iter()
        .map(scorer_run_view)
        .collect();
    Ok(view)
}

/// Settings as the settings page shows them (percent and minutes), without the runs.
fn settings_view(settings: &ProjectSettings) -> SettingsView {
    SettingsView {
        task: settings.task,
        overlap_k: settings.overlap_k,
        gold_percent: (settings.gold_rate * 1000.0).round() / 10.0,
        lease_minutes: settings.lease_seconds / 60,
        reveal_models: settings.reveal_models,
        retrain_every: Some(settings.retrain_every),
        scorer_strategy: Some(settings.scorer_strategy),
        gold_window: Some(settings.gold_window),
        gold_min_percent: Some((settings.gold_min_accuracy * 1000.0).round() / 10.0),
        pause_flagged: Some(settings.pause_flagged),
        review_alpha: Some(settings.review_alpha),
        // The default first.
        strategy_choices: StrategyKind::ALL.into_iter().rev().collect(),
        scorer_runs: Vec::new(),
        scorer_off: None,
    }
}

/// A scorer run as the settings page lists it.
fn scorer_run_view(run: &ScorerRun) -> ScorerRunView {
    ScorerRunView {
        id: run.id,
        finished: utc_minute(run.created_at),
        labels_used: run.labels_used,
        heldout_macro_f1: run.heldout_macro_f1,
        heldout_accuracy: run.heldout_accuracy,
        model: run.model_version.chars().take(12).collect(),
        seconds: run.train_ms as f64 / 1000.0,
    }
}
