//! The work queue: which pair an annotator gets next, leases, and submitting, skipping
//! and revising judgments. The invariants (docs/ARCHITECTURE.md, "The work queue") are
//! enforced in the storage transaction; this module holds the types, the checks made before storage is
//! touched, and the service functions the HTTP layer and the CLI call.

use serde::{Deserialize, Serialize};

use crate::domain::{Project, TaskKind, now_ms};
use crate::ranking::{self, RankingContext, RankingInput};
use crate::storage::{Store, StoreError};

/// A pair handed to an annotator, held for them until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The pair to judge.
    pub pair_id: i64,
    /// The lease to quote when submitting.
    pub lease_id: i64,
    /// When the lease ends (epoch ms); after that the pair may go to someone else.
    pub expires_at: i64,
    /// The id of the guideline version the pair is shown under (the latest published);
    /// the judgment is stamped with it. `None`: the project has no published guideline.
    pub guideline_version_id: Option<i64>,
    /// That version's number.
    pub guideline_version: Option<i64>,
}

/// Whether a cited rule decided the label by applying or by being violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleVerdict {
    /// The rule applies to this pair.
    Applies,
    /// The item violates the rule.
    Violated,
}

/// One rule cited in a judgment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleCitation {
    /// The rule's stable id, such as `R-BRAND-01`.
    pub id: String,
    /// How it applied.
    pub verdict: RuleVerdict,
}

/// An annotator's judgment of one pair, as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgmentInput {
    /// The pair judged.
    pub pair_id: i64,
    /// The lease the pair was handed out under, if any.
    pub lease_id: Option<i64>,
    /// A label on the project's scale (none for a rank-only task).
    pub label: Option<String>,
    /// Rules cited.
    pub rules: Vec<RuleCitation>,
    /// Why, in the annotator's words.
    pub rationale: Option<String>,
    /// Time spent, in milliseconds.
    pub duration_ms: Option<i64>,
    /// The guideline version the client says it showed. The server stamps the version
    /// the pair was served under whatever this says; a different one is refused.
    pub guideline_version_id: Option<i64>,
    /// A key the client makes once per judgment; sending it again changes nothing.
    pub idempotency_key: String,
    /// The CoT ranking, for a pair whose task ranks.
    pub ranking: Option<RankingInput>,
}

/// What a stored (or replayed) submit answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Submitted {
    /// The judgment's id.
    pub judgment_id: i64,
    /// 1 for a first judgment, higher for revisions.
    pub revision: i64,
    /// True when the idempotency key had been used for this very judgment before.
    pub replayed: bool,
}

/// A stored judgment, as the queue's tests and exports read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JudgmentRow {
    /// Id.
    pub id: i64,
    /// The pair.
    pub pair_id: i64,
    /// The annotator.
    pub user_id: i64,
    /// 1 for the first judgment, then one more per revision.
    pub revision: i64,
    /// The label (none for a rank-only task).
    pub label: Option<String>,
    /// The rules cited, as stored (JSON).
    pub rules_cited: String,
    /// The ranking, as stored (JSON tie groups), if the task ranks.
    pub ranking: Option<String>,
    /// First wrong steps, as stored (JSON).
    pub step_flags: Option<String>,
    /// The corrected CoT, as stored (JSON).
    pub corrected_cot: Option<String>,
    /// The client's key.
    pub idempotency_key: String,
}

/// Why a queue operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such pair in this project.
    #[error("no such pair in this project")]
    NotFound,
    /// The annotator judged this pair already (a change is a revision).
    #[error("you have judged this pair already; revise it instead")]
    AlreadyJudged,
    /// There is no judgment of this pair by this annotator to revise.
    #[error("you have not judged this pair, so there is nothing to revise")]
    NothingToRevise,
    /// The lease ran out and the pair has since gone to enough other annotators.
    #[error("your lease on this pair expired and it has enough judgments now")]
    LeaseExpired,
    /// The idempotency key was used for a different judgment.
    #[error("this idempotency key was used for another judgment")]
    KeyReused,
    /// The client names another guideline version than the one the pair was served
    /// under (HTTP 409).
    #[error("{0}")]
    VersionMismatch(String),
    /// A field's value is out of bounds; the message names the field first (HTTP 422,
    /// like every other validation failure of a judgment).
    #[error("{0}")]
    Invalid(String),
    /// Well-formed, but does not fit the pair, its task or the guideline (HTTP 422).
    #[error("{0}")]
    Unprocessable(String),
    /// The annotator is flagged for low gold accuracy and the project pauses flagged
    /// annotators (HTTP 403).
    #[error(
        "you are paused in this project: your accuracy on recent gold pairs is below the \
         project's bar; ask a project admin"
    )]
    Paused,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for QueueError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

