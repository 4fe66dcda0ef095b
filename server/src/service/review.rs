//! Reviewers' and editors' work on labels: the quality report and dashboard, the review
//! queue, one pair as a reviewer sees it, a reviewer's final label for a pair, sending the judgments a guideline change
//! touches to re-review, and a reviewer's re-review decision. Each action that changes
//! what the quality figures count drops this server's copy of the project's figures once
//! it is stored.

use std::sync::Arc;

use relabel_core::types::{DashboardView, PairView};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, ServiceError, person, project_for, roles};
use crate::figures::Figures;
use crate::quality::{AnnotatorGold, Decision, JudgmentDetail, ReviewItem, ReviewReason};
use crate::rereview;
use crate::storage::{Store, StoreError};

/// The project's quality figures (`GET .../quality`).
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityReport {
    /// Krippendorff's alpha (ordinal) over every judged pair's current labels; null when
    /// undefined (no pair with two labels, or every label the same).
    pub alpha: Option<f64>,
    /// Pairs waiting for a reviewer.
    pub review_queue: usize,
    /// The project's bar: flagged below this share of exact gold answers.
    pub gold_min_accuracy: f64,
    /// Over each annotator's last this many gold answers.
    pub gold_window: i64,
    /// Each annotator's gold accuracy.
    pub annotators: Vec<AnnotatorGold>,
}

/// Gold accuracy per annotator (flagged ones marked), the project's alpha and the review
/// queue's depth, from this server's figures (at most [`crate::figures::TTL`] old).
/// Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; or the store's.
pub async fn report(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
) -> Result<QualityReport, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    let annotators = figures.gold(store, &project).await?.to_vec();
    let review = figures.review(store, &project).await?;
    Ok(QualityReport {
        alpha: review.alpha,
        review_queue: review.items.len(),
        gold_min_accuracy: project.gold_min_accuracy,
        gold_window: project.gold_window,
        annotators,
    })
}

/// The quality dashboard's charts and tables, from this server's figures. Reviewers and
/// admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; or the store's.
pub async fn dashboard(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
) -> Result<Arc<DashboardView>, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    Ok(figures.dashboard(store, &project).await?)
}

/// Longest note a reviewer may attach, in characters.
pub const MAX_NOTE: usize = 4_000;

/// Records the pair's final label, the latest of which every export uses; answers the
/// decision's id. Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] for a label off the scale or a
/// note over [`MAX_NOTE`] characters; the store's `NotFound` for a pair of another
/// project; or the store's.
#[allow(clippy::too_many_arguments, reason = "one per input of the decision")]
pub async fn decide(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    pair_id: i64,
    label: &str,
    note: &str,
    now: i64,
) -> Result<i64, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    let reviewer = person(caller, "a review decision")?;
    if !project.has_label(label) {
        return Err(ServiceError::Invalid {
            field: "label",
            message: format!(
                "{label:?} is not on this project's scale ({})",
                project.scale_labels.join(", ")
            ),
        });
    }
    let length = note.chars().count();
    if length > MAX_NOTE {
        return Err(ServiceError::Invalid {
            field: "note",
            message: format!("{length} characters is more than {MAX_NOTE}"),
        });
    }
    let id = store
        .record_decision(&project, pair_id, reviewer, label, note.trim(), now)
        .await?;
    figures.forget(project.id).await;
    Ok(id)
}

/// Sends the current judgments that version `number`'s changed or removed rules touch to
/// the reviewers' queue; answers how many are new there. Editors and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] for a version not published;
/// [`ServiceError::Problems`] for version 1; or the store's.
pub async fn send_rereview(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    number: i64,
) -> Result<u64, ServiceError> {
    let project = project_for(store, caller, slug, roles::EDITORS).await?;
    let sent = rereview::send(store, &project, number, caller.id()).await?;
    figures.forget(project.id).await;
    Ok(sent)
}

/// A reviewer's re-review decision, stored as their judgment under the latest version
/// (and the pair's final label); answers the judgment's id. Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] when the pair has no open
/// re-review; [`ServiceError::Problems`] for a label off the scale; or the store's.
pub async fn decide_rereview(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    pair_id: i64,
    label: &str,
    note: &str,
) -> Result<i64, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    let reviewer = person(caller, "a re-review decision")?;
    let id = rereview::decide(store, &project, pair_id, reviewer, label, note).await?;
    figures.forget(project.id).await;
    Ok(id)
}

