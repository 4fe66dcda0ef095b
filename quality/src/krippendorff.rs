//! Krippendorff's alpha: agreement among any number of raters, with missing ratings.

use std::collections::BTreeMap;

use crate::error::{AgreementError, row_length};

/// The level of measurement, which decides how far apart two values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// Unordered categories: two values either match or they do not.
    Nominal,
    /// Ordered categories with unknown spacing: two values are as far apart as the
    /// number of ratings that fall between them (Krippendorff's ordinal metric).
    Ordinal,
    /// Numbers on an interval scale: the squared difference.
    Interval,
}

/// Ratings of units by raters, checked once so that [`krippendorff_alpha`] cannot fail
/// on malformed input. A missing rating is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityData {
    /// The ratings present in each unit. Alpha never asks which rater gave which rating,
    /// so only the values are kept.
    units: Vec<Vec<f64>>,
    raters: usize,
}

impl ReliabilityData {
    /// Builds the data from one row per unit with one column per rater.
    ///
    /// # Errors
    ///
    /// [`AgreementError::RaggedRows`] if the rows differ in length,
    /// [`AgreementError::NonFinite`] for a NaN or infinite rating.
    pub fn from_units<R: AsRef<[Option<f64>]>>(units: &[R]) -> Result<Self, AgreementError> {
        let raters = row_length(units)?;
        let mut present = Vec::with_capacity(units.len());
        for (row, unit) in units.iter().enumerate() {
            let mut values = Vec::with_capacity(raters);
            for (column, value) in unit.as_ref().iter().enumerate() {
                if let Some(value) = *value {
                    values.push(checked(value, row, column)?);
                }
            }
            present.push(values);
        }
        Ok(Self {
            units: present,
            raters,
        })
    }

    /// Builds the data from one row per rater with one column per unit, the layout of
    /// Krippendorff's papers.
    ///
    /// # Errors
    ///
    /// [`AgreementError::RaggedRows`] if the rows differ in length,
    /// [`AgreementError::NonFinite`] for a NaN or infinite rating.
    pub fn from_raters<R: AsRef<[Option<f64>]>>(raters: &[R]) -> Result<Self, AgreementError> {
        let units = row_length(raters)?;
        let mut present = vec![Vec::new(); units];
        for (row, rater) in raters.iter().enumerate() {
            for (column, value) in rater.as_ref().iter().enumerate() {
                if let Some(value) = *value {
                    present[column].push(checked(value, row, column)?);
                }
            }
        }
        Ok(Self {
            units: present,
            raters: raters.len(),
        })
    }

    /// The number of units, including those with fewer than two ratings.
    #[must_use]
    pub fn units(&self) -> usize {
        self.units.len()
    }

    /// The number of raters (columns of [`Self::from_units`], rows of [`Self::from_raters`]).
    #[must_use]
    pub fn raters(&self) -> usize {
        self.raters
    }
}

fn checked(value: f64, row: usize, column: usize) -> Result<f64, AgreementError> {
    if value.is_finite() {
        // -0.0 and 0.0 are the same rating; adding 0.0 makes them the same bits, so that
        // sorting by total order groups them together.
        Ok(value + 0.0)
    } else {
        Err(AgreementError::NonFinite { row, column })
    }
}

/// Krippendorff's alpha, `1 - D_o / D_e`: one minus the ratio of observed to
/// chance-expected disagreement, computed from the coincidence matrix (Krippendorff,
/// "Computing Krippendorff's Alpha-Reliability", 2011).
///
/// Units with fewer than two ratings cannot be paired and are dropped. Alpha is 1 for
/// perfect agreement, about 0 for agreement at chance level, and below 0 for systematic
/// disagreement.
///
/// Returns `None` where alpha is undefined: when no unit has two ratings, or when all
/// pairable ratings have the same value, so that the expected disagreement is zero.
#[must_use]
pub fn krippendorff_alpha(data: &ReliabilityData, metric: Metric) -> Option<f64> {
    let coincidences = Coincidences::new(data);
    if coincidences.values.len() < 2 {
        return None;
    }
    let (observed, expected) = match metric {
        Metric::Nominal => coincidences.nominal_sums(),
        Metric::Ordinal => coincidences.squared_distance_sums(&coincidences.ordinal_positions()),
        Metric::Interval => coincidences.squared_distance_sums(&coincidences.interval_positions()),
    };
    // D_o = observed / n and D_e = expected / (n (n - 1)).
    let alpha = 1.0 - (coincidences.total - 1.0) * observed / expected;
    (expected > 0.0 && alpha.is_finite()).then_some(alpha)
}

