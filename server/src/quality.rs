//! Label quality: each annotator's accuracy on gold pairs and the
//! flag it raises, and the review queue: pairs whose judgments disagree, whose own
//! Krippendorff alpha is low, or whose humans and model CoTs reach different labels.
//!
//! The rules are pure functions over rows the store reads ([`GoldRow`], [`ReviewRows`]),
//! so they are tested without a database; [`gold_report`] and [`review_queue`] read the
//! rows and apply them.

use std::collections::{BTreeMap, HashMap};

use relabel_quality::{Metric, ReliabilityData, krippendorff_alpha, unit_alphas};
use serde::Serialize;

use crate::domain::Project;
pub use crate::storage::rows::{Decision, GoldRow, JudgmentDetail, ReviewRows};
use crate::storage::{Store, StoreError};

/// Right answers out of answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Accuracy {
    /// Gold answers counted.
    pub answered: u64,
    /// Of those, the gold label exactly.
    pub exact: u64,
    /// Of those, at most one level from the gold label.
    pub within_one: u64,
}

impl Accuracy {
    fn add(&mut self, distance: usize) {
        self.answered += 1;
        self.exact += u64::from(distance == 0);
        self.within_one += u64::from(distance <= 1);
    }

    /// Share exactly right (`None` before any answer).
    pub fn exact_rate(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.exact as f64 / self.answered as f64)
    }

    /// Share at most one level off.
    pub fn within_one_rate(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.within_one as f64 / self.answered as f64)
    }
}

/// One annotator's gold record in a project.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnnotatorGold {
    /// The annotator.
    pub user_id: i64,
    /// Their name.
    pub user: String,
    /// Every gold answer.
    pub overall: Accuracy,
    /// The last `gold_window` gold answers.
    pub recent: Accuracy,
    /// Whether the recent exact accuracy is below the project's bar (only once a whole
    /// window has been answered).
    pub flagged: bool,
    /// By rule cited.
    pub by_rule: BTreeMap<String, Accuracy>,
    /// By capability (the pair's tags).
    pub by_capability: BTreeMap<String, Accuracy>,
    /// By UTC day (`YYYY-MM-DD`).
    pub by_day: BTreeMap<String, Accuracy>,
}

/// The UTC day of an epoch-millisecond time, as `YYYY-MM-DD`.
pub fn utc_day(epoch_ms: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(epoch_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Whether the last `window` answers (newest first in `recent`) fall below `min_accuracy`:
/// only a whole window can flag, so one early miss does not.
pub fn flagged(recent: &Accuracy, window: i64, min_accuracy: f64) -> bool {
    recent.answered >= window.max(1) as u64
        && recent.exact_rate().is_some_and(|rate| rate < min_accuracy)
}

/// Each annotator's gold accuracy, from their first answers to gold pairs (rows in time
/// order). Answers without a label, or with a label or gold label off the scale, are not
/// counted.
pub fn gold_accuracy(project: &Project, rows: &[GoldRow]) -> Vec<AnnotatorGold> {
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    // Per annotator: their name and (distance from gold, answer) pairs.
    type Answers<'a> = (String, Vec<(usize, &'a GoldRow)>);
    let mut by_user: BTreeMap<i64, Answers<'_>> = BTreeMap::new();
    for row in rows {
        let (Some(given), Some(gold)) = (row.label.as_deref().and_then(level), level(&row.gold))
        else {
            continue;
        };
        by_user
            .entry(row.user_id)
            .or_insert_with(|| (row.user.clone(), Vec::new()))
            .1
            .push((given.abs_diff(gold), row));
    }
    by_user
        .into_iter()
        .map(|(user_id, (user, mut answers))| {
            answers.sort_by_key(|(_, row)| (row.at, row.pair_id));
            let mut report = AnnotatorGold {
                user_id,
                user,
                overall: Accuracy::default(),
                recent: Accuracy::default(),
                flagged: false,
                by_rule: BTreeMap::new(),
                by_capability: BTreeMap::new(),
                by_day: BTreeMap::new(),
            };
            let window = project.gold_window.max(1) as usize;
            let recent_from = answers.len().saturating_sub(window);
            for (i, (distance, row)) in answers.iter().enumerate() {
                report.overall.add(*distance);
                if i >= recent_from {
                    report.recent.add(*distance);
                }
                for rule in &row.rules {
                    report
                        .by_rule
                        .entry(rule.clone())
                        .or_default()
                        .add(*distance);
                }
                for tag in &row.tags {
                    report
                        .by_capability
                        .entry(tag.clone())
                        .or_default()
                        .add(*distance);
                }
                report
                    .by_day
                    .entry(utc_day(row.at))
                    .or_default()
                    .add(*distance);
            }
            report.flagged = flagged(
                &report.recent,
                project.gold_window,
                project.gold_min_accuracy,
            );
            report
        })
        .collect()
}

