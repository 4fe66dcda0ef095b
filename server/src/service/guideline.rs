//! Guideline actions: saving rules as the project's draft and publishing the draft as the
//! next version. The JSON API, the editor's server functions and `relabel guideline`
//! all call these.

use super::ServiceError;
use crate::domain::{Project, RuleRecord};
use crate::guideline::{At, check};
use crate::storage::{Store, StoreError};

/// Stores `rules` as the project's draft, after checking them (ids well-formed and
/// unique, titles not empty, example labels on the scale). `locate` names where a
/// problem is, as the caller's input shows it (`rules[2]`, `rule 3 (R-BRAND-01)`).
///
/// # Errors
///
/// [`ServiceError::Problems`] with every problem found, nothing stored; or the store's.
pub async fn save_draft(
    store: &dyn Store,
    project: &Project,
    by: Option<i64>,
    rules: &[RuleRecord],
    locate: impl Fn(At) -> String,
) -> Result<(), ServiceError> {
    let problems = check(&project.scale_labels, rules, locate);
    if !problems.is_empty() {
        return Err(ServiceError::Problems(problems));
    }
    store
        .save_draft(project, rules, by, crate::domain::now_ms())
        .await?;
    Ok(())
}

/// Publishes the project's draft as its next version with `note` (trimmed) as the
/// change note; the new version's number.
///
/// # Errors
///
/// [`ServiceError::Invalid`] for an empty note, [`ServiceError::Missing`] when there
/// is no draft; or the store's.
pub async fn publish(
    store: &dyn Store,
    project: &Project,
    by: Option<i64>,
    note: &str,
) -> Result<i64, ServiceError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(ServiceError::Invalid {
            field: "note",
            message: "say what changed; it goes into the version history".into(),
        });
    }
    store
        .publish_draft(project, note, by, crate::domain::now_ms())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ServiceError::Missing("there is no draft to publish; save one first".into())
            }
            other => other.into(),
        })
}
