//! Kendall's rank statistics: tau-b between two rankings, W (concordance) across many.

use crate::error::{AgreementError, row_length};

/// Kendall's tau-b between two rankings of the same objects: `x[i]` and `y[i]` are the
/// ranks object `i` got. Tied objects share a rank. Only the order of the values
/// matters, so any scores that sort the same way as the ranks give the same tau.
///
/// Tau-b is `(n_c - n_d) / sqrt((n_0 - n_x) (n_0 - n_y))` over the `n_0` pairs of
/// objects, with `n_c` concordant and `n_d` discordant pairs and `n_x` and `n_y` pairs
/// tied in `x` and in `y`; it lies in `[-1, 1]`. This is what `scipy.stats.kendalltau`
/// computes by default. It takes `O(n log n)` time (Knight's algorithm).
///
/// Returns `Ok(None)` where tau-b is undefined: fewer than two objects, or a ranking
/// that ties every object.
///
/// # Errors
///
/// [`AgreementError::LengthMismatch`] if the rankings differ in length,
/// [`AgreementError::NonFinite`] for a NaN or infinite rank (row 0 is `x`, row 1 is `y`).
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Result<Option<f64>, AgreementError> {
    if x.len() != y.len() {
        return Err(AgreementError::LengthMismatch {
            left: x.len(),
            right: y.len(),
        });
    }
    let mut pairs: Vec<(usize, usize)> = dense_ranks(x, 0)?
        .into_iter()
        .zip(dense_ranks(y, 1)?)
        .collect();
    pairs.sort_unstable();
    let tied_x = tied_pairs(pairs.chunk_by(|a, b| a.0 == b.0));
    let tied_both = tied_pairs(pairs.chunk_by(|a, b| a == b));
    // With the pairs sorted by x, then y, every inversion left in the y sequence is a
    // discordant pair: ties in x were ordered by y and so invert nothing.
    let mut ys: Vec<usize> = pairs.iter().map(|&(_, y)| y).collect();
    let discordant = sort_counting_inversions(&mut ys);
    let tied_y = tied_pairs(ys.chunk_by(|a, b| a == b));

    let n = ys.len() as u128;
    let all = n * n.saturating_sub(1) / 2;
    let (untied_x, untied_y) = (all - tied_x, all - tied_y);
    if untied_x == 0 || untied_y == 0 {
        return Ok(None);
    }
    // n_c - n_d, where n_c = all - n_d - (pairs tied in x or y or both).
    let difference = (all + tied_both) as i128 - (tied_x + tied_y + 2 * discordant) as i128;
    // One rounded product and one square root, so that equal tie counts give an exact
    // denominator; rounding must still not push a perfect (anti)correlation past +-1.
    let tau = difference as f64 / (untied_x as f64 * untied_y as f64).sqrt();
    Ok(Some(tau.clamp(-1.0, 1.0)))
}

/// Kendall's W, the coefficient of concordance of `m` raters who each ranked the same
/// `n` objects: `rankings[r][i]` is the rank rater `r` gave object `i`. Tied objects
/// share a rank.
///
/// Each rater's values are turned into midranks first (tied objects get the mean of the
/// positions they span), so `1 2 2 4`, `1 2 2 3` and `1 2.5 2.5 4` all mean the same, as
/// do scores that sort the same way. With `R_i` the rank sums and `T_r = sum (t^3 - t)`
/// over the groups of `t` objects rater `r` tied,
/// `W = 12 sum_i (R_i - m (n + 1) / 2)^2 / (m^2 (n^3 - n) - m sum_r T_r)`, which lies in
/// `[0, 1]`: 1 when all raters rank alike. A single rater trivially gives 1.
///
/// Returns `Ok(None)` where W is undefined: no raters, fewer than two objects, or every
/// rater tying every object.
///
/// # Errors
///
/// [`AgreementError::RaggedRows`] if the raters ranked different numbers of objects,
/// [`AgreementError::NonFinite`] for a NaN or infinite rank.
pub fn kendall_w<R: AsRef<[f64]>>(rankings: &[R]) -> Result<Option<f64>, AgreementError> {
    let objects = row_length(rankings)?;
    for (row, ranking) in rankings.iter().enumerate() {
        if let Some(column) = ranking.as_ref().iter().position(|v| !v.is_finite()) {
            return Err(AgreementError::NonFinite { row, column });
        }
    }
    if rankings.is_empty() || objects < 2 {
        return Ok(None);
    }

    let n = objects as u128;
    let mut rank_sums = vec![0.0; objects];
    // m^2 (n^3 - n) - m sum_r T_r, summed as m times sum_r (n^3 - n - T_r) so that it
    // stays an exact integer and is zero exactly when every rater ties everything.
    let mut untied: u128 = 0;
    for ranking in rankings {
        let (ranks, ties) = midranks(ranking.as_ref());
        for (sum, rank) in rank_sums.iter_mut().zip(ranks) {
            *sum += rank;
        }
        untied += n * n * n - n - ties;
    }
    if untied == 0 {
        return Ok(None);
    }
    let raters = rankings.len() as f64;
    let mean = raters * (objects as f64 + 1.0) / 2.0;
    let spread: f64 = rank_sums.iter().map(|sum| (sum - mean).powi(2)).sum();
    let w = 12.0 * spread / (raters * untied as f64);
    // Cauchy-Schwarz bounds W by 1; rounding must not push identical rankings past it.
    Ok(Some(w.clamp(0.0, 1.0)))
}