/// Reads the project's gold answers and reports every annotator's accuracy.
pub async fn gold_report(
    store: &dyn Store,
    project: &Project,
) -> Result<Vec<AnnotatorGold>, StoreError> {
    let rows = store.gold_rows(project).await?;
    Ok(gold_accuracy(project, &rows))
}

/// Whether `user_id` is flagged in `project` now: their last `gold_window` first answers
/// to gold pairs. The queue asks this before each claim of a project that pauses
/// flagged annotators.
pub async fn is_flagged(
    store: &dyn Store,
    project: &Project,
    user_id: i64,
) -> Result<bool, StoreError> {
    let recent = store
        .recent_gold(project, user_id, project.gold_window)
        .await?;
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    let mut accuracy = Accuracy::default();
    for (given, gold) in &recent {
        if let (Some(given), Some(gold)) = (given.as_deref().and_then(level), level(gold)) {
            accuracy.add(given.abs_diff(gold));
        }
    }
    Ok(flagged(
        &accuracy,
        project.gold_window,
        project.gold_min_accuracy,
    ))
}

/// Why a pair is in the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewReason {
    /// Judgments two or more levels apart.
    Spread {
        /// Levels between the lowest and highest label.
        levels: usize,
    },
    /// The pair's own Krippendorff alpha (ordinal) is below the project's bar.
    LowAlpha {
        /// The pair's alpha.
        alpha: f64,
        /// The project's bar.
        below: f64,
    },
    /// A rule a judgment cited changed in a newer guideline version.
    Rereview {
        /// The rule.
        rule: String,
        /// The version the judgment was made under.
        from_version: i64,
        /// The version that changed the rule.
        to_version: i64,
    },
    /// The humans' majority label differs from the model CoTs' majority label.
    ModelDisagrees {
        /// The humans' majority.
        human: String,
        /// The CoT candidates' majority.
        model: String,
    },
}

impl ReviewReason {
    /// The reason in words, for pages and CSV files.
    pub fn describe(&self) -> String {
        match self {
            Self::Spread { levels } => format!("judgments {levels} levels apart"),
            Self::LowAlpha { alpha, below } => format!("pair alpha {alpha:.2} below {below:.2}"),
            Self::Rereview {
                rule,
                from_version,
                to_version,
            } => format!("{rule} changed from version {from_version} to {to_version}"),
            Self::ModelDisagrees { human, model } => {
                format!("humans say {human}, the model's CoTs say {model}")
            }
        }
    }
}

/// A pair waiting for a reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    /// The pair.
    pub pair_id: i64,
    /// The annotators' current labels, lowest first.
    pub labels: Vec<String>,
    /// The pair's own alpha, when it has two or more labels.
    pub alpha: Option<f64>,
    /// Why it is here (never empty).
    pub reasons: Vec<ReviewReason>,
}

