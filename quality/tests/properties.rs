//! Property tests: every statistic against a brute-force reference, its invariances
//! (permuting raters, units or objects), its range, and its value for perfect agreement.

use proptest::prelude::*;
use relabel_quality::{
    Metric, ReliabilityData, Weights, cohen_kappa, cohen_kappa_from_table, fleiss_kappa,
    kendall_tau_b, kendall_w, krippendorff_alpha,
};

const METRICS: [Metric; 3] = [Metric::Nominal, Metric::Ordinal, Metric::Interval];
const WEIGHTS: [Weights; 3] = [Weights::Unweighted, Weights::Linear, Weights::Quadratic];

/// Both undefined, or both defined and within `tolerance`.
fn same(a: Option<f64>, b: Option<f64>, tolerance: f64) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= tolerance,
        _ => false,
    }
}

/// A units x raters table of ratings 1..=5 with about a quarter missing.
fn reliability_table() -> impl Strategy<Value = Vec<Vec<Option<u8>>>> {
    (1usize..=5).prop_flat_map(|raters| {
        prop::collection::vec(
            prop::collection::vec(prop::option::weighted(0.75, 1u8..=5), raters),
            0..=12,
        )
    })
}

fn alpha(table: &[Vec<Option<u8>>], metric: Metric) -> Option<f64> {
    let units: Vec<Vec<Option<f64>>> = table
        .iter()
        .map(|unit| unit.iter().map(|v| v.map(f64::from)).collect())
        .collect();
    krippendorff_alpha(&ReliabilityData::from_units(&units).expect("valid"), metric)
}

/// Krippendorff's alpha straight from the 2011 paper: a dense coincidence matrix over
/// the values 1..=5, every ordered pair within a unit, and the ordinal metric as the
/// sum over the marginals between two values.
fn reference_alpha(table: &[Vec<Option<u8>>], metric: Metric) -> Option<f64> {
    let mut o = [[0.0; 5]; 5];
    for unit in table {
        let values: Vec<usize> = unit.iter().flatten().map(|&v| usize::from(v) - 1).collect();
        let m = values.len();
        if m < 2 {
            continue;
        }
        for i in 0..m {
            for j in 0..m {
                if i != j {
                    o[values[i]][values[j]] += 1.0 / (m - 1) as f64;
                }
            }
        }
    }
    let n_c: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    let delta = |c: usize, k: usize| -> f64 {
        match metric {
            Metric::Nominal => f64::from(u8::from(c != k)),
            Metric::Interval => (c as f64 - k as f64).powi(2),
            _ => {
                let (low, high) = (c.min(k), c.max(k));
                let between: f64 = n_c[low..=high].iter().sum();
                (between - (n_c[c] + n_c[k]) / 2.0).powi(2)
            }
        }
    };
    let (mut observed, mut expected) = (0.0, 0.0);
    for c in 0..5 {
        for k in 0..5 {
            observed += o[c][k] * delta(c, k);
            expected += n_c[c] * n_c[k] * delta(c, k);
        }
    }
    if n == 0.0 || expected == 0.0 {
        return None;
    }
    Some(1.0 - (observed / n) / (expected / (n * (n - 1.0))))
}

fn shuffled(len: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..len).collect::<Vec<_>>()).prop_shuffle()
}

/// Two raters' labels on up to 30 items over 1..=5 categories.
fn two_raters() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (1usize..=5).prop_flat_map(|q| (Just(q), prop::collection::vec((0..q, 0..q), 0..=30)))
}

fn kappa(q: usize, items: &[(usize, usize)], weights: Weights) -> Option<f64> {
    let (a, b): (Vec<usize>, Vec<usize>) = items.iter().copied().unzip();
    cohen_kappa(&a, &b, q, weights).expect("valid")
}

/// Per subject, the category each of the same number of raters chose.
fn fleiss_ratings() -> impl Strategy<Value = (usize, Vec<Vec<usize>>)> {
    (1usize..=5, 1usize..=8).prop_flat_map(|(q, raters)| {
        (
            Just(q),
            prop::collection::vec(prop::collection::vec(0..q, raters), 0..=15),
        )
    })
}

