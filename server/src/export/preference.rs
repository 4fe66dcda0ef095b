//! Preference pairs from human rankings of a pair's CoT candidates: several annotators'
//! rankings are aggregated with a Borda count (with ties), candidate pairs the annotators
//! contradict each other on are dropped, and the rest become (chosen, rejected) pairs.

use std::collections::BTreeSet;

/// Which candidate pairs of an aggregated order to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PairSelection {
    /// Every pair of candidates in different places.
    #[default]
    All,
    /// Only candidates in adjacent places.
    Adjacent,
    /// The best place against every other.
    BestVsRest,
}

/// One preference: `chosen` over `rejected` (candidate positions), with its margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Preference {
    /// The better candidate.
    pub chosen: usize,
    /// The worse candidate.
    pub rejected: usize,
    /// The distance between their places in the aggregated order, times the share of
    /// annotators who ranked `chosen` strictly above `rejected`.
    pub margin: f64,
}

/// Borda scores with ties: a candidate scores one point for each candidate ranked below
/// it and half a point for each tied with it, summed over the rankings.
pub fn borda(rankings: &[Vec<Vec<usize>>], candidates: usize) -> Vec<f64> {
    let mut score = vec![0.0; candidates];
    for ranking in rankings {
        let mut below = candidates;
        for group in ranking {
            below -= group.len();
            for &c in group {
                if let Some(s) = score.get_mut(c) {
                    *s += below as f64 + (group.len() - 1) as f64 / 2.0;
                }
            }
        }
    }
    score
}

/// The aggregated order: candidates by Borda score, best first; equal scores tie.
pub fn aggregate(rankings: &[Vec<Vec<usize>>], candidates: usize) -> Vec<Vec<usize>> {
    let score = borda(rankings, candidates);
    let mut order: Vec<usize> = (0..candidates).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for c in order {
        match groups.last_mut() {
            Some(g) if g.first().is_some_and(|&f| score[f] == score[c]) => g.push(c),
            _ => groups.push(vec![c]),
        }
    }
    groups
}

/// Candidate pairs on which at least one annotator ranked each side strictly above the
/// other: the annotators contradict each other there.
pub fn contradictions(rankings: &[Vec<Vec<usize>>]) -> BTreeSet<(usize, usize)> {
    let mut above: BTreeSet<(usize, usize)> = BTreeSet::new();
    for ranking in rankings {
        for (g, group) in ranking.iter().enumerate() {
            for later in &ranking[g + 1..] {
                for &a in group {
                    for &b in later {
                        above.insert((a, b));
                    }
                }
            }
        }
    }
    above
        .iter()
        .filter(|(a, b)| above.contains(&(*b, *a)))
        .map(|&(a, b)| (a.min(b), a.max(b)))
        .collect()
}

/// The preference pairs of one pair's rankings.
pub fn from_rankings(
    rankings: &[Vec<Vec<usize>>],
    candidates: usize,
    selection: PairSelection,
) -> Vec<Preference> {
    if rankings.is_empty() {
        return Vec::new();
    }
    let order = aggregate(rankings, candidates);
    let contradicted = contradictions(rankings);
    let place = |c: usize| {
        order
            .iter()
            .position(|g| g.contains(&c))
            .unwrap_or(usize::MAX)
    };
    let strictly_above = |a: usize, b: usize| {
        rankings
            .iter()
            .filter(|r| {
                let pa = r.iter().position(|g| g.contains(&a));
                let pb = r.iter().position(|g| g.contains(&b));
                matches!((pa, pb), (Some(x), Some(y)) if x < y)
            })
            .count()
    };
    let mut out = Vec::new();
    for (i, group) in order.iter().enumerate() {
        let later: &[Vec<usize>] = match selection {
            PairSelection::All => &order[i + 1..],
            PairSelection::Adjacent => &order[(i + 1).min(order.len())..(i + 2).min(order.len())],
            PairSelection::BestVsRest if i == 0 => &order[1..],
            PairSelection::BestVsRest => &[],
        };
        for &chosen in group {
            for rejected in later.iter().flatten().copied() {
                if contradicted.contains(&(chosen.min(rejected), chosen.max(rejected))) {
                    continue;
                }
                let support = strictly_above(chosen, rejected);
                if support == 0 {
                    continue;
                }
                out.push(Preference {
                    chosen,
                    rejected,
                    margin: (place(rejected) - place(chosen)) as f64 * support as f64
                        / rankings.len() as f64,
                });
            }
        }
    }
    out
}

