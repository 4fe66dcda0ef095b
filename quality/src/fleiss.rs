//! Fleiss' kappa: chance-corrected agreement of many raters on unordered categories.

use crate::error::{AgreementError, row_length};

/// Fleiss' kappa (Fleiss 1971) from a table of counts: `counts[i][j]` is how many raters
/// put subject `i` in category `j`. Every subject must be rated by the same number of
/// raters, though not necessarily the same people.
///
/// Returns `Ok(None)` where kappa is undefined: no subjects, fewer than two raters per
/// subject, or every rating in one category, so that chance agreement is already
/// perfect.
///
/// # Errors
///
/// [`AgreementError::RaggedRows`] if the rows differ in length,
/// [`AgreementError::UnequalRaters`] if a subject's counts add up to a different number
/// of raters than the first subject's.
pub fn fleiss_kappa<R: AsRef<[u64]>>(counts: &[R]) -> Result<Option<f64>, AgreementError> {
    let categories = row_length(counts)?;
    // u128 so that no table of u64 counts that fits in memory can overflow the sums.
    let raters_of = |row: &R| row.as_ref().iter().map(|&n| u128::from(n)).sum::<u128>();
    let raters = counts.first().map_or(0, raters_of);
    for (subject, row) in counts.iter().enumerate() {
        let found = raters_of(row);
        if found != raters {
            return Err(AgreementError::UnequalRaters {
                subject,
                expected: raters,
                found,
            });
        }
    }
    if counts.is_empty() || raters < 2 {
        return Ok(None);
    }

    // Kappa is written as 1 - D_o / D_e, with D_o = 1 - P-bar and D_e = 1 - P_e, and both
    // disagreements are summed from non-negative terms. Computing 1 - sum p_j^2 directly
    // would cancel, and could miss that chance agreement is exactly perfect.
    let raters = raters as f64;
    let subjects = counts.len() as f64;
    let mut column_totals = vec![0.0; categories];
    let mut observed = 0.0;
    for row in counts {
        for (total, &n_ij) in column_totals.iter_mut().zip(row.as_ref()) {
            let n_ij = n_ij as f64;
            *total += n_ij;
            // Ordered pairs of raters of this subject that disagree, involving category j.
            observed += n_ij * (raters - n_ij);
        }
    }
    let observed = observed / (subjects * raters * (raters - 1.0));
    let ratings = subjects * raters;
    let expected = column_totals
        .iter()
        .map(|&c_j| c_j * (ratings - c_j))
        .sum::<f64>()
        / (ratings * ratings);
    Ok((expected > 0.0).then(|| 1.0 - observed / expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<f64>, expected: f64, tolerance: f64) {
        let actual = actual.expect("kappa is defined");
        assert!(
            (actual - expected).abs() < tolerance,
            "{actual} vs {expected}"
        );
    }

    #[test]
    fn fleiss_1971() {
        // Fleiss (1971), "Measuring nominal scale agreement among many raters", Table 1:
        // 30 patients, 6 psychiatrists each, 5 diagnoses (depression, personality
        // disorder, schizophrenia, neurosis, other); the paper reports kappa = 0.430.
        // The counts are aggregated from the R irr package's `diagnoses` data, which irr
        // attributes to this paper, as reproduced in statsmodels' test_inter_rater.py
        // (not transcribed from the paper itself). irr's kappam.fleiss(diagnoses) =
        // 0.4302445; statsmodels 0.15.0 fleiss_kappa on these counts gives
        // 0.43024452006014074.
        let counts: [[u64; 5]; 30] = [
            [0, 0, 0, 6, 0],
            [0, 3, 0, 0, 3],
            [0, 1, 4, 0, 1],
            [0, 0, 0, 0, 6],
            [0, 3, 0, 3, 0],
            [2, 0, 4, 0, 0],
            [0, 0, 4, 0, 2],
            [2, 0, 3, 1, 0],
            [2, 0, 0, 4, 0],
            [0, 0, 0, 0, 6],
            [1, 0, 0, 5, 0],
            [1, 1, 0, 4, 0],
            [0, 3, 3, 0, 0],
            [1, 0, 0, 5, 0],
            [0, 2, 0, 3, 1],
            [0, 0, 5, 0, 1],
            [3, 0, 0, 1, 2],
            [5, 1, 0, 0, 0],
            [0, 2, 0, 4, 0],
            [1, 0, 2, 0, 3],
            [0, 0, 0, 0, 6],
            [0, 1, 0, 5, 0],
            [0, 2, 0, 1, 3],
            [2, 0, 0, 4, 0],
            [1, 0, 0, 4, 1],
            [0, 5, 0, 1, 0],
            [4, 0, 0, 0, 2],
            [0, 2, 0, 4, 0],
            [1, 0, 5, 0, 0],
            [0, 0, 0, 0, 6],
        ];
        let kappa = fleiss_kappa(&counts).expect("valid");
        close(kappa, 0.430, 5e-4);
        close(kappa, 0.430_244_520_060_140_74, 1e-12);
    }

    #[test]
    fn wikipedia_example() {
        // Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters,
        // 5 categories; P-bar = 0.378, P_e = 0.213, kappa = 0.210. statsmodels 0.15.0
        // fleiss_kappa gives 0.20993070442195522.
        let counts: [[u64; 5]; 10] = [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ];
        let kappa = fleiss_kappa(&counts).expect("valid");
        close(kappa, 0.210, 5e-4);
        close(kappa, 0.209_930_704_421_955_22, 1e-12);
    }

    #[test]
    fn undefined_without_pairs_or_variation() {
        assert_eq!(fleiss_kappa::<[u64; 3]>(&[]), Ok(None));
        assert_eq!(fleiss_kappa(&[[1, 0], [0, 1]]), Ok(None));
        assert_eq!(fleiss_kappa(&[[0, 3], [0, 3]]), Ok(None));
        assert_eq!(fleiss_kappa(&[[3, 0], [0, 3]]), Ok(Some(1.0)));
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(
            fleiss_kappa(&[[1, 2], [2, 2]]),
            Err(AgreementError::UnequalRaters {
                subject: 1,
                expected: 3,
                found: 4
            })
        );
        assert_eq!(
            fleiss_kappa(&[vec![1, 2], vec![3]]),
            Err(AgreementError::RaggedRows {
                row: 1,
                expected: 2,
                found: 1
            })
        );
    }
}
