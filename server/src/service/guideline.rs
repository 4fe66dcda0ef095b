//! Guideline actions: the published history (versions, one version, the diff of two,
//! what a version's changes touch), what the editor starts from, saving rules as the
//! project's draft, publishing the draft as the next version, and the example picker's
//! search. The JSON API, the pages' server functions and `relabel guideline` call these.

use relabel_core::types::{DraftEditView, PairHit};

use super::{Caller, ServiceError, project_for, roles, rule_view};
use crate::domain::{Project, RuleRecord};
use crate::guideline::{At, GuidelineDiff, check};
use crate::rereview::{self, Impact};
use crate::storage::{GuidelineVersion, Store, StoreError, VersionRef, VersionSummary};

/// The published versions, oldest first. Any member.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; or the store's.
pub async fn versions(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
) -> Result<Vec<VersionSummary>, ServiceError> {
    let project = project_for(store, caller, slug, roles::MEMBERS).await?;
    Ok(store.guideline_versions(&project).await?)
}

/// Published version `number`, read on its own page: the version, the one before it (none
/// for version 1), what its changes touch when the caller may audit them, and whether the
/// caller may send those to re-review. Any member.
#[derive(Debug, Clone)]
pub struct VersionRead {
    /// The version.
    pub version: GuidelineVersion,
    /// The version before it.
    pub previous: Option<GuidelineVersion>,
    /// The judgments its changes touch; `None` for version 1 and for callers who are not
    /// editors, reviewers or admins.
    pub impact: Option<Impact>,
    /// Whether the caller may send the touched judgments to re-review.
    pub can_send: bool,
}

/// Published version `number`. Any member.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] for a version not published;
/// or the store's.
pub async fn version(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    number: i64,
) -> Result<GuidelineVersion, ServiceError> {
    let project = project_for(store, caller, slug, roles::MEMBERS).await?;
    published(store, &project, number).await
}

/// Published version `number` and what its page shows beside it (see [`VersionRead`]).
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] for a version not published;
/// or the store's.
pub async fn version_page(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    number: i64,
) -> Result<VersionRead, ServiceError> {
    let project = project_for(store, caller, slug, roles::MEMBERS).await?;
    let version = published(store, &project, number).await?;
    let previous = match number {
        1 => None,
        n => {
            store
                .guideline_version(&project, VersionRef::Number(n - 1))
                .await?
        }
    };
    let impact = if number > 1 && caller.holds(&project, roles::AUDITORS) {
        Some(rereview::impact(store, &project, number).await?)
    } else {
        None
    };
    Ok(VersionRead {
        version,
        previous,
        impact,
        can_send: caller.holds(&project, roles::EDITORS),
    })
}

/// Rules added, removed and changed (the body word by word) from version `from` to `to`.
/// Any member.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] for a version not published;
/// or the store's.
pub async fn diff(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    from: i64,
    to: i64,
) -> Result<GuidelineDiff, ServiceError> {
    let project = project_for(store, caller, slug, roles::MEMBERS).await?;
    let from = published(store, &project, from).await?;
    let to = published(store, &project, to).await?;
    Ok(crate::guideline::diff(&from.rules, &to.rules))
}

/// Per rule that version `number` changed or removed, the current judgments that cited it
/// under earlier versions. Editors, reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] for a version not published;
/// [`ServiceError::Problems`] for version 1; or the store's.
pub async fn impact(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    number: i64,
) -> Result<Impact, ServiceError> {
    let project = project_for(store, caller, slug, roles::AUDITORS).await?;
    Ok(rereview::impact(store, &project, number).await?)
}

/// Published version `number` of the project's guideline.
async fn published(
    store: &dyn Store,
    project: &Project,
    number: i64,
) -> Result<GuidelineVersion, ServiceError> {
    store
        .guideline_version(project, VersionRef::Number(number))
        .await?
        .ok_or_else(|| ServiceError::Missing(format!("no published version {number}")))
}

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
