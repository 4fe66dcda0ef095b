//! The active-learning proof behind `relabel bench active-learning`: simulate annotators from known labels and compare how
//! fast each strategy's head learns. Per repeat, the same held-out test queries and the
//! same random seed labels serve every strategy; each round trains a head on the labels
//! so far, measures it on the test split, and lets the strategy pick the next batch.

use std::collections::BTreeMap;

use relabel_models::Device;
use relabel_models::ScorerError;
use relabel_models::acquisition::{self, Candidate, Strategy, StrategyKind};
use relabel_models::head::{Head, Rng, TrainOptions, argmax, macro_f1};
use serde::Serialize;

/// The labelled pool the simulation draws from.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// The head's input per pair ([`relabel_models::features::pair_features`]).
    pub rows: Vec<Vec<f32>>,
    /// A vector per pair for diversity (k-center greedy).
    pub embeddings: Vec<Vec<f32>>,
    /// The true level of each pair: what the simulated annotator answers.
    pub labels: Vec<usize>,
    /// The CoT candidates' labels per pair.
    pub votes: Vec<Vec<usize>>,
    /// Band and capability tags per pair, for quotas.
    pub groups: Vec<Vec<String>>,
    /// The query of each pair: the test split is by query.
    pub queries: Vec<String>,
}

/// The simulation's budget and shape.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Levels of the scale.
    pub classes: usize,
    /// Random labels every strategy starts from.
    pub seed_labels: usize,
    /// Labels added per round.
    pub batch: usize,
    /// Labels at which the simulation stops.
    pub budget: usize,
    /// Repeats with different seeds.
    pub repeats: usize,
    /// Share of queries held out for testing.
    pub test_share: f64,
    /// The first repeat's seed; repeat r uses seed + r.
    pub seed: u64,
    /// How each round's head is trained.
    pub train: TrainOptions,
}

/// One point of a learning curve.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CurvePoint {
    /// The strategy's name.
    pub strategy: String,
    /// Which repeat.
    pub repeat: usize,
    /// Labels the head was trained on.
    pub labels_used: usize,
    /// Macro-F1 on the test split.
    pub macro_f1: f64,
    /// Accuracy on the test split.
    pub accuracy: f64,
}

/// Whether `query` is in repeat `seed`'s test split.
fn is_test(query: &str, seed: u64, share: f64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in query.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Rng::new(h ^ seed).unit() < share
}

/// Runs every strategy for every repeat; `progress` hears a line per round.
pub fn run(
    pool: &Pool,
    strategies: &[Strategy],
    options: &SimOptions,
    device: &Device,
    mut progress: impl FnMut(&str),
) -> Result<Vec<CurvePoint>, ScorerError> {
    let n = pool.rows.len();
    if [
        pool.labels.len(),
        pool.votes.len(),
        pool.groups.len(),
        pool.queries.len(),
    ]
    .iter()
    .any(|&len| len != n)
    {
        return Err(ScorerError::Training(
            "the pool's columns differ in length".into(),
        ));
    }
    let mut points = Vec::new();
    for repeat in 0..options.repeats {
        let seed = options.seed + repeat as u64;
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| is_test(&pool.queries[i], seed, options.test_share));
        let test_rows: Vec<Vec<f32>> = test.iter().map(|&i| pool.rows[i].clone()).collect();
        if train.len() < options.budget || test.is_empty() {
            return Err(ScorerError::Training(format!(
                "repeat {repeat}: {} training pairs for a budget of {} and {} test pairs; use a larger file or a smaller budget",
                train.len(),
                options.budget,
                test.len()
            )));
        }
        let mut start = train.clone();
        Rng::new(seed).shuffle(&mut start);
        start.truncate(options.seed_labels.min(options.budget));
        for strategy in strategies {
            let mut labelled = start.clone();
            let mut round = 0u64;
            loop {
                let rows: Vec<Vec<f32>> = labelled.iter().map(|&i| pool.rows[i].clone()).collect();
                let labels: Vec<usize> = labelled.iter().map(|&i| pool.labels[i]).collect();
                let train_options = TrainOptions {
                    seed: seed ^ round,
                    ..options.train.clone()
                };
                let (head, _) =
                    Head::train(&rows, &labels, options.classes, &train_options, device)?;
                let predicted: Vec<usize> = head
                    .predict(&test_rows)?
                    .iter()
                    .map(|p| argmax(p))
                    .collect();
                let truth: Vec<usize> = test.iter().map(|&i| pool.labels[i]).collect();
                let right = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
                let point = CurvePoint {
                    strategy: strategy.kind.name().to_owned(),
                    repeat,
                    labels_used: labelled.len(),
                    macro_f1: macro_f1(&predicted, &truth, options.classes),
                    accuracy: right as f64 / truth.len() as f64,
                };
                progress(&format!(
                    "repeat {repeat} {:<16} {:>5} labels: macro-F1 {:.3}, accuracy {:.3}",
                    point.strategy, point.labels_used, point.macro_f1, point.accuracy
                ));
                points.push(point);
                if labelled.len() >= options.budget {
                    break;
                }
                let mut is_labelled = vec![false; n];
                for &i in &labelled {
                    is_labelled[i] = true;
                }
                let unlabelled: Vec<usize> =
                    train.iter().copied().filter(|&i| !is_labelled[i]).collect();
                let needs_head = strategy.kind != StrategyKind::Random;
                let probs = if needs_head {
                    let rows: Vec<Vec<f32>> =
                        unlabelled.iter().map(|&i| pool.rows[i].clone()).collect();
                    head.predict(&rows)?.into_iter().map(Some).collect()
                } else {
                    vec![None; unlabelled.len()]
                };
                let candidates: Vec<Candidate> = unlabelled
                    .iter()
                    .zip(probs)
                    .map(|(&i, probs)| Candidate {
                        probs,
                        votes: pool.votes[i].clone(),
                        groups: pool.groups[i].clone(),
                    })
                    .collect();
                let embeddings: Vec<Vec<f32>> = if strategy.kind == StrategyKind::Hybrid {
                    unlabelled
                        .iter()
                        .map(|&i| pool.embeddings[i].clone())
                        .collect()
                } else {
                    Vec::new()
                };
                let take = options.batch.min(options.budget - labelled.len());
                let picked = acquisition::select(
                    strategy,
                    &candidates,
                    &embeddings,
                    take,
                    seed ^ (round << 8),
                );
                labelled.extend(picked.into_iter().map(|k| unlabelled[k]));
                round += 1;
            }
        }
    }
    Ok(points)
}

