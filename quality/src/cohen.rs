//! Cohen's kappa: chance-corrected agreement of two raters on categories, weighted for
//! ordered categories if asked.

use crate::error::{AgreementError, row_length};

/// How much a disagreement between category indices `i` and `j` counts.
///
/// Kappa is the same under any positive rescaling of the weights, so the linear and
/// quadratic choices equal the usual agreement weights `1 - |i-j| / (q-1)` (Cicchetti &
/// Allison) and `1 - (i-j)^2 / (q-1)^2` (Fleiss & Cohen) over `q` categories, and match
/// `weights="linear"` and `"quadratic"` of scikit-learn's `cohen_kappa_score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Weights {
    /// Every disagreement counts the same: Cohen's original kappa, for unordered
    /// categories.
    Unweighted,
    /// A disagreement counts `|i - j|`.
    Linear,
    /// A disagreement counts `(i - j)^2`.
    Quadratic,
}

impl Weights {
    fn disagreement(self, i: usize, j: usize) -> f64 {
        let distance = i.abs_diff(j) as f64;
        match self {
            Self::Unweighted => f64::from(u8::from(i != j)),
            Self::Linear => distance,
            Self::Quadratic => distance * distance,
        }
    }
}

/// Cohen's kappa of two raters who labelled the same items, given as category indices
/// `0..categories` in item order. The order of the indices is the order of the scale
/// for [`Weights::Linear`] and [`Weights::Quadratic`].
///
/// Returns `Ok(None)` where kappa is undefined: no items, or both raters put every item
/// in one and the same category, so that chance agreement is already perfect.
///
/// # Errors
///
/// [`AgreementError::LengthMismatch`] if the raters labelled different numbers of items,
/// [`AgreementError::CategoryOutOfRange`] for an index not below `categories`.
pub fn cohen_kappa(
    rater_a: &[usize],
    rater_b: &[usize],
    categories: usize,
    weights: Weights,
) -> Result<Option<f64>, AgreementError> {
    if rater_a.len() != rater_b.len() {
        return Err(AgreementError::LengthMismatch {
            left: rater_a.len(),
            right: rater_b.len(),
        });
    }
    let mut used = 0;
    for (item, (&a, &b)) in rater_a.iter().zip(rater_b).enumerate() {
        for category in [a, b] {
            if category >= categories {
                return Err(AgreementError::CategoryOutOfRange {
                    item,
                    category,
                    categories,
                });
            }
            used = used.max(category + 1);
        }
    }
    // Sized by the categories in use, not `categories`, so that a large declared scale
    // costs nothing: unused categories have zero marginals and add nothing to kappa.
    let mut rows = vec![0.0; used];
    let mut columns = vec![0.0; used];
    let mut observed = 0.0;
    for (&a, &b) in rater_a.iter().zip(rater_b) {
        rows[a] += 1.0;
        columns[b] += 1.0;
        observed += weights.disagreement(a, b);
    }
    Ok(kappa(observed, &rows, &columns, weights))
}

/// Cohen's kappa from a square contingency table: `table[i][j]` counts the items rater
/// A put in category `i` and rater B in category `j`.
///
/// Returns `Ok(None)` where kappa is undefined: an empty table or one whose counts are
/// all zero, or all items in a single diagonal cell.
///
/// # Errors
///
/// [`AgreementError::RaggedRows`] if the rows differ in length,
/// [`AgreementError::NotSquare`] if there are not as many columns as rows.
pub fn cohen_kappa_from_table<R: AsRef<[u64]>>(
    table: &[R],
    weights: Weights,
) -> Result<Option<f64>, AgreementError> {
    let columns = row_length(table)?;
    if columns != table.len() {
        return Err(AgreementError::NotSquare {
            rows: table.len(),
            columns,
        });
    }
    let mut row_totals = vec![0.0; columns];
    let mut column_totals = vec![0.0; columns];
    let mut observed = 0.0;
    for (i, row) in table.iter().enumerate() {
        for (j, &count) in row.as_ref().iter().enumerate() {
            let count = count as f64;
            row_totals[i] += count;
            column_totals[j] += count;
            observed += count * weights.disagreement(i, j);
        }
    }
    Ok(kappa(observed, &row_totals, &column_totals, weights))
}