/// Checks a judgment against the project before it reaches storage.
pub fn validate_judgment(project: &Project, input: &JudgmentInput) -> Result<(), QueueError> {
    if let Some(label) = &input.label
        && !project.has_label(label)
    {
        return Err(QueueError::Invalid(format!(
            "label: {:?} is not on the project's scale ({})",
            label,
            project.scale_labels.join(", ")
        )));
    }
    let key = input.idempotency_key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(QueueError::Invalid(
            "idempotency_key: must be 1-128 characters".into(),
        ));
    }
    if input.duration_ms.is_some_and(|d| d < 0) {
        return Err(QueueError::Invalid("duration_ms: must be 0 or more".into()));
    }
    if input
        .rationale
        .as_ref()
        .is_some_and(|r| r.chars().count() > 10_000)
    {
        return Err(QueueError::Invalid(
            "rationale: must be at most 10,000 characters".into(),
        ));
    }
    if input.rules.len() > 50 {
        return Err(QueueError::Invalid("rules: at most 50 may be cited".into()));
    }
    if let Some((i, rule)) = input
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.id.trim().is_empty() || r.id.len() > 64)
    {
        return Err(QueueError::Invalid(format!(
            "rules[{i}].id: {:?} must be 1-64 characters",
            rule.id
        )));
    }
    Ok(())
}

/// Whether this claim should look for a gold pair first: true with probability
/// `gold_rate`, so gold pairs arrive at the project's rate, indistinguishable from others.
pub fn wants_gold(gold_rate: f64, draw: f64) -> bool {
    draw < gold_rate
}

/// Hands `user_id` their next pair in `project`, or `None` when nothing is left for them.
/// A project that pauses flagged annotators refuses a flagged one ([`QueueError::Paused`]).
pub async fn next_pair(
    store: &dyn Store,
    project: &Project,
    user_id: i64,
) -> Result<Option<Claim>, QueueError> {
    if project.pause_flagged && crate::quality::is_flagged(store, project, user_id).await? {
        return Err(QueueError::Paused);
    }
    let prefer_gold = wants_gold(project.gold_rate, rand::random::<f64>());
    store
        .next_pair(
            project,
            user_id,
            prefer_gold,
            project.lease_seconds * 1000,
            now_ms(),
        )
        .await
}

/// Stores a judgment of a pair, idempotent by its key: the annotator's first judgment,
/// or with `revise` a revision of it (a new row). What the judgment must carry follows
/// the pair's task: a label to judge, a ranking of its CoT candidates to rank.
pub async fn submit(
    store: &dyn Store,
    project: &Project,
    user_id: i64,
    input: &JudgmentInput,
    revise: bool,
) -> Result<Submitted, QueueError> {
    validate_judgment(project, input)?;
    let Some(pair) = store.pair_for_judging(project, input.pair_id).await? else {
        return Err(QueueError::NotFound);
    };
    check_task(pair.task, input)?;
    // The server stamps the version the pair was served under (kept with the lease),
    // whatever the client sends; a client that names another one is told so.
    let served = store
        .served_guideline_version(project, input.pair_id, user_id)
        .await?;
    if let Some(sent) = input.guideline_version_id
        && Some(sent) != served
    {
        return Err(QueueError::VersionMismatch(match served {
            Some(id) => format!(
                "guideline_version_id: this pair was served under guideline version id {id}, \
                 not {sent}; judge it under that version, or take it again with next"
            ),
            None => format!(
                "guideline_version_id: this pair was served with no published guideline, \
                 not under version id {sent}; take it again with next"
            ),
        }));
    }
    let mut stamped = input.clone();
    stamped.guideline_version_id = served;
    let input = &stamped;
    // Rules are checked against the version stamped (a project without a guideline has
    // nothing to check them against).
    let guideline = match served {
        Some(id) => store.guideline_rule_ids(project, Some(id)).await?,
        None => None,
    };
    if let Some(rule_ids) = &guideline
        && let Some(rule) = input.rules.iter().find(|r| !rule_ids.contains(&r.id))
    {
        return Err(QueueError::Unprocessable(format!(
            "rules: rule {:?} is not in the guideline version shown",
            rule.id
        )));
    }
    if let Some(ranking) = &input.ranking {
        let context = RankingContext {
            steps_per_candidate: pair.candidates.iter().map(|c| c.steps).collect(),
            rule_ids: guideline.iter().flatten().map(String::as_str).collect(),
            labels: &project.scale_labels,
        };
        if guideline.is_none()
            && let Some(i) = ranking.step_flags.iter().position(|f| f.rule.is_some())
        {
            return Err(QueueError::Unprocessable(format!(
                "step_flags[{i}].rule: this project has no published guideline to cite"
            )));
        }
        ranking::validate(ranking, &context)
            .map_err(|e| QueueError::Unprocessable(e.to_string()))?;
    }
    let stored = store
        .submit_judgment(project, user_id, input, revise, now_ms())
        .await?;
    if !stored.replayed {
        crate::metrics::METRICS.judgment_stored(&project.slug);
    }
    Ok(stored)
}

