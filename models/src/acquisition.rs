//! Which unlabelled pairs humans should label next. Every score is in [0, 1], higher
//! meaning "more worth a human's time":
//!
//! - uncertainty of the head: [`entropy`], [`margin`], [`least_confidence`];
//! - committee disagreement: [`vote_entropy`] of the CoT candidates' labels, and
//!   [`head_disagreement`] between the head and the candidates' majority;
//! - diversity: [`k_center_greedy`] on the embeddings, within each batch;
//! - quotas: a minimum share of the batch per frequency band or capability tag.
//!
//! [`select`] mixes them by a [`Strategy`]; [`explain`] says in words why a pair was chosen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::head::{Rng, argmax};
pub use relabel_core::project::StrategyKind;

/// Normalised Shannon entropy of a distribution: 0 when certain, 1 when uniform.
pub fn entropy(p: &[f32]) -> f64 {
    if p.len() < 2 {
        return 0.0;
    }
    let h: f64 = p
        .iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| -f64::from(x) * f64::from(x).ln())
        .sum();
    (h / (p.len() as f64).ln()).clamp(0.0, 1.0)
}

/// One minus the gap between the two most likely levels: 1 when they tie.
pub fn margin(p: &[f32]) -> f64 {
    let mut sorted: Vec<f32> = p.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    match sorted.as_slice() {
        [a, b, ..] => (1.0 - f64::from(a - b)).clamp(0.0, 1.0),
        _ => 0.0,
    }
}

/// One minus the top probability, scaled so a uniform distribution gives 1.
pub fn least_confidence(p: &[f32]) -> f64 {
    if p.len() < 2 {
        return 0.0;
    }
    let top = p.iter().copied().fold(0.0f32, f32::max);
    let c = p.len() as f64;
    ((1.0 - f64::from(top)) * c / (c - 1.0)).clamp(0.0, 1.0)
}

fn tally(votes: &[usize]) -> BTreeMap<usize, usize> {
    let mut counts = BTreeMap::new();
    for &v in votes {
        *counts.entry(v).or_insert(0) += 1;
    }
    counts
}

/// Vote entropy of the CoT candidates' labels, normalised by the most it could be for
/// that many votes: 0 when they agree (or fewer than two voted), 1 when all differ.
pub fn vote_entropy(votes: &[usize]) -> f64 {
    if votes.len() < 2 {
        return 0.0;
    }
    let n = votes.len() as f64;
    let h: f64 = tally(votes)
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum();
    (h / n.ln()).clamp(0.0, 1.0)
}

/// The candidates' majority label, when one label has strictly the most votes.
pub fn majority(votes: &[usize]) -> Option<usize> {
    let counts = tally(votes);
    let top = counts.values().copied().max()?;
    let mut leaders = counts.iter().filter(|&(_, &c)| c == top);
    let (&label, _) = leaders.next()?;
    leaders.next().is_none().then_some(label)
}

/// How little the head believes the candidates' majority: 1 − p(majority). `None` when
/// the candidates have no majority.
pub fn head_disagreement(p: &[f32], votes: &[usize]) -> Option<f64> {
    let m = majority(votes)?;
    p.get(m).map(|&x| (1.0 - f64::from(x)).clamp(0.0, 1.0))
}

/// Committee disagreement: the mean of [`vote_entropy`] and [`head_disagreement`] where
/// the head has scored the pair; vote entropy alone before it has.
pub fn committee(p: Option<&[f32]>, votes: &[usize]) -> f64 {
    let ve = vote_entropy(votes);
    match p.and_then(|p| head_disagreement(p, votes)) {
        Some(d) => (ve + d) / 2.0,
        None => ve,
    }
}

/// Squared Euclidean distance.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-center greedy (Sener & Savarese 2018): from `candidates` (indexes into `points`),
/// pick `k` one at a time, each the farthest from everything picked so far and from
/// `chosen`. With nothing chosen, the first candidate starts the set, so pass candidates
/// best-first.
pub fn k_center_greedy(
    points: &[Vec<f32>],
    candidates: &[usize],
    chosen: &[usize],
    k: usize,
) -> Vec<usize> {
    let mut picked = Vec::with_capacity(k.min(candidates.len()));
    let mut nearest: Vec<f32> = candidates
        .iter()
        .map(|&c| {
            chosen
                .iter()
                .map(|&s| distance(&points[c], &points[s]))
                .fold(f32::INFINITY, f32::min)
        })
        .collect();
    let mut taken = vec![false; candidates.len()];
    while picked.len() < k.min(candidates.len()) {
        let next = if picked.is_empty() && chosen.is_empty() {
            0
        } else {
            (0..candidates.len())
                .filter(|&i| !taken[i])
                .fold((usize::MAX, f32::NEG_INFINITY), |best, i| {
                    if nearest[i] > best.1 {
                        (i, nearest[i])
                    } else {
                        best
                    }
                })
                .0
        };
        taken[next] = true;
        let centre = candidates[next];
        picked.push(centre);
        for (i, &c) in candidates.iter().enumerate() {
            nearest[i] = nearest[i].min(distance(&points[c], &points[centre]));
        }
    }
    picked
}