/// Each unit's own alpha, `1 - D_o(u) / D_e`: the unit's observed disagreement (the mean
/// distance over its ordered pairs of ratings) against the whole data's expected
/// disagreement. It says which units pull alpha down: weighting each pairable unit by its
/// number of ratings `m_u`, `sum_u m_u (1 - alpha_u) / n = 1 - alpha`.
///
/// A unit with fewer than two ratings gets `None`, and so does every unit where alpha
/// itself is undefined (no pairable unit, or no expected disagreement).
#[must_use]
pub fn unit_alphas(data: &ReliabilityData, metric: Metric) -> Vec<Option<f64>> {
    let coincidences = Coincidences::new(data);
    if coincidences.values.len() < 2 {
        return vec![None; data.units.len()];
    }
    let positions = match metric {
        Metric::Nominal => None,
        Metric::Ordinal => Some(coincidences.ordinal_positions()),
        Metric::Interval => Some(coincidences.interval_positions()),
    };
    let expected = match &positions {
        None => coincidences.nominal_sums().1,
        Some(positions) => coincidences.squared_distance_sums(positions).1,
    };
    let n = coincidences.total;
    let expected = expected / (n * (n - 1.0));
    if expected <= 0.0 || !expected.is_finite() {
        return vec![None; data.units.len()];
    }
    let category = |value: &f64| match coincidences
        .values
        .binary_search_by(|probe| probe.total_cmp(value))
    {
        Ok(c) | Err(c) => c,
    };
    let distance = |c: usize, k: usize| match &positions {
        None => f64::from(u8::from(c != k)),
        Some(p) => (p[c] - p[k]).powi(2),
    };
    data.units
        .iter()
        .map(|unit| {
            let m = unit.len();
            if m < 2 {
                return None;
            }
            let categories: Vec<usize> = unit.iter().map(category).collect();
            let mut sum = 0.0;
            for (i, &c) in categories.iter().enumerate() {
                for &k in &categories[i + 1..] {
                    sum += 2.0 * distance(c, k);
                }
            }
            let observed = sum / (m * (m - 1)) as f64;
            Some(1.0 - observed / expected)
        })
        .collect()
}

/// The coincidence matrix `o_ck` of the pairable values with its marginals `n_c`.
struct Coincidences {
    /// The distinct pairable values, ascending; category `c` is `values[c]`.
    values: Vec<f64>,
    /// `n_c`: how many pairable ratings have value `c`.
    marginals: Vec<f64>,
    /// `o_ck` for `c < k`. The matrix is symmetric and its diagonal never contributes to
    /// disagreement, so only this half is kept. It is sparse because it only holds pairs
    /// that occur together in some unit, which keeps continuous interval data from
    /// needing a dense matrix over all distinct values.
    off_diagonal: BTreeMap<(usize, usize), f64>,
    /// `n`: the number of pairable ratings.
    total: f64,
}

impl Coincidences {
    fn new(data: &ReliabilityData) -> Self {
        let pairable = data.units.iter().filter(|unit| unit.len() >= 2);
        let mut values: Vec<f64> = pairable.clone().flatten().copied().collect();
        values.sort_by(f64::total_cmp);
        values.dedup();

        let mut marginals = vec![0.0; values.len()];
        let mut off_diagonal = BTreeMap::new();
        let mut categories = Vec::new();
        let mut counts: Vec<(usize, f64)> = Vec::new();
        for unit in pairable {
            categories.clear();
            categories.extend(unit.iter().map(|value| {
                match values.binary_search_by(|probe| probe.total_cmp(value)) {
                    Ok(category) | Err(category) => category,
                }
            }));
            categories.sort_unstable();
            counts.clear();
            for &category in &categories {
                match counts.last_mut() {
                    Some((last, count)) if *last == category => *count += 1.0,
                    _ => counts.push((category, 1.0)),
                }
            }
            // Each of the m_u (m_u - 1) ordered pairs in a unit adds 1 / (m_u - 1), so
            // every pairable rating contributes exactly 1 to its row of the matrix.
            let weight = 1.0 / (unit.len() - 1) as f64;
            for (at, &(c, n_uc)) in counts.iter().enumerate() {
                marginals[c] += n_uc;
                for &(k, n_uk) in &counts[at + 1..] {
                    *off_diagonal.entry((c, k)).or_insert(0.0) += n_uc * n_uk * weight;
                }
            }
        }
        let total = marginals.iter().sum();
        Self {
            values,
            marginals,
            off_diagonal,
            total,
        }
    }