/// What the pair's task asks for: a label when it judges, a ranking when it ranks.
fn check_task(task: TaskKind, input: &JudgmentInput) -> Result<(), QueueError> {
    let refuse = |m: String| Err(QueueError::Unprocessable(m));
    match (task.judges(), input.label.is_some()) {
        (true, false) => {
            return refuse(format!(
                "label: this pair's task is {}; give a label",
                task.as_str()
            ));
        }
        (false, true) => {
            return refuse("label: this pair's task is rank; it takes no label".into());
        }
        _ => {}
    }
    match (task.ranks(), input.ranking.is_some()) {
        (true, false) => refuse(format!(
            "ranking: this pair's task is {}; rank its candidates",
            task.as_str()
        )),
        (false, true) => refuse("ranking: this pair's task is judge; it takes no ranking".into()),
        _ => Ok(()),
    }
}

/// A pair as the submit checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairForJudging {
    /// The pair's task (its own, else the project's).
    pub task: TaskKind,
    /// Its CoT candidates, by position.
    pub candidates: Vec<CandidateShape>,
}

/// What the checks need of one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateShape {
    /// How many steps it has.
    pub steps: usize,
    /// The label it reached.
    pub label: Option<String>,
}

/// Skips a pair: it is not shown to this annotator again and does not count toward k.
pub async fn skip(
    store: &dyn Store,
    project: &Project,
    user_id: i64,
    pair_id: i64,
    reason: Option<&str>,
) -> Result<(), QueueError> {
    if reason.is_some_and(|r| r.chars().count() > 1_000) {
        return Err(QueueError::Invalid(
            "reason: must be at most 1,000 characters".into(),
        ));
    }
    store
        .skip_pair(project, user_id, pair_id, reason, now_ms())
        .await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn project() -> Project {
        Project {
            id: 1,
            slug: "p".into(),
            name: "p".into(),
            scale: crate::domain::ScalePreset::Lore4,
            scale_labels: vec!["L1".into(), "L2".into(), "L3".into(), "L4".into()],
            overlap_k: 3,
            task: TaskKind::Judge,
            gold_rate: 0.05,
            lease_seconds: 600,
            reveal_models: false,
            retrain_every: 0,
            scorer_strategy: crate::domain::StrategyKind::Hybrid,
            gold_window: 20,
            gold_min_accuracy: 0.7,
            pause_flagged: false,
            review_alpha: 0.5,
        }
    }

    fn input(label: &str, key: &str) -> JudgmentInput {
        JudgmentInput {
            pair_id: 1,
            lease_id: None,
            label: Some(label.into()),
            rules: vec![],
            rationale: None,
            duration_ms: Some(1200),
            guideline_version_id: None,
            idempotency_key: key.into(),
            ranking: None,
        }
    }

    #[test]
    fn labels_must_be_on_the_scale_and_keys_present() {
        assert!(validate_judgment(&project(), &input("L3", "k1")).is_ok());
        assert!(matches!(
            validate_judgment(&project(), &input("Exact", "k1")),
            Err(QueueError::Invalid(m)) if m.contains("Exact")
        ));
        assert!(matches!(
            validate_judgment(&project(), &input("L3", "  ")),
            Err(QueueError::Invalid(_))
        ));
    }

    #[test]
    fn gold_arrives_at_the_project_rate() {
        assert!(wants_gold(0.05, 0.01));
        assert!(!wants_gold(0.05, 0.05));
        assert!(!wants_gold(0.0, 0.0));
        let draws = (0..10_000).map(|i| f64::from(i) / 10_000.0);
        let gold = draws.filter(|&d| wants_gold(0.05, d)).count();
        assert_eq!(gold, 500);
    }
}