fn counts(q: usize, ratings: &[Vec<usize>]) -> Vec<Vec<u64>> {
    ratings
        .iter()
        .map(|subject| {
            let mut row = vec![0; q];
            for &category in subject {
                row[category] += 1;
            }
            row
        })
        .collect()
}

/// Fleiss' kappa as in the 1971 paper: `(P-bar - P_e) / (1 - P_e)`.
fn reference_fleiss(counts: &[Vec<u64>]) -> Option<f64> {
    let n: u64 = counts.first()?.iter().sum();
    if n < 2 {
        return None;
    }
    let (n, subjects) = (n as f64, counts.len() as f64);
    let p_bar = counts
        .iter()
        .map(|row| (row.iter().map(|&c| (c * c) as f64).sum::<f64>() - n) / (n * (n - 1.0)))
        .sum::<f64>()
        / subjects;
    let p_e: f64 = (0..counts[0].len())
        .map(|j| (counts.iter().map(|row| row[j] as f64).sum::<f64>() / (subjects * n)).powi(2))
        .sum();
    (p_e < 1.0).then(|| (p_bar - p_e) / (1.0 - p_e))
}

/// Paired scores from a few distinct values, so that ties are common.
fn paired_scores() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((0u8..6, 0u8..6), 0..=25).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(x, y)| (f64::from(x), f64::from(y)))
            .collect()
    })
}

fn tau(pairs: &[(f64, f64)]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    kendall_tau_b(&x, &y).expect("valid")
}

/// Tau-b by checking every pair.
fn reference_tau(pairs: &[(f64, f64)]) -> Option<f64> {
    let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0.0, 0.0, 0.0, 0.0);
    for (i, a) in pairs.iter().enumerate() {
        for b in &pairs[i + 1..] {
            let sign = (a.0 - b.0).signum() * (a.1 - b.1).signum();
            if a.0 == b.0 {
                tied_x += 1.0;
            }
            if a.1 == b.1 {
                tied_y += 1.0;
            }
            if a.0 != b.0 && a.1 != b.1 {
                if sign > 0.0 {
                    concordant += 1.0;
                } else {
                    discordant += 1.0;
                }
            }
        }
    }
    let all = (pairs.len() * pairs.len().saturating_sub(1) / 2) as f64;
    let denominator = ((all - tied_x) * (all - tied_y)).sqrt();
    (denominator > 0.0).then(|| (concordant - discordant) / denominator)
}

/// `m` raters' scores for the same `n` objects, from a few distinct values.
fn rankings() -> impl Strategy<Value = Vec<Vec<f64>>> {
    (1usize..=6, 0usize..=8).prop_flat_map(|(m, n)| {
        prop::collection::vec(prop::collection::vec((0u8..5).prop_map(f64::from), n), m)
    })
}