/// The most common level, when one level is more common than every other.
pub(crate) fn majority(levels: impl IntoIterator<Item = usize>) -> Option<usize> {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for level in levels {
        *counts.entry(level).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    let mut at_best = counts.iter().filter(|(_, n)| **n == best);
    let (level, _) = at_best.next()?;
    at_best.next().is_none().then_some(*level)
}

/// The alpha of the whole project's judgments (ordinal), from each annotator's current
/// label; `None` when undefined (no pair with two labels, or all labels the same).
pub fn project_alpha(project: &Project, rows: &ReviewRows) -> Option<f64> {
    alpha_of(&current_levels(project, rows))
}

/// Each judged pair's current levels (last revision per annotator), by pair id, counting
/// only judgments made by `until` (epoch ms).
pub(crate) fn current_levels_until(
    project: &Project,
    rows: &ReviewRows,
    until: i64,
) -> BTreeMap<i64, Vec<usize>> {
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    let mut latest: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for (pair, user, label, at) in &rows.judgments {
        if *at > until {
            continue;
        }
        if let Some(l) = level(label) {
            latest.insert((*pair, *user), l);
        }
    }
    let mut units: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for ((pair, _), l) in latest {
        units.entry(pair).or_default().push(l);
    }
    units
}

/// Each judged pair's current levels (last revision per annotator), by pair id.
pub(crate) fn current_levels(project: &Project, rows: &ReviewRows) -> BTreeMap<i64, Vec<usize>> {
    current_levels_until(project, rows, i64::MAX)
}

/// Krippendorff's alpha (ordinal) over pairs' levels.
pub(crate) fn alpha_of(units: &BTreeMap<i64, Vec<usize>>) -> Option<f64> {
    krippendorff_alpha(&reliability(units), Metric::Ordinal)
}

fn reliability(units: &BTreeMap<i64, Vec<usize>>) -> ReliabilityData {
    let width = units.values().map(Vec::len).max().unwrap_or(0);
    let rows: Vec<Vec<Option<f64>>> = units
        .values()
        .map(|levels| {
            let mut row: Vec<Option<f64>> = levels.iter().map(|&l| Some(l as f64)).collect();
            row.resize(width, None);
            row
        })
        .collect();
    // Levels are small finite numbers in rows of one width, so this cannot fail.
    ReliabilityData::from_units(&rows).unwrap_or_else(|_| {
        ReliabilityData::from_units::<Vec<Option<f64>>>(&[]).expect("empty data is valid")
    })
}

/// The review queue: every pair not decided since its last judgment that has judgments
/// two or more levels apart, an own alpha below `project.review_alpha`, or (once it has
/// all k judgments) a human majority that differs from its CoT candidates' majority.
/// Ordered with the widest disagreement first, then by pair id.
pub fn review_items(project: &Project, rows: &ReviewRows) -> Vec<ReviewItem> {
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    let units = current_levels(project, rows);
    let alphas = unit_alphas(&reliability(&units), Metric::Ordinal);
    let mut last_judged: HashMap<i64, i64> = HashMap::new();
    for (pair, _, _, at) in &rows.judgments {
        let t = last_judged.entry(*pair).or_insert(*at);
        *t = (*t).max(*at);
    }
    let decided: HashMap<i64, i64> = rows.decided.iter().map(|(p, at, _)| (*p, *at)).collect();
    let complete: std::collections::HashSet<i64> = rows.complete.iter().copied().collect();
    let mut model: HashMap<i64, Vec<usize>> = HashMap::new();
    for (pair, label) in &rows.model_labels {
        if let Some(l) = level(label) {
            model.entry(*pair).or_default().push(l);
        }
    }
    let name = |l: usize| project.scale_labels.get(l).cloned().unwrap_or_default();
    let mut rereviews: HashMap<i64, Vec<ReviewReason>> = HashMap::new();
    for (pair, rule, from, to) in &rows.rereviews {
        let reason = ReviewReason::Rereview {
            rule: rule.clone(),
            from_version: *from,
            to_version: *to,
        };
        let list = rereviews.entry(*pair).or_default();
        if !list.contains(&reason) {
            list.push(reason);
        }
    }
    let mut items: Vec<(usize, ReviewItem)> = Vec::new();
    for ((pair, levels), alpha) in units.iter().zip(alphas) {
        // A re-review stays until it is resolved, whatever was decided before.
        let mut reasons = rereviews.remove(pair).unwrap_or_default();
        if reasons.is_empty()
            && decided
                .get(pair)
                .is_some_and(|&at| at >= last_judged.get(pair).copied().unwrap_or(0))
        {
            continue;
        }
        let spread =
            levels.iter().max().copied().unwrap_or(0) - levels.iter().min().copied().unwrap_or(0);
        if spread >= 2 {
            reasons.push(ReviewReason::Spread { levels: spread });
        }
        if let Some(a) = alpha
            && a < project.review_alpha
        {
            reasons.push(ReviewReason::LowAlpha {
                alpha: a,
                below: project.review_alpha,
            });
        }
        if complete.contains(pair)
            && let Some(human) = majority(levels.iter().copied())
            && let Some(machine) = model.get(pair).and_then(|m| majority(m.iter().copied()))
            && human != machine
        {
            reasons.push(ReviewReason::ModelDisagrees {
                human: name(human),
                model: name(machine),
            });
        }
        if reasons.is_empty() {
            continue;
        }
        let mut sorted = levels.clone();
        sorted.sort_unstable();
        items.push((
            spread,
            ReviewItem {
                pair_id: *pair,
                labels: sorted.into_iter().map(name).collect(),
                alpha,
                reasons,
            },
        ));
    }
    items.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.pair_id.cmp(&b.1.pair_id)));
    items.into_iter().map(|(_, item)| item).collect()
}