/// Replaces each value by its position among the distinct values, checking finiteness.
fn dense_ranks(values: &[f64], row: usize) -> Result<Vec<usize>, AgreementError> {
    if let Some(column) = values.iter().position(|v| !v.is_finite()) {
        return Err(AgreementError::NonFinite { row, column });
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0; values.len()];
    let mut rank = 0;
    for window in order.windows(2) {
        // `!=` rather than total order, so that -0.0 and 0.0 tie.
        if values[window[0]] != values[window[1]] {
            rank += 1;
        }
        ranks[window[1]] = rank;
    }
    Ok(ranks)
}

/// The 1-based midranks of finite values and the tie term `sum (t^3 - t)`.
fn midranks(values: &[f64]) -> (Vec<f64>, u128) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut ties = 0;
    let mut start = 0;
    for group in order.chunk_by(|&a, &b| values[a] == values[b]) {
        let t = group.len();
        // The group spans positions start + 1 ..= start + t.
        let midrank = start as f64 + (t as f64 + 1.0) / 2.0;
        for &object in group {
            ranks[object] = midrank;
        }
        let t = t as u128;
        ties += t * t * t - t;
        start += group.len();
    }
    (ranks, ties)
}

/// `sum t (t - 1) / 2` over groups of sizes `t`: the pairs within groups.
fn tied_pairs<'a, T: 'a>(groups: impl Iterator<Item = &'a [T]>) -> u128 {
    groups
        .map(|group| {
            let t = group.len() as u128;
            t * (t - 1) / 2
        })
        .sum()
}