/// A strategy's curve averaged over the repeats: (labels used, mean macro-F1, mean accuracy).
pub fn mean_curves(points: &[CurvePoint]) -> BTreeMap<String, Vec<(usize, f64, f64)>> {
    let mut sums: BTreeMap<String, BTreeMap<usize, (f64, f64, usize)>> = BTreeMap::new();
    for p in points {
        let entry = sums
            .entry(p.strategy.clone())
            .or_default()
            .entry(p.labels_used)
            .or_insert((0.0, 0.0, 0));
        entry.0 += p.macro_f1;
        entry.1 += p.accuracy;
        entry.2 += 1;
    }
    sums.into_iter()
        .map(|(s, by_labels)| {
            let curve = by_labels
                .into_iter()
                .map(|(l, (f1, acc, k))| (l, f1 / k as f64, acc / k as f64))
                .collect();
            (s, curve)
        })
        .collect()
}

/// The fewest labels at which `curve`'s mean macro-F1 reaches `target`, if it ever does.
pub fn labels_to_reach(curve: &[(usize, f64, f64)], target: f64) -> Option<usize> {
    curve
        .iter()
        .find(|(_, f1, _)| *f1 >= target)
        .map(|(l, _, _)| *l)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    #[test]
    fn curves_average_repeats_and_find_where_a_target_is_reached() {
        let p = |s: &str, repeat, labels_used, macro_f1| CurvePoint {
            strategy: s.into(),
            repeat,
            labels_used,
            macro_f1,
            accuracy: 0.5,
        };
        let points = [
            p("random", 0, 10, 0.2),
            p("random", 1, 10, 0.4),
            p("random", 0, 20, 0.6),
            p("random", 1, 20, 0.8),
        ];
        let curves = mean_curves(&points);
        let random = &curves["random"];
        assert_eq!(random.len(), 2);
        assert!((random[0].1 - 0.3).abs() < 1e-12 && (random[1].1 - 0.7).abs() < 1e-12);
        assert_eq!(labels_to_reach(random, 0.7), Some(20));
        assert_eq!(labels_to_reach(random, 0.3), Some(10));
        assert_eq!(labels_to_reach(random, 0.9), None);
    }

    #[test]
    fn a_small_simulation_runs_every_strategy_to_the_budget() {
        // Two levels decided by the sign of the first value; 20 queries of 10 pairs.
        let mut rng = Rng::new(5);
        let mut pool = Pool::default();
        for q in 0..20 {
            for _ in 0..10 {
                let row: Vec<f32> = (0..4).map(|_| rng.unit() as f32 - 0.5).collect();
                let label = usize::from(row[0] > 0.0);
                pool.votes.push(vec![label, label, 1 - label]);
                pool.embeddings.push(row.clone());
                pool.rows.push(row);
                pool.labels.push(label);
                pool.groups.push(vec![]);
                pool.queries.push(format!("q{q}"));
            }
        }
        let options = SimOptions {
            classes: 2,
            seed_labels: 10,
            batch: 10,
            budget: 40,
            repeats: 2,
            test_share: 0.25,
            seed: 1,
            train: TrainOptions {
                hidden: 8,
                epochs: 20,
                batch: 16,
                ..TrainOptions::default()
            },
        };
        let strategies: Vec<Strategy> = [StrategyKind::Random, StrategyKind::Hybrid]
            .map(Strategy::of)
            .to_vec();
        let points = run(&pool, &strategies, &options, &Device::Cpu, |_| {}).unwrap();
        // 2 repeats x 2 strategies x 4 rounds (10, 20, 30, 40 labels).
        assert_eq!(points.len(), 16);
        let used: Vec<usize> = points.iter().take(4).map(|p| p.labels_used).collect();
        assert_eq!(used, [10, 20, 30, 40]);
        let curves = mean_curves(&points);
        assert!(
            curves["hybrid"].last().unwrap().1 > 0.7,
            "{:?}",
            curves["hybrid"]
        );
        assert_eq!(
            points,
            run(&pool, &strategies, &options, &Device::Cpu, |_| {}).unwrap(),
            "seeded"
        );
    }
}
