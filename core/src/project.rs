//! What a project is made of, as words both sides read: its label scale, the task it
//! asks, its queries' frequency bands and the strategy that orders its queue. Each is an
//! enum stored and sent by the name it has here; reading an unknown name is an error.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A preset ordinal label scale; labels are listed from the lowest level to the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ScalePreset {
    /// LORE's four levels: L1 Irrelevant, L2 Mismatch, L3 Related, L4 Excellent.
    Lore4,
    /// Amazon ESCI: Irrelevant, Complement, Substitute, Exact.
    Esci,
    /// Wayfair WANDS: Irrelevant, Partial, Exact.
    Wands,
}

impl ScalePreset {
    /// The preset's name as stored and typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lore4 => "lore4",
            Self::Esci => "esci",
            Self::Wands => "wands",
        }
    }

    /// The preset's labels, lowest level first.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            Self::Lore4 => &["L1", "L2", "L3", "L4"],
            Self::Esci => &["Irrelevant", "Complement", "Substitute", "Exact"],
            Self::Wands => &["Irrelevant", "Partial", "Exact"],
        }
    }
}

impl fmt::Display for ScalePreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScalePreset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lore4" => Ok(Self::Lore4),
            "esci" => Ok(Self::Esci),
            "wands" => Ok(Self::Wands),
            other => Err(format!(
                "unknown scale {other:?}: expected lore4, esci or wands"
            )),
        }
    }
}

/// A query's traffic band, derived from its frequency within its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FrequencyBand {
    /// The most frequent queries, together covering the first share of traffic.
    Head,
    /// The queries covering the next share of traffic.
    Torso,
    /// Everything else, including queries without a known frequency.
    Tail,
}

impl FrequencyBand {
    /// All bands, head first.
    pub const ALL: [FrequencyBand; 3] = [Self::Head, Self::Torso, Self::Tail];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Torso => "torso",
            Self::Tail => "tail",
        }
    }
}

impl fmt::Display for FrequencyBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FrequencyBand {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "head" => Ok(Self::Head),
            "torso" => Ok(Self::Torso),
            "tail" => Ok(Self::Tail),
            other => Err(format!("unknown frequency band {other:?}")),
        }
    }
}

/// What a project asks of its annotators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskKind {
    /// Judge the label only.
    #[serde(rename = "judge")]
    #[cfg_attr(feature = "clap", value(name = "judge"))]
    Judge,
    /// Rank the model's CoT candidates.
    #[serde(rename = "rank")]
    #[cfg_attr(feature = "clap", value(name = "rank"))]
    Rank,
    /// Both, on one screen, label first.
    #[serde(rename = "judge+rank")]
    #[cfg_attr(feature = "clap", value(name = "judge+rank"))]
    JudgeAndRank,
}

impl TaskKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Judge => "judge",
            Self::Rank => "rank",
            Self::JudgeAndRank => "judge+rank",
        }
    }

    /// The kind stored under `name`.
    pub fn from_stored(name: &str) -> Option<Self> {
        match name {
            "judge" => Some(Self::Judge),
            "rank" => Some(Self::Rank),
            "judge+rank" => Some(Self::JudgeAndRank),
            _ => None,
        }
    }

    /// Whether the annotator gives a label.
    pub fn judges(self) -> bool {
        matches!(self, Self::Judge | Self::JudgeAndRank)
    }

    /// Whether the annotator ranks the CoT candidates.
    pub fn ranks(self) -> bool {
        matches!(self, Self::Rank | Self::JudgeAndRank)
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_stored(s).ok_or_else(|| format!("{s:?} is not one of judge, rank, judge+rank"))
    }
}

/// What a project chooses to label next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Uniformly at random: the baseline active learning must beat.
    Random,
    /// Head entropy.
    Entropy,
    /// Head margin between the two most likely levels.
    Margin,
    /// Head least confidence.
    LeastConfidence,
    /// CoT candidates' vote entropy and their disagreement with the head.
    Committee,
    /// The weighted mix of head margin and committee, made diverse by k-center greedy.
    Hybrid,
}

impl StrategyKind {
    /// Every strategy, in a fixed order.
    pub const ALL: [StrategyKind; 6] = [
        StrategyKind::Random,
        StrategyKind::Entropy,
        StrategyKind::Margin,
        StrategyKind::LeastConfidence,
        StrategyKind::Committee,
        StrategyKind::Hybrid,
    ];

    /// The name used on the command line and in settings.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Entropy => "entropy",
            StrategyKind::Margin => "margin",
            StrategyKind::LeastConfidence => "least-confidence",
            StrategyKind::Committee => "committee",
            StrategyKind::Hybrid => "hybrid",
        }
    }

    /// The name stored in the database (the same as [`StrategyKind::name`]).
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// The strategy a name stands for.
    pub fn parse(name: &str) -> Option<StrategyKind> {
        StrategyKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What the strategy puts first, in a line for people choosing one.
    pub fn describe(self) -> &'static str {
        match self {
            StrategyKind::Hybrid => {
                "Hybrid: model margin and CoT disagreement, spread out (default)"
            }
            StrategyKind::Margin => "Model margin between its two likeliest levels",
            StrategyKind::Entropy => "Model entropy",
            StrategyKind::LeastConfidence => "Model least confidence",
            StrategyKind::Committee => "CoT candidates' disagreement",
            StrategyKind::Random => "Random (no active learning)",
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StrategyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            format!("{s:?} is not one of {}", known.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each enum reads back the name it writes, and an unknown name is an error (a
    /// stored value nothing knows must not turn silently into a default).
    #[test]
    fn every_name_reads_back_and_unknown_names_are_errors() {
        for s in [ScalePreset::Lore4, ScalePreset::Esci, ScalePreset::Wands] {
            assert_eq!(s.name().parse::<ScalePreset>(), Ok(s));
        }
        for b in FrequencyBand::ALL {
            assert_eq!(b.as_str().parse::<FrequencyBand>(), Ok(b));
        }
        for t in [TaskKind::Judge, TaskKind::Rank, TaskKind::JudgeAndRank] {
            assert_eq!(t.as_str().parse::<TaskKind>(), Ok(t));
        }
        for k in StrategyKind::ALL {
            assert_eq!(k.as_str().parse::<StrategyKind>(), Ok(k));
        }
        assert!("likert".parse::<ScalePreset>().is_err());
        assert!("body".parse::<FrequencyBand>().is_err());
        assert_eq!(
            "judge,rank".parse::<TaskKind>(),
            Err("\"judge,rank\" is not one of judge, rank, judge+rank".to_owned())
        );
        assert!("clairvoyant".parse::<StrategyKind>().is_err());
    }
}
