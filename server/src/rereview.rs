//! What a guideline change touches (issue 6): the judgments that cited a rule which a
//! newer version changed or removed, sending them to reviewers, and the reviewer's
//! decision, stored as a new judgment under the new version.

use serde::Serialize;

use crate::domain::Project;
use crate::guideline::{self, GuidelineDiff};
use crate::storage::{Store, StoreError, VersionRef};

/// One rule a version changed or removed, and the judgments that cited it before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleImpact {
    /// The rule.
    pub rule: String,
    /// `changed` or `removed`.
    pub change: String,
    /// Current judgments that cited it under earlier versions.
    pub judgments: u64,
}

/// What publishing a version touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Impact {
    /// The version.
    pub version: i64,
    /// What changed from the version before it.
    pub diff: GuidelineDiff,
    /// The changed and removed rules with the judgments that cited them.
    pub rules: Vec<RuleImpact>,
}

/// Why an impact could not be computed or sent.
#[derive(Debug, thiserror::Error)]
pub enum RereviewError {
    /// No such published version.
    #[error("version {0} is not a published version of this guideline")]
    NoVersion(i64),
    /// Version 1 has no version before it.
    #[error("version 1 changes nothing: there is no earlier version")]
    FirstVersion,
    /// The pair has no open re-review.
    #[error("this pair has no open re-review")]
    NothingOpen,
    /// The label is not on the scale.
    #[error("label: {0:?} is not on this project's scale ({1})")]
    BadLabel(String, String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The version `number` against the one before it, and the judgments its changes touch.
/// With it, the `(pair, judgment, rule, from version id)` rows to send.
async fn touched(
    store: &dyn Store,
    project: &Project,
    number: i64,
) -> Result<(Impact, i64, Vec<(i64, i64, String, i64)>), RereviewError> {
    if number <= 1 {
        return Err(RereviewError::FirstVersion);
    }
    let after = store
        .guideline_version(project, VersionRef::Number(number))
        .await?
        .ok_or(RereviewError::NoVersion(number))?;
    let before = store
        .guideline_version(project, VersionRef::Number(number - 1))
        .await?
        .ok_or(RereviewError::NoVersion(number - 1))?;
    let diff = guideline::diff(&before.rules, &after.rules);
    let touched: Vec<(String, &str)> = diff
        .changed
        .iter()
        .map(|c| (c.id.clone(), "changed"))
        .chain(diff.removed.iter().map(|r| (r.id.clone(), "removed")))
        .collect();
    let cited = store.cited_judgments(project, number).await?;
    let mut rows = Vec::new();
    let rules = touched
        .iter()
        .map(|(rule, change)| {
            let mut judgments = 0;
            for j in cited.iter().filter(|j| j.rules.contains(rule)) {
                judgments += 1;
                rows.push((j.pair_id, j.judgment_id, rule.clone(), j.version_id));
            }
            RuleImpact {
                rule: rule.clone(),
                change: (*change).to_owned(),
                judgments,
            }
        })
        .collect();
    Ok((
        Impact {
            version: number,
            diff,
            rules,
        },
        after.id,
        rows,
    ))
}

/// What publishing version `number` touched: its diff against the version before and,
/// per changed or removed rule, how many current judgments cited it under earlier
/// versions.
pub async fn impact(
    store: &dyn Store,
    project: &Project,
    number: i64,
) -> Result<Impact, RereviewError> {
    Ok(touched(store, project, number).await?.0)
}

/// Sends every judgment that version `number`'s changes touch to re-review; how many
/// new re-reviews there are (sending again adds none).
pub async fn send(
    store: &dyn Store,
    project: &Project,
    number: i64,
    actor: Option<i64>,
) -> Result<u64, RereviewError> {
    let (_, version_id, rows) = touched(store, project, number).await?;
    Ok(store
        .send_rereviews(project, version_id, &rows, actor, crate::domain::now_ms())
        .await?)
}

/// A reviewer's re-review decision: confirm or change the label under the latest
/// published version. Stored as the reviewer's judgment with that version; the id.
pub async fn decide(
    store: &dyn Store,
    project: &Project,
    pair_id: i64,
    reviewer_id: i64,
    label: &str,
    note: &str,
) -> Result<i64, RereviewError> {
    if !project.has_label(label) {
        return Err(RereviewError::BadLabel(
            label.to_owned(),
            project.scale_labels.join(", "),
        ));
    }
    let latest = store
        .guideline_version(project, VersionRef::Latest)
        .await?
        .ok_or(RereviewError::NothingOpen)?;
    match store
        .resolve_rereviews(
            project,
            pair_id,
            reviewer_id,
            label,
            note.trim(),
            latest.id,
            crate::domain::now_ms(),
        )
        .await
    {
        Err(StoreError::NotFound) => Err(RereviewError::NothingOpen),
        other => Ok(other?),
    }
}