fn w(rankings: &[Vec<f64>]) -> Option<f64> {
    kendall_w(rankings).expect("valid")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn alpha_matches_the_papers_method(table in reliability_table()) {
        for metric in METRICS {
            let (actual, expected) = (alpha(&table, metric), reference_alpha(&table, metric));
            prop_assert!(same(actual, expected, 1e-9), "{metric:?}: {actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn alpha_ignores_rater_and_unit_order(
        (table, raters, units) in reliability_table().prop_flat_map(|table| {
            let raters = table.first().map_or(0, Vec::len);
            let units = table.len();
            (Just(table), shuffled(raters), shuffled(units))
        })
    ) {
        let by_rater: Vec<Vec<Option<u8>>> = table
            .iter()
            .map(|unit| raters.iter().map(|&r| unit[r]).collect())
            .collect();
        let by_unit: Vec<Vec<Option<u8>>> = units.iter().map(|&u| table[u].clone()).collect();
        for metric in METRICS {
            let original = alpha(&table, metric);
            prop_assert!(same(original, alpha(&by_rater, metric), 1e-12));
            prop_assert!(same(original, alpha(&by_unit, metric), 1e-12));
            if let Some(alpha) = original {
                prop_assert!(alpha <= 1.0 + 1e-12, "{metric:?}: {alpha}");
            }
        }
    }

    #[test]
    fn alpha_is_one_for_identical_raters(
        truth in prop::collection::vec(1u8..=5, 1..=12),
        present in prop::collection::vec(prop::collection::vec(prop::bool::weighted(0.75), 3), 12),
    ) {
        // Raters agree wherever both rated; which ratings are missing may differ.
        let table: Vec<Vec<Option<u8>>> = truth
            .iter()
            .zip(&present)
            .map(|(&value, present)| present.iter().map(|&p| p.then_some(value)).collect())
            .collect();
        for metric in METRICS {
            if let Some(alpha) = alpha(&table, metric) {
                prop_assert_eq!(alpha, 1.0, "{:?}", metric);
            }
        }
    }

    #[test]
    fn cohen_matches_the_textbook_and_the_table((q, items) in two_raters()) {
        // Unweighted kappa as (p_o - p_e) / (1 - p_e).
        let n = items.len() as f64;
        let agree = items.iter().filter(|(a, b)| a == b).count() as f64;
        let chance: f64 = (0..q)
            .map(|c| {
                let a = items.iter().filter(|item| item.0 == c).count() as f64;
                let b = items.iter().filter(|item| item.1 == c).count() as f64;
                a * b / (n * n)
            })
            .sum();
        let textbook = (n > 0.0 && chance < 1.0).then(|| (agree / n - chance) / (1.0 - chance));
        prop_assert!(same(kappa(q, &items, Weights::Unweighted), textbook, 1e-12));

        let mut table = vec![vec![0u64; q]; q];
        for &(a, b) in &items {
            table[a][b] += 1;
        }
        for weights in WEIGHTS {
            let from_table = cohen_kappa_from_table(&table, weights).expect("valid");
            prop_assert!(same(kappa(q, &items, weights), from_table, 1e-12));
        }
    }

    #[test]
    fn cohen_ignores_rater_and_item_order(
        ((q, items), order) in two_raters().prop_flat_map(|(q, items)| {
            let len = items.len();
            (Just((q, items)), shuffled(len))
        })
    ) {
        let swapped: Vec<(usize, usize)> = items.iter().map(|&(a, b)| (b, a)).collect();
        let reordered: Vec<(usize, usize)> = order.iter().map(|&i| items[i]).collect();
        for weights in WEIGHTS {
            let original = kappa(q, &items, weights);
            prop_assert!(same(original, kappa(q, &swapped, weights), 1e-12));
            prop_assert!(same(original, kappa(q, &reordered, weights), 1e-12));
            if let Some(kappa) = original {
                prop_assert!(kappa <= 1.0 + 1e-12, "{weights:?}: {kappa}");
            }
        }
    }

    #[test]
    fn cohen_is_one_for_identical_raters(q in 1usize..=5, labels in prop::collection::vec(0usize..5, 0..=30)) {
        let labels: Vec<usize> = labels.into_iter().map(|l| l % q).collect();
        for weights in WEIGHTS {
            if let Some(kappa) = cohen_kappa(&labels, &labels, q, weights).expect("valid") {
                prop_assert_eq!(kappa, 1.0);
            }
        }
    }

    #[test]
    fn fleiss_matches_the_paper((q, ratings) in fleiss_ratings()) {
        let counts = counts(q, &ratings);
        let actual = fleiss_kappa(&counts).expect("valid");
        prop_assert!(same(actual, reference_fleiss(&counts), 1e-9), "{actual:?}");
        if let Some(kappa) = actual {
            prop_assert!(kappa <= 1.0 + 1e-12, "{kappa}");
        }
    }

    #[test]
    fn fleiss_ignores_subject_and_category_order(
        ((q, ratings), subjects, categories) in fleiss_ratings().prop_flat_map(|(q, ratings)| {
            let len = ratings.len();
            (Just((q, ratings)), shuffled(len), shuffled(q))
        })
    ) {
        let counts = counts(q, &ratings);
        let original = fleiss_kappa(&counts).expect("valid");
        let by_subject: Vec<Vec<u64>> = subjects.iter().map(|&s| counts[s].clone()).collect();
        let by_category: Vec<Vec<u64>> = counts
            .iter()
            .map(|row| categories.iter().map(|&c| row[c]).collect())
            .collect();
        prop_assert!(same(original, fleiss_kappa(&by_subject).expect("valid"), 1e-12));
        prop_assert!(same(original, fleiss_kappa(&by_category).expect("valid"), 1e-12));
    }

    #[test]
    fn fleiss_is_one_for_identical_raters(
        q in 1usize..=5,
        raters in 2u64..=8,
        labels in prop::collection::vec(0usize..5, 0..=15),
    ) {
        let counts: Vec<Vec<u64>> = labels
            .iter()
            .map(|&label| (0..q).map(|c| if c == label % q { raters } else { 0 }).collect())
            .collect();
        if let Some(kappa) = fleiss_kappa(&counts).expect("valid") {
            prop_assert_eq!(kappa, 1.0);
        }
    }

    #[test]
    fn tau_matches_pairwise_counting(pairs in paired_scores()) {
        let actual = tau(&pairs);
        prop_assert!(same(actual, reference_tau(&pairs), 1e-12), "{actual:?}");
        if let Some(tau) = actual {
            prop_assert!((-1.0..=1.0).contains(&tau), "{tau}");
        }
    }

    #[test]
    fn tau_ignores_order_and_is_symmetric(
        (pairs, order) in paired_scores().prop_flat_map(|pairs| {
            let len = pairs.len();
            (Just(pairs), shuffled(len))
        })
    ) {
        let original = tau(&pairs);
        let reordered: Vec<(f64, f64)> = order.iter().map(|&i| pairs[i]).collect();
        let swapped: Vec<(f64, f64)> = pairs.iter().map(|&(x, y)| (y, x)).collect();
        prop_assert!(same(original, tau(&reordered), 1e-12));
        prop_assert!(same(original, tau(&swapped), 1e-12));
        let identical: Vec<(f64, f64)> = pairs.iter().map(|&(x, _)| (x, x)).collect();
        if let Some(tau) = tau(&identical) {
            prop_assert_eq!(tau, 1.0);
        }
    }

    #[test]
    fn tau_of_a_ranking_and_its_reverse_is_minus_one(ranking in (2usize..=40).prop_flat_map(shuffled)) {
        let x: Vec<f64> = ranking.iter().map(|&r| r as f64 + 1.0).collect();
        let reversed: Vec<f64> = x.iter().map(|r| x.len() as f64 + 1.0 - r).collect();
        prop_assert_eq!(kendall_tau_b(&x, &reversed).expect("valid"), Some(-1.0));
        prop_assert_eq!(kendall_tau_b(&x, &x).expect("valid"), Some(1.0));
    }

    #[test]
    fn w_ignores_rater_and_object_order(
        (rankings, raters, objects) in rankings().prop_flat_map(|rankings| {
            let (m, n) = (rankings.len(), rankings[0].len());
            (Just(rankings), shuffled(m), shuffled(n))
        })
    ) {
        let original = w(&rankings);
        let by_rater: Vec<Vec<f64>> = raters.iter().map(|&r| rankings[r].clone()).collect();
        let by_object: Vec<Vec<f64>> = rankings
            .iter()
            .map(|ranking| objects.iter().map(|&o| ranking[o]).collect())
            .collect();
        prop_assert!(same(original, w(&by_rater), 1e-12));
        prop_assert!(same(original, w(&by_object), 1e-12));
        if let Some(w) = original {
            prop_assert!((0.0..=1.0).contains(&w), "{w}");
        }
    }

    #[test]
    fn w_is_one_for_identical_raters(ranking in prop::collection::vec(0u8..5, 0..=8), m in 1usize..=6) {
        let ranking: Vec<f64> = ranking.into_iter().map(f64::from).collect();
        if let Some(w) = w(&vec![ranking; m]) {
            prop_assert_eq!(w, 1.0);
        }
    }

    #[test]
    fn w_of_two_raters_follows_spearman(
        (a, b) in (2usize..=12).prop_flat_map(|n| (shuffled(n), shuffled(n)))
    ) {
        // Without ties, W = (rho + 1) / 2 for two raters, rho = 1 - 6 sum d^2 / (n^3 - n).
        let n = a.len() as f64;
        let d2: f64 = a.iter().zip(&b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
        let rho = 1.0 - 6.0 * d2 / (n * n * n - n);
        let ranks = |r: &[usize]| r.iter().map(|&x| x as f64 + 1.0).collect::<Vec<_>>();
        let actual = w(&[ranks(&a), ranks(&b)]);
        prop_assert!(same(actual, Some((rho + 1.0) / 2.0), 1e-12), "{actual:?} vs {rho}");
    }
}
