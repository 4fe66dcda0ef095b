//! The annotator's actions: take the next pair, judge it, skip it; their progress in a
//! project and the published guideline they judge by. What a judgment must hold is
//! `crate::queue`'s and `crate::ranking`'s rule; these add who may.

use relabel_core::types::{GuidelineView, PairView, Progress};

use super::{Caller, ServiceError, person, project_for, roles, rule_view};
use crate::queue::{self, Claim, JudgmentInput, Submitted};
use crate::ranking::{CorrectedCot, RankingInput, StepFlag};
use crate::storage::Store;

/// A pair handed out: the lease and the pair as the annotator sees it.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The lease, its end and the guideline version the pair is served under.
    pub claim: Claim,
    /// The pair.
    pub pair: PairView,
}

/// Hands the caller their next pair in the project and leases it; `None` when nothing
/// is left for them. Annotators only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for anyone else (and the command line);
/// [`ServiceError::Queue`] when they are paused; or the store's.
pub async fn next(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
) -> Result<Option<Claimed>, ServiceError> {
    let project = project_for(store, caller, slug, roles::ANNOTATORS).await?;
    let user_id = person(caller, "taking a pair")?;
    let Some(claim) = queue::next_pair(store, &project, user_id).await? else {
        return Ok(None);
    };
    let pair = store
        .pair_view(&project, claim.pair_id)
        .await?
        .ok_or_else(|| ServiceError::Missing("the claimed pair is gone".into()))?;
    Ok(Some(Claimed { claim, pair }))
}

/// Stores the caller's judgment of a pair (with `revise`, a revision of theirs); a
/// replayed idempotency key stores nothing new. Annotators only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Queue`] for a judgment the queue refuses
/// (a field out of bounds, judged already, an expired lease, a reused key, another
/// guideline version); or the store's.
pub async fn submit(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    input: &JudgmentInput,
    revise: bool,
) -> Result<Submitted, ServiceError> {
    let project = project_for(store, caller, slug, roles::ANNOTATORS).await?;
    let user_id = person(caller, "judging a pair")?;
    Ok(queue::submit(store, &project, user_id, input, revise).await?)
}

/// Skips a pair for the caller: released, and never shown to them again. Annotators only.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Queue`] for a pair judged already or a
/// reason too long; or the store's.
pub async fn skip(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    pair_id: i64,
    reason: Option<&str>,
) -> Result<(), ServiceError> {
    let project = project_for(store, caller, slug, roles::ANNOTATORS).await?;
    let user_id = person(caller, "skipping a pair")?;
    Ok(queue::skip(store, &project, user_id, pair_id, reason).await?)
}

/// The ranking part of a judgment as a form or a request sends it: flags or a corrected
/// CoT without a ranking are refused rather than dropped.
///
/// # Errors
///
/// [`ServiceError::Invalid`] naming `ranking`.
pub fn ranking_input(
    ranking: Option<Vec<Vec<usize>>>,
    step_flags: Vec<StepFlag>,
    corrected_cot: Option<CorrectedCot>,
) -> Result<Option<RankingInput>, ServiceError> {
    match ranking {
        Some(ranking) => Ok(Some(RankingInput {
            ranking,
            step_flags,
            corrected_cot,
        })),
        None if step_flags.is_empty() && corrected_cot.is_none() => Ok(None),
        None => Err(ServiceError::Invalid {
            field: "ranking",
            message: "step_flags and corrected_cot come with a ranking".into(),
        }),
    }
}

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
    let user_id = person(caller, "progress")?;
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