/// A strategy with its weights (used by `Hybrid`) and quotas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strategy {
    /// Which scoring.
    pub kind: StrategyKind,
    /// Weight of the head's margin uncertainty in the hybrid mix.
    pub uncertainty_weight: f64,
    /// Weight of committee disagreement in the hybrid mix.
    pub committee_weight: f64,
    /// The hybrid picks each batch by k-center greedy among this many times the batch
    /// of best-scored pairs (1 turns diversity off).
    pub diversity_pool: usize,
    /// Minimum share of each batch per band or tag (`"tail" -> 0.2`), filled from the
    /// best-scored pairs that carry it, as far as the pool has them.
    pub quotas: BTreeMap<String, f64>,
}

impl Default for Strategy {
    /// The default: hybrid, margin uncertainty weighted 0.8 and committee 0.2, diversity
    /// among 3× the batch, no quotas. Margin beat entropy on the demo's learning curves,
    /// and more committee weight spent labels on pairs the head cannot learn from.
    fn default() -> Self {
        Strategy {
            kind: StrategyKind::Hybrid,
            uncertainty_weight: 0.8,
            committee_weight: 0.2,
            diversity_pool: 3,
            quotas: BTreeMap::new(),
        }
    }
}

impl Strategy {
    /// The default weights with another kind.
    pub fn of(kind: StrategyKind) -> Strategy {
        Strategy {
            kind,
            ..Strategy::default()
        }
    }

    /// The strategy called `name`, with the default weights; an error that names the
    /// known strategies otherwise.
    ///
    /// # Errors
    ///
    /// A message for a name no strategy has.
    pub fn named(name: &str) -> Result<Strategy, String> {
        StrategyKind::parse(name).map(Strategy::of).ok_or_else(|| {
            let known: Vec<&str> = StrategyKind::ALL.iter().map(|k| k.name()).collect();
            format!("{name:?} is not one of {}", known.join(", "))
        })
    }
}

/// One unlabelled pair as the acquisition sees it.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    /// The head's calibrated probabilities, when a head exists.
    pub probs: Option<Vec<f32>>,
    /// The CoT candidates' labels, as level indexes.
    pub votes: Vec<usize>,
    /// Band and capability tags, for quotas.
    pub groups: Vec<String>,
}

/// The score of one pair under a strategy (the random strategy scores 0: order is the
/// shuffle).
pub fn score(strategy: &Strategy, c: &Candidate) -> f64 {
    let p = c.probs.as_deref();
    match strategy.kind {
        StrategyKind::Random => 0.0,
        StrategyKind::Entropy => p.map_or(0.0, entropy),
        StrategyKind::Margin => p.map_or(0.0, margin),
        StrategyKind::LeastConfidence => p.map_or(0.0, least_confidence),
        StrategyKind::Committee => committee(p, &c.votes),
        StrategyKind::Hybrid => {
            let total = strategy.uncertainty_weight + strategy.committee_weight;
            let u = p.map_or(0.0, margin);
            let k = committee(p, &c.votes);
            if total > 0.0 {
                (strategy.uncertainty_weight * u + strategy.committee_weight * k) / total
            } else {
                0.0
            }
        }
    }
}

