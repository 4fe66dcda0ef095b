//! Frequency bands: which queries are head, torso and tail traffic within a project.
//!
//! The default split follows how search teams usually read a query log: sort queries by
//! traffic, and the queries that together cover the first 50% of all traffic are head,
//! those covering the next 30% are torso, the rest (and queries with no known
//! frequency) are tail.

use crate::domain::FrequencyBand;

/// Cumulative traffic shares that end the head and torso bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandCuts {
    /// Share of traffic covered by head queries (default 0.5).
    pub head: f64,
    /// Share of traffic covered by head and torso together (default 0.8).
    pub torso: f64,
}

impl Default for BandCuts {
    fn default() -> Self {
        Self {
            head: 0.5,
            torso: 0.8,
        }
    }
}

/// Assigns a band to each query given its frequency; the result is in input order.
///
/// A query belongs to the band in which the traffic *before* it (in descending frequency
/// order) falls, so the single most frequent query is always head even when it alone
/// carries more than half the traffic. Ties in frequency go to the same band, so the
/// result does not depend on the input order.
pub fn assign_bands(frequencies: &[Option<i64>], cuts: BandCuts) -> Vec<FrequencyBand> {
    let total: f64 = frequencies
        .iter()
        .map(|f| f.unwrap_or(0).max(0) as f64)
        .sum();
    let mut bands = vec![FrequencyBand::Tail; frequencies.len()];
    if total <= 0.0 {
        return bands;
    }
    let mut order: Vec<usize> = (0..frequencies.len())
        .filter(|&i| frequencies[i].unwrap_or(0) > 0)
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(frequencies[i].unwrap_or(0)));

    let mut covered = 0.0;
    let mut group_start = 0;
    while group_start < order.len() {
        let freq = frequencies[order[group_start]].unwrap_or(0);
        let group_end = order[group_start..]
            .iter()
            .position(|&i| frequencies[i].unwrap_or(0) != freq)
            .map_or(order.len(), |n| group_start + n);
        let share_before = covered / total;
        let band = if share_before < cuts.head {
            FrequencyBand::Head
        } else if share_before < cuts.torso {
            FrequencyBand::Torso
        } else {
            FrequencyBand::Tail
        };
        for &i in &order[group_start..group_end] {
            bands[i] = band;
        }
        covered += freq as f64 * (group_end - group_start) as f64;
        group_start = group_end;
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use FrequencyBand::*;

    fn bands(freqs: &[Option<i64>]) -> Vec<FrequencyBand> {
        assign_bands(freqs, BandCuts::default())
    }

    #[test]
    fn splits_traffic_fifty_thirty_twenty() {
        // 100 units of traffic: 40 + 20 reach 60% (head ends once 50% is passed),
        // 15 + 10 reach 85% (torso ends once 80% is passed), the rest is tail.
        let freqs = [
            Some(40),
            Some(20),
            Some(15),
            Some(10),
            Some(8),
            Some(5),
            Some(2),
        ];
        assert_eq!(
            bands(&freqs),
            vec![Head, Head, Torso, Torso, Tail, Tail, Tail]
        );
    }

    #[test]
    fn input_order_does_not_matter() {
        let freqs = [Some(2), Some(40), Some(10), Some(20), Some(5), Some(15)];
        let got = bands(&freqs);
        // 92 units: 40 and 20 start below 50%, 15 starts at 65%, 10 starts at 81.5%.
        assert_eq!(got, vec![Tail, Head, Tail, Head, Tail, Torso]);
    }

    #[test]
    fn a_dominant_query_is_head_and_missing_frequency_is_tail() {
        assert_eq!(
            bands(&[Some(1000), Some(1), None, Some(0)]),
            vec![Head, Tail, Tail, Tail]
        );
    }

    #[test]
    fn ties_share_a_band() {
        let got = bands(&[Some(10); 10]);
        assert!(got.iter().all(|&b| b == Head), "{got:?}");
    }

    #[test]
    fn nothing_known_is_all_tail() {
        assert_eq!(bands(&[None, None]), vec![Tail, Tail]);
        assert!(bands(&[]).is_empty());
    }
}
