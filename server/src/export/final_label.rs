//! Which label of a pair is final, and how much its annotators agreed: the rule every
//! export applies (written out in docs/formats.md).

/// Where a final label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A reviewer decided it.
    Adjudicated,
    /// The median of k or more judgments that agree within one level.
    Median,
}

/// A pair's final label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalLabel {
    /// The label.
    pub label: String,
    /// Its level on the scale (0 = lowest).
    pub level: usize,
    /// Where it came from.
    pub source: Source,
}

/// Why a pair has no final label (and is left out of exports that need one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeftOut {
    /// Fewer than k annotators judged it, and no reviewer decided.
    TooFewJudgments,
    /// Its judgments are more than one level apart, and no reviewer decided.
    Disagreement,
}

impl LeftOut {
    /// The reason as the export summary names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooFewJudgments => "fewer than k judgments",
            Self::Disagreement => "judgments more than one level apart",
        }
    }
}

/// The final label: a reviewer's decision when there is one; else, with at least `k`
/// judgments whose levels are at most one apart, their median (the lower of the two
/// middle levels when the count is even, so a tie never rounds relevance up); else none.
/// `levels` are the annotators' current labels as scale levels (one per annotator).
pub fn final_label(
    scale: &[String],
    levels: &[usize],
    adjudicated: Option<usize>,
    k: usize,
) -> Result<FinalLabel, LeftOut> {
    let named = |level: usize, source| FinalLabel {
        label: scale.get(level).cloned().unwrap_or_default(),
        level,
        source,
    };
    if let Some(level) = adjudicated {
        return Ok(named(level, Source::Adjudicated));
    }
    if levels.is_empty() || levels.len() < k {
        return Err(LeftOut::TooFewJudgments);
    }
    let mut sorted = levels.to_vec();
    sorted.sort_unstable();
    let (low, high) = (sorted[0], sorted[sorted.len() - 1]);
    if high - low > 1 {
        return Err(LeftOut::Disagreement);
    }
    Ok(named(sorted[(sorted.len() - 1) / 2], Source::Median))
}

/// How much a pair's annotators agree: the share of annotator pairs that gave the same
/// label (1 for a single judgment; none without judgments).
pub fn agreement(levels: &[usize]) -> Option<f64> {
    let n = levels.len();
    match n {
        0 => None,
        1 => Some(1.0),
        _ => {
            let mut same = 0usize;
            for i in 0..n {
                for j in i + 1..n {
                    same += usize::from(levels[i] == levels[j]);
                }
            }
            let pairs = n * (n - 1) / 2;
            Some(same as f64 / pairs as f64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale() -> Vec<String> {
        ["L1", "L2", "L3", "L4"].map(String::from).to_vec()
    }

    #[test]
    fn a_reviewer_decision_wins_over_any_judgments() {
        let f = final_label(&scale(), &[0, 3, 3], Some(1), 3).unwrap();
        assert_eq!((f.label.as_str(), f.source), ("L2", Source::Adjudicated));
        let f = final_label(&scale(), &[], Some(2), 3).unwrap();
        assert_eq!(f.label, "L3");
    }

    #[test]
    fn the_median_needs_k_judgments_within_one_level() {
        assert_eq!(
            final_label(&scale(), &[3, 3], None, 3),
            Err(LeftOut::TooFewJudgments)
        );
        assert_eq!(
            final_label(&scale(), &[], None, 0),
            Err(LeftOut::TooFewJudgments)
        );
        assert_eq!(
            final_label(&scale(), &[1, 3, 3], None, 3),
            Err(LeftOut::Disagreement)
        );
        let f = final_label(&scale(), &[3, 2, 3], None, 3).unwrap();
        assert_eq!((f.label.as_str(), f.source), ("L4", Source::Median));
        // An even count takes the lower middle: relevance is never rounded up.
        assert_eq!(final_label(&scale(), &[2, 3], None, 2).unwrap().label, "L3");
        assert_eq!(
            final_label(&scale(), &[3, 2, 3, 2], None, 3).unwrap().label,
            "L3"
        );
    }

    #[test]
    fn agreement_is_the_share_of_agreeing_annotator_pairs() {
        assert_eq!(agreement(&[]), None);
        assert_eq!(agreement(&[2]), Some(1.0));
        assert_eq!(agreement(&[2, 2, 2]), Some(1.0));
        assert_eq!(agreement(&[2, 2, 3]), Some(1.0 / 3.0));
        assert_eq!(agreement(&[0, 1, 2]), Some(0.0));
    }
}