/// Indexes of `pool` ranked best first by `strategy` (ties broken by a seeded shuffle, so
/// equal scores do not always favour the earliest pairs).
pub fn rank(strategy: &Strategy, pool: &[Candidate], seed: u64) -> Vec<(usize, f64)> {
    let mut order: Vec<usize> = (0..pool.len()).collect();
    Rng::new(seed).shuffle(&mut order);
    let mut scored: Vec<(usize, f64)> = order
        .into_iter()
        .map(|i| (i, score(strategy, &pool[i])))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

/// The next batch of `batch` pairs from `pool`: quotas first, then the best-scored; the
/// hybrid picks among the best `diversity_pool × batch` by k-center greedy over
/// `embeddings` (one per pool entry; pass an empty slice to turn diversity off).
pub fn select(
    strategy: &Strategy,
    pool: &[Candidate],
    embeddings: &[Vec<f32>],
    batch: usize,
    seed: u64,
) -> Vec<usize> {
    let ranked: Vec<usize> = rank(strategy, pool, seed)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let mut picked: Vec<usize> = Vec::with_capacity(batch);
    for (group, share) in &strategy.quotas {
        let want = (share.clamp(0.0, 1.0) * batch as f64).ceil() as usize;
        let have = picked
            .iter()
            .filter(|&&i| pool[i].groups.contains(group))
            .count();
        let more: Vec<usize> = ranked
            .iter()
            .copied()
            .filter(|i| !picked.contains(i) && pool[*i].groups.contains(group))
            .take(want.saturating_sub(have))
            .collect();
        picked.extend(more);
    }
    picked.truncate(batch);
    let rest: Vec<usize> = ranked.into_iter().filter(|i| !picked.contains(i)).collect();
    let need = batch.saturating_sub(picked.len());
    let diverse = strategy.kind == StrategyKind::Hybrid
        && strategy.diversity_pool > 1
        && embeddings.len() == pool.len();
    if diverse {
        let window: Vec<usize> = rest
            .iter()
            .copied()
            .take(need * strategy.diversity_pool)
            .collect();
        let chosen = picked.clone();
        picked.extend(k_center_greedy(embeddings, &window, &chosen, need));
    } else {
        picked.extend(rest.into_iter().take(need));
    }
    picked
}

/// Why a pair was chosen, for the workspace: e.g. "model unsure between L2 and L3
/// (0.41 vs 0.38); CoT candidates split 2:1 (L3:L2)". `levels` names the scale's levels.
pub fn explain(c: &Candidate, levels: &[String]) -> String {
    let name = |i: usize| {
        levels
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("level {i}"))
    };
    let mut parts = Vec::new();
    if let Some(p) = &c.probs {
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        if let [a, b, ..] = order.as_slice() {
            if margin(p) > 0.7 {
                parts.push(format!(
                    "model unsure between {} and {} ({:.2} vs {:.2})",
                    name(*a),
                    name(*b),
                    p[*a],
                    p[*b]
                ));
            } else {
                parts.push(format!(
                    "model says {} ({:.2})",
                    name(argmax(p)),
                    p[argmax(p)]
                ));
            }
        }
    } else {
        parts.push("no model yet".to_owned());
    }
    let counts = tally(&c.votes);
    if counts.len() > 1 {
        let mut by_count: Vec<(usize, usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let split: Vec<String> = by_count.iter().map(|(_, n)| n.to_string()).collect();
        let labels: Vec<String> = by_count.iter().map(|(l, _)| name(*l)).collect();
        parts.push(format!(
            "CoT candidates split {} ({})",
            split.join(":"),
            labels.join(":")
        ));
    } else if let (Some(m), Some(p)) = (majority(&c.votes), &c.probs) {
        if argmax(p) != m {
            parts.push(format!(
                "CoT candidates say {} but the model says {}",
                name(m),
                name(argmax(p))
            ));
        } else {
            parts.push(format!("CoT candidates agree on {}", name(m)));
        }
    } else if let Some(m) = majority(&c.votes) {
        parts.push(format!("CoT candidates agree on {}", name(m)));
    }
    if !c.groups.is_empty() {
        parts.push(format!("in {}", c.groups.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn uncertainty_is_zero_when_certain_and_one_when_uniform() {
        for f in [entropy, margin, least_confidence] {
            assert!(close(f(&[1.0, 0.0, 0.0, 0.0]), 0.0));
            assert!(close(f(&[0.25; 4]), 1.0));
        }
        // Hand-computed: p = (0.5, 0.3, 0.2).
        let h = -(0.5f64 * 0.5f64.ln() + 0.3 * 0.3f64.ln() + 0.2 * 0.2f64.ln()) / 3f64.ln();
        assert!((entropy(&[0.5, 0.3, 0.2]) - h).abs() < 1e-6);
        assert!((margin(&[0.5, 0.3, 0.2]) - 0.8).abs() < 1e-6);
        assert!((least_confidence(&[0.5, 0.3, 0.2]) - 0.75).abs() < 1e-6);
        // Margin prefers a close race between two even when a third is ruled out.
        assert!(margin(&[0.49, 0.51, 0.0]) > margin(&[0.5, 0.25, 0.25]));
    }

    #[test]
    fn committee_measures_candidates_against_each_other_and_the_head() {
        assert_eq!(vote_entropy(&[2, 2, 2]), 0.0);
        assert_eq!(vote_entropy(&[1]), 0.0);
        assert!(close(vote_entropy(&[0, 1, 2]), 1.0));
        // 2:1 split: -(2/3 ln 2/3 + 1/3 ln 1/3) / ln 3.
        let expect =
            -(2.0 / 3.0 * (2.0f64 / 3.0).ln() + 1.0 / 3.0 * (1.0f64 / 3.0).ln()) / 3f64.ln();
        assert!((vote_entropy(&[1, 1, 3]) - expect).abs() < 1e-9);
        assert_eq!(majority(&[1, 1, 3]), Some(1));
        assert_eq!(majority(&[1, 3]), None);
        let head = [0.1, 0.2, 0.7];
        assert!((head_disagreement(&head, &[2, 2]).unwrap() - 0.3).abs() < 1e-6);
        assert!((head_disagreement(&head, &[0, 0, 2]).unwrap() - 0.9).abs() < 1e-6);
        assert!((committee(Some(&head), &[0, 0]) - 0.45).abs() < 1e-6);
        assert_eq!(committee(None, &[0, 0]), 0.0);
    }

    #[test]
    fn k_center_greedy_spreads_over_clusters() {
        // Two tight clusters far apart: after the first pick the next comes from the other.
        let points = vec![
            vec![0.0, 0.0],
            vec![0.1, 0.0],
            vec![0.0, 0.1],
            vec![5.0, 5.0],
            vec![5.1, 5.0],
        ];
        assert_eq!(k_center_greedy(&points, &[0, 1, 2, 3, 4], &[], 2), [0, 4]);
        // With a point already chosen in the second cluster, the first pick is the farthest.
        assert_eq!(k_center_greedy(&points, &[0, 1, 2, 4], &[3], 1), [0]);
        assert_eq!(k_center_greedy(&points, &[1], &[], 5), [1]);
    }

    #[test]
    fn selection_ranks_fills_quotas_and_diversifies() {
        let cand = |p: [f32; 2], votes: Vec<usize>, group: &str| Candidate {
            probs: Some(p.to_vec()),
            votes,
            groups: vec![group.to_owned()],
        };
        let pool = vec![
            cand([0.5, 0.5], vec![0, 1], "head"), // most uncertain, candidates split
            cand([0.52, 0.48], vec![0, 1], "head"), // nearly as uncertain, same place
            cand([0.9, 0.1], vec![0, 0], "tail"), // sure, candidates agree
            cand([0.7, 0.3], vec![1, 1], "head"), // unsure-ish, candidates disagree with head
        ];
        let entropy_only = Strategy::of(StrategyKind::Entropy);
        assert_eq!(select(&entropy_only, &pool, &[], 2, 1), [0, 1]);
        let mut with_quota = entropy_only.clone();
        with_quota.quotas.insert("tail".into(), 0.5);
        assert_eq!(select(&with_quota, &pool, &[], 2, 1), [2, 0]);
        // The hybrid: 0 and 1 sit on one point, 3 elsewhere; diversity takes 0 then 3.
        let embeddings = vec![
            vec![0.0, 1.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![1.0, 0.0],
        ];
        assert_eq!(
            select(&Strategy::default(), &pool, &embeddings, 2, 1),
            [0, 3]
        );
        let random = Strategy::of(StrategyKind::Random);
        let a = select(&random, &pool, &[], 4, 9);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3]);
        assert_eq!(a, select(&random, &pool, &[], 4, 9), "seeded");
    }

    #[test]
    fn explanations_name_the_levels_in_doubt() {
        let levels: Vec<String> = ["L1", "L2", "L3", "L4"].map(String::from).to_vec();
        let c = Candidate {
            probs: Some(vec![0.05, 0.41, 0.38, 0.16]),
            votes: vec![2, 2, 1],
            groups: vec![],
        };
        assert_eq!(
            explain(&c, &levels),
            "model unsure between L2 and L3 (0.41 vs 0.38); CoT candidates split 2:1 (L3:L2)"
        );
        let c = Candidate {
            probs: Some(vec![0.9, 0.05, 0.05, 0.0]),
            votes: vec![3, 3],
            groups: vec!["tail".into()],
        };
        assert_eq!(
            explain(&c, &levels),
            "model says L1 (0.90); CoT candidates say L4 but the model says L1; in tail"
        );
        let c = Candidate {
            probs: None,
            votes: vec![],
            groups: vec![],
        };
        assert_eq!(explain(&c, &levels), "no model yet");
        assert_eq!(
            StrategyKind::parse("least-confidence"),
            Some(StrategyKind::LeastConfidence)
        );
    }

    #[test]
    fn every_strategy_is_found_by_its_name_and_an_unknown_name_lists_them() {
        for kind in StrategyKind::ALL {
            assert_eq!(Strategy::named(kind.name()), Ok(Strategy::of(kind)));
            assert!(!kind.describe().is_empty());
        }
        let err = Strategy::named("clairvoyant").unwrap_err();
        assert!(
            err.starts_with("\"clairvoyant\" is not one of random, entropy"),
            "{err}"
        );
        assert!(err.ends_with("hybrid"), "{err}");
    }
}