    /// `(sum_ck o_ck d_ck, sum_ck n_c n_k d_ck)` for the nominal metric (`d_ck = 1` off
    /// the diagonal), summed without the cancellation of `n^2 - sum n_c^2`.
    fn nominal_sums(&self) -> (f64, f64) {
        let observed = 2.0 * self.off_diagonal.values().sum::<f64>();
        let expected = self
            .marginals
            .iter()
            .map(|&n_c| n_c * (self.total - n_c))
            .sum();
        (observed, expected)
    }

    /// The same sums for a metric `d_ck = (p_c - p_k)^2` over positions `p`. The
    /// expected sum uses `sum_ck n_c n_k (p_c - p_k)^2 = 2 n sum_c n_c (p_c - mean)^2`,
    /// which is linear in the number of values instead of quadratic.
    fn squared_distance_sums(&self, positions: &[f64]) -> (f64, f64) {
        let observed = 2.0
            * self
                .off_diagonal
                .iter()
                .map(|(&(c, k), &o_ck)| o_ck * (positions[c] - positions[k]).powi(2))
                .sum::<f64>();
        let mean = self
            .marginals
            .iter()
            .zip(positions)
            .map(|(&n_c, &p_c)| n_c * p_c)
            .sum::<f64>()
            / self.total;
        let spread: f64 = self
            .marginals
            .iter()
            .zip(positions)
            .map(|(&n_c, &p_c)| n_c * (p_c - mean).powi(2))
            .sum();
        (observed, 2.0 * self.total * spread)
    }

    /// Positions for the ordinal metric. Krippendorff defines
    /// `d_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`; with
    /// `p_c = n_1 + .. + n_{c-1} + n_c / 2` that is exactly `(p_k - p_c)^2`, so ordinal
    /// alpha is interval alpha on these cumulative mid-positions.
    fn ordinal_positions(&self) -> Vec<f64> {
        let mut below = 0.0;
        self.marginals
            .iter()
            .map(|&n_c| {
                let position = below + n_c / 2.0;
                below += n_c;
                position
            })
            .collect()
    }

    /// Positions for the interval metric: the values themselves, divided by the largest
    /// magnitude. Alpha does not change with scale, and this keeps squared differences of
    /// very large or very small values from overflowing or underflowing.
    fn interval_positions(&self) -> Vec<f64> {
        let scale = self.values.iter().fold(0.0_f64, |max, v| max.max(v.abs()));
        self.values.iter().map(|v| v / scale).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example
    /// with missing values (`.`): observers A-D (rows) rate units 1-12 (columns) on 1..5.
    fn krippendorff_2011() -> ReliabilityData {
        let raters: Vec<Vec<Option<f64>>> = [
            "1 2 3 3 2 1 4 1 2 . . .",
            "1 2 3 3 2 2 4 1 2 5 . 3",
            ". 3 3 3 2 3 4 2 2 5 1 .",
            "1 2 3 3 2 4 4 1 2 5 1 .",
        ]
        .iter()
        .map(|row| {
            row.split_whitespace()
                .map(|cell| cell.parse().ok())
                .collect()
        })
        .collect();
        ReliabilityData::from_raters(&raters).expect("the table is rectangular and finite")
    }

    fn alpha(metric: Metric) -> f64 {
        krippendorff_alpha(&krippendorff_2011(), metric).expect("alpha is defined")
    }

    #[test]
    fn unit_alphas_average_back_to_alpha() {
        let data = krippendorff_2011();
        for metric in [Metric::Nominal, Metric::Ordinal, Metric::Interval] {
            let units = unit_alphas(&data, metric);
            assert_eq!(units.len(), 12);
            // Unit 12 has a single rating; units 1-4 and 7-9 agree perfectly.
            assert_eq!(units[11], None);
            assert!((units[0].unwrap() - 1.0).abs() < 1e-12);
            let (mut weighted, mut n) = (0.0, 0.0);
            for (unit, value) in data.units.iter().zip(&units) {
                if let Some(a) = value {
                    weighted += unit.len() as f64 * (1.0 - a);
                    n += unit.len() as f64;
                }
            }
            let overall = krippendorff_alpha(&data, metric).unwrap();
            assert!(
                (1.0 - weighted / n - overall).abs() < 1e-9,
                "{metric:?}: {} vs {overall}",
                1.0 - weighted / n
            );
            // Unit 6 (ratings 1 2 3 4) disagrees most: it is the lowest.
            let lowest = units
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.map(|a| (i, a)))
                .min_by(|x, y| x.1.total_cmp(&y.1))
                .unwrap();
            assert_eq!(lowest.0, 5, "{metric:?}");
        }
        let same = ReliabilityData::from_units(&[[Some(1.0), Some(1.0)]]).unwrap();
        assert_eq!(unit_alphas(&same, Metric::Ordinal), vec![None]);
    }