/// Preference pairs from labels alone: each candidate that reached the final label is
/// chosen over each that did not; the margin is how many levels the rejected one is off
/// (the whole scale when it reached no label).
pub fn from_labels(
    candidate_levels: &[Option<usize>],
    final_level: usize,
    levels: usize,
) -> Vec<Preference> {
    let right: Vec<usize> = (0..candidate_levels.len())
        .filter(|&c| candidate_levels[c] == Some(final_level))
        .collect();
    let mut out = Vec::new();
    for &chosen in &right {
        for (rejected, level) in candidate_levels.iter().enumerate() {
            if *level == Some(final_level) {
                continue;
            }
            let off = level.map_or(levels, |l| l.abs_diff(final_level));
            out.push(Preference {
                chosen,
                rejected,
                margin: off as f64,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[Preference]) -> Vec<(usize, usize)> {
        p.iter().map(|x| (x.chosen, x.rejected)).collect()
    }

    #[test]
    fn one_ranking_gives_every_untied_pair() {
        let r = vec![vec![vec![2], vec![0, 1]]];
        assert_eq!(
            pairs(&from_rankings(&r, 3, PairSelection::All)),
            [(2, 0), (2, 1)]
        );
        assert_eq!(borda(&r, 3), [0.5, 0.5, 2.0]);
    }

    #[test]
    fn several_annotators_aggregate_by_borda_and_drop_contradictions() {
        // Hand-computed: scores over three rankings of four candidates.
        //   r1: 0 > 1 > 2 > 3     -> 3, 2, 1, 0
        //   r2: 0 > 2 > 1 > 3     -> 3, 1, 2, 0
        //   r3: 0 > {1, 2} > 3    -> 3, 1.5, 1.5, 0
        // Borda: 0 = 9, 1 = 4.5, 2 = 4.5, 3 = 0 -> order 0, {1, 2}, 3.
        // 1 and 2 are contradicted (r1 has 1 > 2, r2 has 2 > 1) and tied anyway.
        let r = vec![
            vec![vec![0], vec![1], vec![2], vec![3]],
            vec![vec![0], vec![2], vec![1], vec![3]],
            vec![vec![0], vec![1, 2], vec![3]],
        ];
        assert_eq!(borda(&r, 4), [9.0, 4.5, 4.5, 0.0]);
        assert_eq!(aggregate(&r, 4), [vec![0], vec![1, 2], vec![3]]);
        assert_eq!(contradictions(&r), BTreeSet::from([(1, 2)]));
        let all = from_rankings(&r, 4, PairSelection::All);
        assert_eq!(pairs(&all), [(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)]);
        // 0 over 3: two places apart, all three annotators agree.
        assert_eq!(all[2].margin, 2.0);
        assert_eq!(
            pairs(&from_rankings(&r, 4, PairSelection::Adjacent)),
            [(0, 1), (0, 2), (1, 3), (2, 3)]
        );
        assert_eq!(
            pairs(&from_rankings(&r, 4, PairSelection::BestVsRest)),
            [(0, 1), (0, 2), (0, 3)]
        );
    }

    #[test]
    fn a_contradiction_outside_a_tie_is_dropped_and_support_scales_the_margin() {
        // r1: 0 > 1 > 2, r2: 1 > 0 > 2, r3: 0 > 1 > 2. Borda 0 = 5, 1 = 4, 2 = 0.
        let r = vec![
            vec![vec![0], vec![1], vec![2]],
            vec![vec![1], vec![0], vec![2]],
            vec![vec![0], vec![1], vec![2]],
        ];
        let all = from_rankings(&r, 3, PairSelection::All);
        assert_eq!(pairs(&all), [(0, 2), (1, 2)], "0 vs 1 is contradicted");
        assert_eq!(all[0].margin, 2.0);
        assert_eq!(all[1].margin, 1.0);
        // A pair only some annotators separate keeps a smaller margin.
        let partial = vec![vec![vec![0], vec![1]], vec![vec![0, 1]]];
        let p = from_rankings(&partial, 2, PairSelection::All);
        assert_eq!(pairs(&p), [(0, 1)]);
        assert_eq!(p[0].margin, 0.5);
    }

    #[test]
    fn labels_choose_the_candidates_that_reached_the_final_label() {
        let p = from_labels(&[Some(3), Some(1), None, Some(3)], 3, 4);
        assert_eq!(pairs(&p), [(0, 1), (0, 2), (3, 1), (3, 2)]);
        assert_eq!(p[0].margin, 2.0);
        assert_eq!(p[1].margin, 4.0);
        assert!(from_labels(&[Some(1), Some(2)], 3, 4).is_empty());
    }
}
