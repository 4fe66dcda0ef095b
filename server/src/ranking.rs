//! Rankings of a pair's chain-of-thought candidates: what an annotator submits (the
//! order best to worst with ties, the first wrong step of each candidate, a corrected
//! CoT) and the checks it must pass against the pair and the guideline version shown.
//! The preference pairs rankings imply are computed in `export::preference`.
//!
//! Candidates are named by their 0-based `position` among the pair's candidates, as
//! the pair is served; steps by their 0-based index in the candidate's step list.

use std::collections::BTreeSet;

/// Most candidates a pair may carry.
pub const MAX_CANDIDATES: usize = 8;
/// Fewest candidates a ranking needs.
pub const MIN_CANDIDATES: usize = 2;
/// Most steps a corrected CoT may have, and most characters per step.
const MAX_CORRECTED_STEPS: usize = 32;
const MAX_STEP_CHARS: usize = 4_000;

/// The order of a pair's candidates, best first: each group holds candidates tied at
/// that place, e.g. `[[2], [0, 1]]` puts candidate 2 first and ties 0 and 1 after it.
pub type Ranking = Vec<Vec<usize>>;

pub use relabel_core::types::{CorrectedCot, StepFlag};

/// What a ranking judgment carries besides the label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RankingInput {
    /// Best first, with ties.
    pub ranking: Ranking,
    /// At most one flag per candidate.
    pub step_flags: Vec<StepFlag>,
    /// The annotator's corrected CoT, if written.
    pub corrected_cot: Option<CorrectedCot>,
}

/// What the checks need to know of the pair and the guideline.
#[derive(Debug, Clone, Default)]
pub struct RankingContext<'a> {
    /// Steps per candidate, by position.
    pub steps_per_candidate: Vec<usize>,
    /// The rule ids of the guideline version shown.
    pub rule_ids: BTreeSet<&'a str>,
    /// The project's scale labels.
    pub labels: &'a [String],
}

