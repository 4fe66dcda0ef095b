//! Guideline actions: what the editor starts from, saving rules as the project's draft,
//! publishing the draft as the next version, and the example picker's search. The JSON
//! API, the editor's server functions and `relabel guideline` all call these.

use relabel_core::types::{DraftEditView, PairHit};

use super::{Caller, ServiceError, project_for, roles, rule_view};
use crate::domain::{Project, RuleRecord};
use crate::guideline::{At, check};
use crate::storage::{Store, StoreError, VersionRef};

/// How many pairs a search answers.
const SEARCH_HITS: i64 = 20;

/// What the editor starts from: the draft, else the latest version, else nothing.
/// Editors only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for anyone else; or the store's.
pub async fn draft(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
) -> Result<DraftEditView, ServiceError> {
    let project = project_for(store, caller, slug, roles::EDITORS).await?;
    let found = match store.guideline_version(&project, VersionRef::Draft).await? {
        Some(draft) => Some(draft),
        None => {
            store
                .guideline_version(&project, VersionRef::Latest)
                .await?
        }
    };
    let source = match &found {
        None => "nothing yet".to_owned(),
        Some(v) => v
            .number
            .map_or_else(|| "the draft".to_owned(), |n| format!("version {n}")),
    };
    Ok(DraftEditView {
        source,
        rules: found
            .map(|v| v.rules.into_iter().map(rule_view).collect())
            .unwrap_or_default(),
        scale: project.scale_labels.clone(),
    })
}

/// Pairs whose query or item title contains `text` (2 to 200 characters, trimmed), for
/// picking a rule's worked example. Editors only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`], [`ServiceError::Invalid`] for text too short or long;
/// or the store's.
pub async fn search_pairs(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    text: &str,
) -> Result<Vec<PairHit>, ServiceError> {
    let project = project_for(store, caller, slug, roles::EDITORS).await?;
    let text = text.trim();
    if text.chars().count() < 2 || text.len() > 200 {
        return Err(ServiceError::Invalid {
            field: "text",
            message: "type 2 to 200 characters of a query or an item title".into(),
        });
    }
    Ok(store
        .search_pairs(&project, text, SEARCH_HITS)
        .await?
        .into_iter()
        .map(|hit| PairHit {
            pair_id: hit.pair_id,
            query: hit.query,
            item_title: hit.item_title,
        })
        .collect())
}

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