/// Sorts stably by bottom-up merge sort and returns the number of pairs that were out
/// of order (`i < j` with `values[i] > values[j]`).
fn sort_counting_inversions(values: &mut [usize]) -> u128 {
    let n = values.len();
    let mut merged = values.to_vec();
    let mut inversions = 0;
    let mut width = 1;
    while width < n {
        for start in (0..n).step_by(2 * width) {
            let middle = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut left, mut right, mut out) = (start, middle, start);
            while left < middle && right < end {
                // Taking equal values from the left keeps ties from counting.
                if values[right] < values[left] {
                    merged[out] = values[right];
                    right += 1;
                    inversions += (middle - left) as u128;
                } else {
                    merged[out] = values[left];
                    left += 1;
                }
                out += 1;
            }
            merged[out..out + middle - left].copy_from_slice(&values[left..middle]);
            out += middle - left;
            merged[out..end].copy_from_slice(&values[right..end]);
        }
        values.copy_from_slice(&merged);
        width *= 2;
    }
    inversions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tau(x: &[f64], y: &[f64]) -> f64 {
        kendall_tau_b(x, y).expect("valid").expect("defined")
    }

    fn w(rankings: &[[f64; 4]]) -> f64 {
        kendall_w(rankings).expect("valid").expect("defined")
    }

    #[test]
    fn scipy_docstring_example() {
        // scipy.stats.kendalltau docs: x = [12, 2, 1, 12, 2], y = [1, 4, 7, 1, 0];
        // scipy 1.17.1 gives -0.4714045207910316. By hand: 10 pairs, 2 tied in x, 1 in
        // y, 1 in both, n_c - n_d = -4, so tau = -4 / sqrt(8 * 9) = -sqrt(2) / 3.
        let tau = tau(&[12., 2., 1., 12., 2.], &[1., 4., 7., 1., 0.]);
        assert!((tau - -(2f64.sqrt()) / 3.).abs() < 1e-15, "{tau}");
        assert!((tau - -0.471_404_520_791_031_6).abs() < 1e-15, "{tau}");
    }

    #[test]
    fn midrank_vectors_with_ties() {
        // x = [1.5, 1.5, 3, 4, 5], y = [1, 2, 3.5, 3.5, 5]: one pair tied in each, the
        // other 8 concordant, so tau = 8 / sqrt(9 * 9) = 8/9; scipy 1.17.1 gives
        // 0.8888888888888888.
        let tau1 = tau(&[1.5, 1.5, 3., 4., 5.], &[1., 2., 3.5, 3.5, 5.]);
        assert!((tau1 - 8. / 9.).abs() < 1e-15, "{tau1}");
        // x = [1, 2, 2, 4, 5, 5, 5, 8], y = [2, 1, 3, 3, 6, 5, 7, 8]: scipy 1.17.1
        // kendalltau gives 0.8249579113843055.
        let tau2 = tau(
            &[1., 2., 2., 4., 5., 5., 5., 8.],
            &[2., 1., 3., 3., 6., 5., 7., 8.],
        );
        assert!((tau2 - 0.824_957_911_384_305_5).abs() < 1e-15, "{tau2}");
    }

    #[test]
    fn tau_extremes_and_undefined() {
        let up = [1., 2., 3., 4.];
        let down = [4., 3., 2., 1.];
        assert_eq!(tau(&up, &up), 1.0);
        assert_eq!(tau(&up, &down), -1.0);
        assert_eq!(kendall_tau_b(&[], &[]), Ok(None));
        assert_eq!(kendall_tau_b(&[1.], &[1.]), Ok(None));
        assert_eq!(kendall_tau_b(&up, &[2., 2., 2., 2.]), Ok(None));
        assert_eq!(tau(&[0., -0., 1.], &[5., 5., 6.]), 1.0);
    }

    #[test]
    fn tau_rejects_malformed_input() {
        assert_eq!(
            kendall_tau_b(&[1., 2.], &[1.]),
            Err(AgreementError::LengthMismatch { left: 2, right: 1 })
        );
        assert_eq!(
            kendall_tau_b(&[1., 2.], &[1., f64::NAN]),
            Err(AgreementError::NonFinite { row: 1, column: 1 })
        );
    }

    #[test]
    fn w_without_ties() {
        // By hand: 3 raters rank 4 objects 1 2 3 4 / 2 1 3 4 / 1 3 2 4. Rank sums
        // 4 6 8 12 around the mean 3 * 5 / 2 = 7.5, S = 3.5^2 + 1.5^2 + 0.5^2 + 4.5^2 =
        // 35, W = 12 * 35 / (3^2 * (4^3 - 4)) = 420 / 540 = 7/9. The same as
        // scipy 1.17.1 friedmanchisquare(...).statistic / (m (n - 1)) = 0.7777777777777778.
        let w = w(&[[1., 2., 3., 4.], [2., 1., 3., 4.], [1., 3., 2., 4.]]);
        assert!((w - 7. / 9.).abs() < 1e-15, "{w}");
    }

    #[test]
    fn w_with_ties() {
        // By hand: 1 2 3 4 / 1.5 1.5 3 4 / 1 2.5 2.5 4. Rank sums 3.5 6 8.5 12, S = 16 +
        // 2.25 + 1 + 20.25 = 39.5. Two raters tie one pair each, T = 2^3 - 2 = 6 each, so
        // W = 12 * 39.5 / (9 * 60 - 3 * 12) = 474 / 504 = 79/84 (0.8778 without the
        // correction). scipy 1.17.1 friedmanchisquare, which applies the same tie
        // correction, divided by m (n - 1) gives 0.9404761904761911.
        let tied = [[1., 2., 3., 4.], [1.5, 1.5, 3., 4.], [1., 2.5, 2.5, 4.]];
        let expected = 79. / 84.;
        assert!((w(&tied) - expected).abs() < 1e-15, "{}", w(&tied));
        // Other tie conventions and plain scores mean the same rankings.
        let standard = [[1., 2., 3., 4.], [1., 1., 3., 4.], [1., 2., 2., 4.]];
        let dense = [[1., 2., 3., 4.], [1., 1., 2., 3.], [1., 2., 2., 3.]];
        let scores = [[0.1, 0.2, 0.3, 0.4], [7., 7., 8., 9.], [-5., 0., 0., 5.]];
        for rankings in [standard, dense, scores] {
            assert!((w(&rankings) - expected).abs() < 1e-15, "{rankings:?}");
        }
    }

    #[test]
    fn w_extremes_and_undefined() {
        let same = [[1., 2., 3., 4.]; 3];
        assert_eq!(w(&same), 1.0);
        assert_eq!(w(&[[4., 1., 3., 2.]]), 1.0);
        // Two raters in exactly opposite order cancel out.
        assert_eq!(w(&[[1., 2., 3., 4.], [4., 3., 2., 1.]]), 0.0);
        assert_eq!(kendall_w::<[f64; 4]>(&[]), Ok(None));
        assert_eq!(kendall_w(&[[1.], [1.]]), Ok(None));
        assert_eq!(kendall_w(&[[2., 2., 2.], [1., 1., 1.]]), Ok(None));
    }

    #[test]
    fn w_rejects_malformed_input() {
        assert_eq!(
            kendall_w(&[vec![1., 2.], vec![1.]]),
            Err(AgreementError::RaggedRows {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            kendall_w(&[[1., 2.], [f64::INFINITY, 1.]]),
            Err(AgreementError::NonFinite { row: 1, column: 0 })
        );
    }

    #[test]
    fn inversions_are_counted() {
        let mut values = vec![3, 1, 2, 2, 0];
        // (3,1) (3,2) (3,2) (3,0) (1,0) (2,0) (2,0); the equal 2s are no inversion.
        assert_eq!(sort_counting_inversions(&mut values), 7);
        assert_eq!(values, [0, 1, 2, 2, 3]);
    }
}