    #[test]
    fn krippendorff_2011_coincidence_marginals() {
        // The paper's coincidence matrix has n_c = 9, 13, 10, 5, 3 and n = 40: unit 12
        // has a single rating and drops out.
        let coincidences = Coincidences::new(&krippendorff_2011());
        assert_eq!(coincidences.values, [1., 2., 3., 4., 5.]);
        assert_eq!(coincidences.marginals, [9., 13., 10., 5., 3.]);
        assert_eq!(coincidences.total, 40.);
    }

    // Published values (Krippendorff 2011): nominal 0.743, ordinal 0.815, interval 0.849.
    // The full-precision values come from the Python package `krippendorff` 0.9.0,
    // `alpha(reliability_data=<the table above, NaN for missing>, level_of_measurement=..)`:
    // nominal 0.743421052631579, ordinal 0.8153875037548814, interval 0.8491071428571428.

    #[test]
    fn krippendorff_2011_nominal() {
        let alpha = alpha(Metric::Nominal);
        assert_eq!((alpha * 1000.).round(), 743.);
        assert!((alpha - 0.743_421_052_631_579).abs() < 1e-12, "{alpha}");
    }

    #[test]
    fn krippendorff_2011_ordinal() {
        let alpha = alpha(Metric::Ordinal);
        assert_eq!((alpha * 1000.).round(), 815.);
        assert!((alpha - 0.815_387_503_754_881_4).abs() < 1e-12, "{alpha}");
    }

    #[test]
    fn krippendorff_2011_interval() {
        let alpha = alpha(Metric::Interval);
        assert_eq!((alpha * 1000.).round(), 849.);
        assert!((alpha - 0.849_107_142_857_142_8).abs() < 1e-12, "{alpha}");
    }

    #[test]
    fn layouts_agree() {
        let by_units = ReliabilityData::from_units(&[
            [Some(1.), Some(1.), None],
            [Some(2.), Some(3.), Some(2.)],
            [None, Some(3.), Some(3.)],
        ])
        .expect("valid");
        let by_raters = ReliabilityData::from_raters(&[
            [Some(1.), Some(2.), None],
            [Some(1.), Some(3.), Some(3.)],
            [None, Some(2.), Some(3.)],
        ])
        .expect("valid");
        assert_eq!(by_units, by_raters);
        assert_eq!((by_units.units(), by_units.raters()), (3, 3));
    }

    #[test]
    fn undefined_without_pairs_or_variation() {
        let empty = ReliabilityData::from_units::<Vec<Option<f64>>>(&[]).expect("valid");
        assert_eq!(krippendorff_alpha(&empty, Metric::Nominal), None);
        let singletons =
            ReliabilityData::from_units(&[[Some(1.), None], [None, Some(2.)]]).expect("valid");
        assert_eq!(krippendorff_alpha(&singletons, Metric::Interval), None);
        let constant =
            ReliabilityData::from_units(&[[Some(4.), Some(4.)], [Some(4.), None]]).expect("valid");
        assert_eq!(krippendorff_alpha(&constant, Metric::Ordinal), None);
    }

    #[test]
    fn negative_zero_is_zero() {
        let data = ReliabilityData::from_units(&[[Some(0.), Some(-0.)], [Some(1.), Some(1.)]])
            .expect("valid");
        assert_eq!(krippendorff_alpha(&data, Metric::Nominal), Some(1.0));
    }

    #[test]
    fn interval_is_scale_free_at_extremes() {
        let data = |scale: f64| {
            ReliabilityData::from_units(&[
                [Some(1. * scale), Some(2. * scale)],
                [Some(3. * scale), Some(3. * scale)],
                [Some(5. * scale), Some(4. * scale)],
            ])
            .expect("valid")
        };
        let unit = krippendorff_alpha(&data(1.), Metric::Interval).expect("defined");
        for scale in [1e-200, 1e200] {
            let scaled = krippendorff_alpha(&data(scale), Metric::Interval).expect("defined");
            assert!((scaled - unit).abs() < 1e-12, "{scale}: {scaled} vs {unit}");
        }
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(
            ReliabilityData::from_units(&[vec![Some(1.), None], vec![Some(1.)]]),
            Err(AgreementError::RaggedRows {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            ReliabilityData::from_raters(&[[Some(1.), Some(f64::NAN)]]),
            Err(AgreementError::NonFinite { row: 0, column: 1 })
        );
        assert_eq!(
            ReliabilityData::from_units(&[[Some(f64::INFINITY)]]),
            Err(AgreementError::NonFinite { row: 0, column: 0 })
        );
    }
}