/// `1 - observed / expected`, with both disagreements summed as counts.
fn kappa(observed: f64, rows: &[f64], columns: &[f64], weights: Weights) -> Option<f64> {
    let total: f64 = rows.iter().sum();
    if total == 0.0 {
        return None;
    }
    let used = |marginals: &[f64]| -> Vec<(usize, f64)> {
        marginals
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, count)| count > 0.0)
            .collect()
    };
    let columns = used(columns);
    let mut expected = 0.0;
    for (i, r_i) in used(rows) {
        for &(j, c_j) in &columns {
            expected += r_i * c_j * weights.disagreement(i, j);
        }
    }
    expected /= total;
    // Every term is non-negative, so `expected` is zero exactly when chance agreement is
    // perfect, never through rounding.
    (expected > 0.0).then(|| 1.0 - observed / expected)
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

    /// Expands a contingency table into the two raters' labels.
    fn labels(table: &[[u64; 3]]) -> (Vec<usize>, Vec<usize>) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, row) in table.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                for _ in 0..count {
                    a.push(i);
                    b.push(j);
                }
            }
        }
        (a, b)
    }

    #[test]
    fn wikipedia_two_by_two() {
        // Wikipedia, "Cohen's kappa", first example: 50 proposals; both yes 20, A yes and
        // B no 5, A no and B yes 10, both no 15. p_o = 0.7, p_e = 0.5, kappa = 0.4.
        let table = [[20, 5], [10, 15]];
        close(
            cohen_kappa_from_table(&table, Weights::Unweighted).expect("valid"),
            0.4,
            1e-12,
        );
        let a: Vec<usize> = [vec![0; 25], vec![1; 25]].concat();
        let b: Vec<usize> = [vec![0; 20], vec![1; 5], vec![0; 10], vec![1; 15]].concat();
        close(
            cohen_kappa(&a, &b, 2, Weights::Unweighted).expect("valid"),
            0.4,
            1e-12,
        );
    }

    // The SAS PROC FREQ example that statsmodels' test_inter_rater.py checks against
    // (table10): simple kappa 0.4842, weighted kappa with Cicchetti-Allison (linear)
    // weights 0.4701. scikit-learn 1.9.1 cohen_kappa_score on the expanded labels with
    // labels=[0, 1, 2] gives 0.48416289592760176, 0.4701195219123506 and, quadratic,
    // 0.45016077170418.
    //
    // Quadratic by hand: N = 19, row totals 5 8 6, column totals 0 13 6. Observed
    // disagreement 4*1 + 1*4 + 1*1 = 9. Expected sum_ij r_i c_j (i-j)^2 / N =
    // (5*13*1 + 5*6*4 + 8*6*1 + 6*13*1) / 19 = 311 / 19. Kappa = 1 - 9*19/311 = 140/311.
    const SAS: [[u64; 3]; 3] = [[0, 4, 1], [0, 8, 0], [0, 1, 5]];

    #[test]
    fn sas_three_categories() {
        let (a, b) = labels(&SAS);
        for (weights, reference, sas) in [
            (Weights::Unweighted, 0.484_162_895_927_601_76, Some(0.4842)),
            (Weights::Linear, 0.470_119_521_912_350_6, Some(0.4701)),
            (Weights::Quadratic, 140.0 / 311.0, None),
        ] {
            let from_table = cohen_kappa_from_table(&SAS, weights).expect("valid");
            close(from_table, reference, 1e-12);
            if let Some(sas) = sas {
                close(from_table, sas, 5e-5);
            }
            close(
                cohen_kappa(&a, &b, 3, weights).expect("valid"),
                reference,
                1e-12,
            );
        }
    }

    #[test]
    fn irr_anxiety_weighted() {
        // R package irr, data `anxiety`, columns rater2 and rater3 (values 1-6; 5 unused).
        // irr's kappa2 numbers the levels present, 1 2 3 4 6, as 0..4, and reports
        // kappa2(anxiety[,2:3]) = -0.006289308, with "equal" weights 0.1459075 and with
        // "squared" weights 0.2520325 (as quoted in statsmodels' test_inter_rater.py).
        // scikit-learn 1.9.1 on the same indices with labels=[0..4]:
        // -0.0062893081761006275, 0.14590747330960863, 0.2520325203252033.
        let rater2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4];
        let rater3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2];
        let level = |value: &usize| {
            [1, 2, 3, 4, 6]
                .iter()
                .position(|level| level == value)
                .expect("a level of the data")
        };
        let a: Vec<usize> = rater2.iter().map(level).collect();
        let b: Vec<usize> = rater3.iter().map(level).collect();
        for (weights, reference, irr) in [
            (
                Weights::Unweighted,
                -0.006_289_308_176_100_627_5,
                -0.006_289_308,
            ),
            (Weights::Linear, 0.145_907_473_309_608_63, 0.145_907_5),
            (Weights::Quadratic, 0.252_032_520_325_203_3, 0.252_032_5),
        ] {
            let kappa = cohen_kappa(&a, &b, 5, weights).expect("valid");
            close(kappa, reference, 1e-12);
            close(kappa, irr, 5e-8);
        }
    }

    #[test]
    fn unused_declared_categories_change_nothing() {
        let a = [0, 1, 2, 2, 1];
        let b = [0, 2, 2, 1, 1];
        for weights in [Weights::Unweighted, Weights::Linear, Weights::Quadratic] {
            assert_eq!(
                cohen_kappa(&a, &b, 3, weights),
                cohen_kappa(&a, &b, 1000, weights)
            );
        }
    }

    #[test]
    fn undefined_without_items_or_variation() {
        assert_eq!(cohen_kappa(&[], &[], 3, Weights::Linear), Ok(None));
        assert_eq!(
            cohen_kappa(&[2, 2, 2], &[2, 2, 2], 3, Weights::Unweighted),
            Ok(None)
        );
        assert_eq!(
            cohen_kappa_from_table::<[u64; 0]>(&[], Weights::Unweighted),
            Ok(None)
        );
        assert_eq!(
            cohen_kappa_from_table(&[[0, 0], [0, 0]], Weights::Quadratic),
            Ok(None)
        );
        // Raters who each stick to a different category disagree completely: defined, 0.
        assert_eq!(
            cohen_kappa(&[0, 0], &[1, 1], 2, Weights::Unweighted),
            Ok(Some(0.0))
        );
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(
            cohen_kappa(&[0, 1], &[0], 2, Weights::Unweighted),
            Err(AgreementError::LengthMismatch { left: 2, right: 1 })
        );
        assert_eq!(
            cohen_kappa(&[0, 1], &[0, 2], 2, Weights::Unweighted),
            Err(AgreementError::CategoryOutOfRange {
                item: 1,
                category: 2,
                categories: 2
            })
        );
        assert_eq!(
            cohen_kappa_from_table(&[[1, 2, 3], [4, 5, 6]], Weights::Unweighted),
            Err(AgreementError::NotSquare {
                rows: 2,
                columns: 3
            })
        );
        assert_eq!(
            cohen_kappa_from_table(&[vec![1, 2], vec![3]], Weights::Unweighted),
            Err(AgreementError::RaggedRows {
                row: 1,
                expected: 2,
                found: 1
            })
        );
    }
}
