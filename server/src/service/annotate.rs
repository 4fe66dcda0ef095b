//! The annotator's reads besides the queue itself: their progress in a project and the
//! published guideline they judge by. Claiming, submitting and skipping are in
//! `crate::queue`.

use relabel_core::types::{GuidelineView, Progress};

use super::{Caller, ServiceError, project_for, roles, rule_view};
use crate::storage::Store;

/// One day in epoch milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The caller's progress in the project at `now`: judged today (UTC), pairs still open to
/// them, and the project's judgments collected and wanted. Annotators only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for anyone else; or the store's.
pub async fn progress(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    now: i64,
) -> Result<Progress, ServiceError> {
    let project = project_for(store, caller, slug, roles::ANNOTATORS).await?;
    let Some(user_id) = caller.id() else {
        return Err(ServiceError::Forbidden(
            "progress is an annotator's own; the command line has none".into(),
        ));
    };
    let start_of_day = now - now.rem_euclid(DAY_MS);
    let progress = store.progress(&project, user_id, start_of_day, now).await?;
    Ok(Progress {
        labels: project.scale_labels.clone(),
        judged_today: progress.judged_since,
        left_for_me: progress.open,
        judgments: progress.collected,
        wanted: progress.wanted,
    })
}

/// The project's latest published guideline, or `None` before the first one. Any member.
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for a non-member; or the store's.
pub async fn guideline(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
) -> Result<Option<GuidelineView>, ServiceError> {
    let project = project_for(store, caller, slug, roles::MEMBERS).await?;
    Ok(store
        .latest_guideline(&project)
        .await?
        .map(|latest| GuidelineView {
            version_id: latest.version_id,
            number: latest.version,
            rules: latest.rules.into_iter().map(rule_view).collect(),
        }))
}