/// Reads what the review queue needs and computes it.
pub async fn review_queue(
    store: &dyn Store,
    project: &Project,
) -> Result<Vec<ReviewItem>, StoreError> {
    let rows = store.review_rows(project).await?;
    Ok(review_items(project, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        crate::queue::tests::project()
    }

    fn gold(user: i64, pair: i64, label: &str, gold: &str, at: i64) -> GoldRow {
        GoldRow {
            user_id: user,
            user: format!("u{user}"),
            pair_id: pair,
            label: Some(label.into()),
            gold: gold.into(),
            rules: vec!["R-1".into()],
            tags: vec!["knowledge-reasoning".into()],
            at,
        }
    }

    #[test]
    fn gold_accuracy_counts_exact_and_near_answers_and_flags_a_full_window() {
        let mut p = project();
        p.gold_window = 4;
        p.gold_min_accuracy = 0.5;
        // u1: 5 answers; the first is right, the last four: one right, one a level off,
        // two far off. u2: three wrong answers, fewer than a window.
        let rows = vec![
            gold(1, 1, "L4", "L4", 1_000),
            gold(1, 2, "L3", "L4", 2_000),
            gold(1, 3, "L1", "L4", 3_000),
            gold(1, 4, "L2", "L2", 4_000),
            gold(1, 5, "L4", "L1", 86_400_000 + 5_000),
            gold(2, 1, "L1", "L4", 1_000),
            gold(2, 2, "L1", "L4", 2_000),
            gold(2, 3, "L1", "L4", 3_000),
        ];
        let report = gold_accuracy(&p, &rows);
        assert_eq!(report.len(), 2);
        let u1 = &report[0];
        assert_eq!(
            u1.overall,
            Accuracy {
                answered: 5,
                exact: 2,
                within_one: 3
            }
        );
        assert_eq!((u1.recent.answered, u1.recent.exact), (4, 1));
        assert!(u1.flagged, "1 of the last 4 is below 50%");
        assert_eq!(u1.by_rule["R-1"].answered, 5);
        assert_eq!(u1.by_capability["knowledge-reasoning"].exact, 2);
        assert_eq!(u1.by_day["1970-01-01"].answered, 4);
        assert_eq!(u1.by_day["1970-01-02"].answered, 1);
        assert!(!report[1].flagged, "three answers are not a window of four");
        p.gold_min_accuracy = 0.25;
        assert!(!gold_accuracy(&p, &rows)[0].flagged, "25% is not below 25%");
    }

    fn rows(judgments: &[(i64, i64, &str, i64)]) -> ReviewRows {
        ReviewRows {
            judgments: judgments
                .iter()
                .map(|&(p, u, l, at)| (p, u, l.to_owned(), at))
                .collect(),
            ..ReviewRows::default()
        }
    }

    #[test]
    fn the_review_queue_takes_wide_splits_low_alpha_and_model_disagreement() {
        let mut r = rows(&[
            // Pair 1 agrees; pair 2 is two levels apart; pair 3 one level apart; pair 4
            // agrees among humans but not with the model; pair 5 was revised into
            // agreement.
            (1, 1, "L3", 10),
            (1, 2, "L3", 11),
            (1, 3, "L3", 12),
            (2, 1, "L1", 10),
            (2, 2, "L3", 11),
            (3, 1, "L2", 10),
            (3, 2, "L3", 11),
            (4, 1, "L4", 10),
            (4, 2, "L4", 11),
            (4, 3, "L4", 12),
            (5, 1, "L1", 10),
            (5, 2, "L4", 11),
            (5, 1, "L4", 13),
            (6, 1, "L1", 10),
            (6, 2, "L2", 10),
            (6, 3, "L3", 10),
            (6, 4, "L4", 10),
        ]);
        r.model_labels = vec![(4, "L1".into()), (4, "L1".into()), (4, "L4".into())];
        r.complete = vec![1, 4];
        let p = project();
        let queue = review_items(&p, &r);
        let ids: Vec<i64> = queue.iter().map(|i| i.pair_id).collect();
        assert_eq!(
            ids,
            vec![6, 2, 4],
            "widest first; 1, 3 and 5 agree well enough"
        );
        assert_eq!(queue[1].labels, vec!["L1", "L3"]);
        assert!(matches!(
            queue[0].reasons[0],
            ReviewReason::Spread { levels: 3 }
        ));
        assert!(
            queue[1]
                .reasons
                .iter()
                .any(|r| matches!(r, ReviewReason::LowAlpha { alpha, .. } if *alpha < 0.5))
        );
        assert_eq!(
            queue[2].reasons,
            vec![ReviewReason::ModelDisagrees {
                human: "L4".into(),
                model: "L1".into()
            }]
        );
        // A decision after the last judgment takes a pair out; a later judgment puts it
        // back.
        r.decided = vec![(2, 20, "L2".into()), (6, 5, "L1".into())];
        let ids: Vec<i64> = review_items(&p, &r).iter().map(|i| i.pair_id).collect();
        assert_eq!(ids, vec![6, 4]);
        // Not yet complete: the model's view waits for all k judgments.
        r.complete.clear();
        let ids: Vec<i64> = review_items(&p, &r).iter().map(|i| i.pair_id).collect();
        assert_eq!(ids, vec![6]);
        let alpha = project_alpha(&p, &r).expect("defined");
        assert!(alpha < 1.0 && alpha > -1.0);
    }

    #[test]
    fn majority_needs_a_clear_winner() {
        assert_eq!(majority([1, 1, 2]), Some(1));
        assert_eq!(majority([1, 2]), None);
        assert_eq!(majority([]), None);
    }
}
