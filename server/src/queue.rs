//! The work queue: which pair an annotator gets next, leases, and submitting, skipping
//! and revising judgments. The invariants (docs/ARCHITECTURE.md, "The work queue") are
//! enforced in the storage transaction; this module holds the checks made before storage is
//! touched and the service functions the HTTP layer and the CLI call (the rows themselves are
//! `storage::rows`, re-exported here).

use crate::domain::{Project, TaskKind, now_ms};
use crate::ranking::{self, RankingContext};
use crate::storage::Store;
pub use crate::storage::rows::{
    CandidateShape, Claim, JudgmentInput, JudgmentRow, PairForJudging, QueueError, RuleCitation,
    RuleVerdict, Submitted,
};

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