/// A ranking that cannot be stored: the field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RankingError {
    /// The offending field, as the API names it (`ranking`, `step_flags[1].step`, ...).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> RankingError {
    RankingError {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a ranking against the pair's candidates and the guideline version shown:
/// every candidate appears exactly once, no group is empty, step indexes exist, rule
/// ids are in the version, labels are on the scale, and sizes are bounded.
pub fn validate(input: &RankingInput, context: &RankingContext<'_>) -> Result<(), RankingError> {
    let k = context.steps_per_candidate.len();
    if k < MIN_CANDIDATES {
        return Err(refuse(
            "ranking",
            format!("this pair has {k} candidates; ranking needs at least {MIN_CANDIDATES}"),
        ));
    }
    let mut seen = vec![false; k];
    for (g, group) in input.ranking.iter().enumerate() {
        if group.is_empty() {
            return Err(refuse(format!("ranking[{g}]"), "a tie group is empty"));
        }
        for &c in group {
            let Some(slot) = seen.get_mut(c) else {
                return Err(refuse(
                    format!("ranking[{g}]"),
                    format!(
                        "candidate {c} does not exist (this pair has candidates 0 to {})",
                        k - 1
                    ),
                ));
            };
            if *slot {
                return Err(refuse(
                    format!("ranking[{g}]"),
                    format!("candidate {c} appears more than once"),
                ));
            }
            *slot = true;
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(refuse(
            "ranking",
            format!("candidate {missing} is missing: rank every candidate"),
        ));
    }
    let mut flagged = vec![false; k];
    for (i, flag) in input.step_flags.iter().enumerate() {
        let field = |name: &str| format!("step_flags[{i}].{name}");
        let Some(steps) = context.steps_per_candidate.get(flag.candidate) else {
            return Err(refuse(
                field("candidate"),
                format!("candidate {} does not exist", flag.candidate),
            ));
        };
        if std::mem::replace(&mut flagged[flag.candidate], true) {
            return Err(refuse(
                field("candidate"),
                format!("candidate {} is flagged twice", flag.candidate),
            ));
        }
        if let Some(step) = flag.step
            && step >= *steps
        {
            return Err(refuse(
                field("step"),
                format!(
                    "candidate {} has steps 0 to {}; there is no step {step}",
                    flag.candidate,
                    steps.saturating_sub(1)
                ),
            ));
        }
        if let Some(rule) = &flag.rule
            && !context.rule_ids.contains(rule.as_str())
        {
            return Err(refuse(
                field("rule"),
                format!("rule {rule:?} is not in the guideline version shown"),
            ));
        }
        if flag
            .dimension
            .as_ref()
            .is_some_and(|d| d.trim().is_empty() || d.len() > 64)
        {
            return Err(refuse(field("dimension"), "must be 1-64 characters"));
        }
    }
    if let Some(cot) = &input.corrected_cot {
        if cot.steps.is_empty() || cot.steps.len() > MAX_CORRECTED_STEPS {
            return Err(refuse(
                "corrected_cot.steps",
                format!("must hold 1 to {MAX_CORRECTED_STEPS} steps"),
            ));
        }
        if let Some(i) = cot.steps.iter().position(|s| s.trim().is_empty()) {
            return Err(refuse(
                format!("corrected_cot.steps[{i}]"),
                "a step is empty",
            ));
        }
        if let Some(i) = cot
            .steps
            .iter()
            .position(|s| s.chars().count() > MAX_STEP_CHARS)
        {
            return Err(refuse(
                format!("corrected_cot.steps[{i}]"),
                format!("a step may have at most {MAX_STEP_CHARS} characters"),
            ));
        }
        if let Some(label) = &cot.label
            && !context.labels.contains(label)
        {
            return Err(refuse(
                "corrected_cot.label",
                format!(
                    "{label:?} is not on the project's scale ({})",
                    context.labels.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The preference pairs one ranking implies, as the exports compute them.
    fn preference_pairs(ranking: &[Vec<usize>]) -> Vec<(usize, usize)> {
        let k = ranking.iter().map(Vec::len).sum();
        crate::export::preference::from_rankings(
            &[ranking.to_vec()],
            k,
            crate::export::PairSelection::All,
        )
        .into_iter()
        .map(|p| (p.chosen, p.rejected))
        .collect()
    }

    fn context(steps: &[usize]) -> RankingContext<'static> {
        static LABELS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| ["L1", "L2", "L3", "L4"].map(String::from).to_vec());
        RankingContext {
            steps_per_candidate: steps.to_vec(),
            rule_ids: ["R-BRAND-01", "R-SIZE-01"].into_iter().collect(),
            labels: &LABELS,
        }
    }

    fn ranked(ranking: Ranking) -> RankingInput {
        RankingInput {
            ranking,
            ..RankingInput::default()
        }
    }

    #[test]
    fn a_full_ranking_with_a_tie_flags_and_a_correction_is_accepted() {
        let input = RankingInput {
            ranking: vec![vec![2], vec![0, 1]],
            step_flags: vec![StepFlag {
                candidate: 0,
                step: Some(3),
                rule: Some("R-BRAND-01".into()),
                dimension: Some("brand".into()),
            }],
            corrected_cot: Some(CorrectedCot {
                steps: vec![
                    "The query asks for Nike.".into(),
                    "The item is Adidas.".into(),
                ],
                label: Some("L2".into()),
            }),
        };
        assert_eq!(validate(&input, &context(&[5, 5, 5])), Ok(()));
    }

    #[test]
    fn each_malformed_part_is_refused_naming_its_field() {
        let ctx = context(&[5, 5, 5]);
        let field = |input: RankingInput| validate(&input, &ctx).unwrap_err().field;
        assert_eq!(field(ranked(vec![vec![0], vec![1]])), "ranking");
        assert_eq!(field(ranked(vec![vec![0, 1], vec![1, 2]])), "ranking[1]");
        assert_eq!(field(ranked(vec![vec![0, 1, 2, 3]])), "ranking[0]");
        assert_eq!(field(ranked(vec![vec![0, 1, 2], vec![]])), "ranking[1]");
        let flag = |candidate, step, rule: Option<&str>| RankingInput {
            ranking: vec![vec![0, 1, 2]],
            step_flags: vec![StepFlag {
                candidate,
                step,
                rule: rule.map(str::to_owned),
                dimension: None,
            }],
            corrected_cot: None,
        };
        assert_eq!(field(flag(0, Some(5), None)), "step_flags[0].step");
        assert_eq!(field(flag(3, None, None)), "step_flags[0].candidate");
        assert_eq!(
            field(flag(1, Some(0), Some("R-NOPE"))),
            "step_flags[0].rule"
        );
        let corrected = |steps: Vec<&str>, label: Option<&str>| RankingInput {
            ranking: vec![vec![0, 1, 2]],
            step_flags: vec![],
            corrected_cot: Some(CorrectedCot {
                steps: steps.into_iter().map(str::to_owned).collect(),
                label: label.map(str::to_owned),
            }),
        };
        assert_eq!(field(corrected(vec![], None)), "corrected_cot.steps");
        assert_eq!(
            field(corrected(vec!["a", " "], None)),
            "corrected_cot.steps[1]"
        );
        assert_eq!(
            field(corrected(vec!["a"], Some("L9"))),
            "corrected_cot.label"
        );
        assert_eq!(
            validate(&ranked(vec![vec![0]]), &context(&[4]))
                .unwrap_err()
                .field,
            "ranking"
        );
    }

    #[test]
    fn preference_pairs_skip_ties() {
        assert_eq!(preference_pairs(&[vec![2], vec![0, 1]]), [(2, 0), (2, 1)]);
        assert_eq!(preference_pairs(&[vec![0, 1, 2]]), []);
        assert_eq!(
            preference_pairs(&[vec![1], vec![0], vec![2]]),
            [(1, 0), (1, 2), (0, 2)]
        );
    }

    /// A random ranking of `k` candidates: a shuffle cut into tie groups.
    fn ranking_strategy() -> impl Strategy<Value = (usize, Ranking)> {
        (MIN_CANDIDATES..=MAX_CANDIDATES)
            .prop_flat_map(|k| {
                (
                    Just(k),
                    Just((0..k).collect::<Vec<_>>()).prop_shuffle(),
                    proptest::collection::vec(any::<bool>(), k),
                )
            })
            .prop_map(|(k, order, cuts)| {
                let mut groups: Ranking = Vec::new();
                for (c, cut) in order.into_iter().zip(cuts) {
                    match groups.last_mut() {
                        Some(g) if !cut => g.push(c),
                        _ => groups.push(vec![c]),
                    }
                }
                (k, groups)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_ranking_with_ties_is_valid_and_round_trips_through_json((k, ranking) in ranking_strategy()) {
            let ctx = context(&vec![5; k]);
            prop_assert_eq!(validate(&ranked(ranking.clone()), &ctx), Ok(()));
            let text = serde_json::to_string(&ranking).unwrap();
            let back: Ranking = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, ranking);
        }

        #[test]
        fn preference_pairs_are_exactly_the_untied_ordered_pairs((k, ranking) in ranking_strategy()) {
            let place = |c: usize| ranking.iter().position(|g| g.contains(&c)).unwrap();
            let pairs = preference_pairs(&ranking);
            let expected: usize = (0..k)
                .flat_map(|a| (0..k).map(move |b| (a, b)))
                .filter(|&(a, b)| place(a) < place(b))
                .count();
            prop_assert_eq!(pairs.len(), expected);
            prop_assert!(pairs.iter().all(|&(a, b)| place(a) < place(b)));
        }

        #[test]
        fn dropping_or_duplicating_a_candidate_is_refused((k, ranking) in ranking_strategy(), pick in any::<prop::sample::Index>()) {
            let ctx = context(&vec![5; k]);
            let flat: Vec<usize> = ranking.iter().flatten().copied().collect();
            let victim = flat[pick.index(flat.len())];
            let dropped: Ranking = ranking
                .iter()
                .map(|g| g.iter().copied().filter(|&c| c != victim).collect::<Vec<_>>())
                .filter(|g| !g.is_empty())
                .collect();
            prop_assert!(validate(&ranked(dropped), &ctx).is_err());
            let mut doubled = ranking.clone();
            doubled.push(vec![victim]);
            prop_assert!(validate(&ranked(doubled), &ctx).is_err());
        }
    }
}