/// One pair waiting for review, with what identifies it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewEntry {
    /// The pair and why it is here.
    #[serde(flatten)]
    pub item: ReviewItem,
    /// The query.
    pub query: String,
    /// The item's title.
    pub item_title: String,
}

/// The review queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewList {
    /// Pairs waiting in all.
    pub total: usize,
    /// The first `limit` of them, widest disagreement first.
    pub pairs: Vec<ReviewEntry>,
}

/// The review queue's length and its first `limit` entries, widest disagreement first.
/// Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; or the store's.
pub async fn queue(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    limit: usize,
) -> Result<ReviewList, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    let review = figures.review(store, &project).await?;
    let total = review.items.len();
    let mut pairs = Vec::new();
    for item in review.items.iter().take(limit).cloned() {
        let view = store
            .pair_view(&project, item.pair_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        pairs.push(ReviewEntry {
            item,
            query: view.query,
            item_title: view.item.title,
        });
    }
    Ok(ReviewList { total, pairs })
}

/// One pair as a reviewer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPair {
    /// The pair: query, item and CoT candidates with the labels they reached.
    pub pair: PairView,
    /// Every judgment, revisions included, with rationale, rules cited and the guideline
    /// version shown.
    pub judgments: Vec<JudgmentDetail>,
    /// Earlier decisions, oldest first; the latest is the final label.
    pub decisions: Vec<Decision>,
    /// Why the pair is in the review queue (empty when it is not).
    pub reasons: Vec<ReviewReason>,
    /// Open re-reviews: the old judgment, and the rule's text then and now.
    pub rereviews: Vec<RereviewView>,
    /// The project's scale, worst to best: the labels a decision may give.
    pub scale: Vec<String>,
}

/// A judgment waiting for re-review, with the rule as it read then and as it reads now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RereviewView {
    /// The judgment, its annotator and label, the rule and the two versions.
    #[serde(flatten)]
    pub open: crate::storage::OpenRereview,
    /// The rule in the version the judgment was made under.
    pub rule_before: Option<crate::guideline::RuleJson>,
    /// The rule in the version that changed it (none: removed).
    pub rule_after: Option<crate::guideline::RuleJson>,
}

/// One pair with everything a reviewer decides from: the pair with its models named, every
/// judgment, earlier decisions, why it is queued, and its open re-reviews with the rule
/// then and now. Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; the store's `NotFound` for a pair of another project; or
/// the store's.
pub async fn pair(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    pair_id: i64,
) -> Result<ReviewPair, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    // Reviewers audit the model too: they see which model wrote each candidate, whether
    // or not the project reveals the models to its annotators.
    let revealed = crate::domain::Project {
        reveal_models: true,
        ..project.clone()
    };
    let pair = store
        .pair_view(&revealed, pair_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let reasons = figures
        .review(store, &project)
        .await?
        .items
        .iter()
        .find(|item| item.pair_id == pair_id)
        .map(|item| item.reasons.clone())
        .unwrap_or_default();
    let mut versions: std::collections::HashMap<i64, Vec<crate::domain::RuleRecord>> =
        std::collections::HashMap::new();
    let mut rereviews = Vec::new();
    for open in store.open_rereviews(&project, Some(pair_id)).await? {
        for n in [open.from_version, open.to_version] {
            if let std::collections::hash_map::Entry::Vacant(slot) = versions.entry(n) {
                let rules = store
                    .guideline_version(&project, crate::storage::VersionRef::Number(n))
                    .await?
                    .map(|v| v.rules)
                    .unwrap_or_default();
                slot.insert(rules);
            }
        }
        let rule_in = |n: i64| {
            versions
                .get(&n)
                .and_then(|rules| rules.iter().find(|r| r.key == open.rule))
                .cloned()
                .map(crate::guideline::RuleJson::from)
        };
        rereviews.push(RereviewView {
            rule_before: rule_in(open.from_version),
            rule_after: rule_in(open.to_version),
            open,
        });
    }
    Ok(ReviewPair {
        pair,
        judgments: store.pair_judgments(&project, pair_id).await?,
        decisions: store.decisions(&project, pair_id).await?,
        reasons,
        rereviews,
        scale: project.scale_labels.clone(),
    })
}
