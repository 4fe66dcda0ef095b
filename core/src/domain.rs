//! Projects, their settings, and the records an import file, the demo or a guideline
//! file turns into: pairs with their item and CoT candidates, and guideline rules. Plain
//! data with its range checks; storing them is the server's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::project::{FrequencyBand, ScalePreset, StrategyKind, TaskKind};

/// What is needed to create a project.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// URL-safe identifier, unique across the installation.
    pub slug: String,
    /// Human-readable name.
    pub name: String,
    /// The label scale.
    pub scale: ScalePreset,
    /// How many independent judgments each pair wants.
    pub overlap_k: u32,
    /// What annotators are asked to do.
    pub task: TaskKind,
}

/// Why a project could not be created as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProjectInputError {
    /// The slug is not 1-64 lowercase letters, digits or dashes.
    #[error(
        "slug {0:?} must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit"
    )]
    BadSlug(String),
    /// Overlap outside 1..=100.
    #[error("overlap {0} must be between 1 and 100")]
    BadOverlap(u32),
}

impl NewProject {
    /// Checks the slug and overlap before anything reaches storage.
    pub fn validate(&self) -> Result<(), ProjectInputError> {
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 64
            && self
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.slug.starts_with('-');
        if !slug_ok {
            return Err(ProjectInputError::BadSlug(self.slug.clone()));
        }
        if !(1..=100).contains(&self.overlap_k) {
            return Err(ProjectInputError::BadOverlap(self.overlap_k));
        }
        Ok(())
    }
}

/// A stored project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Database id.
    pub id: i64,
    /// URL-safe identifier.
    pub slug: String,
    /// Human-readable name.
    pub name: String,
    /// The scale preset.
    pub scale: ScalePreset,
    /// The scale's labels, lowest first.
    pub scale_labels: Vec<String>,
    /// Judgments wanted per pair.
    pub overlap_k: i64,
    /// What annotators are asked to do.
    pub task: TaskKind,
    /// Share of claims that look for a gold pair first.
    pub gold_rate: f64,
    /// How long a claimed pair is held for its annotator.
    pub lease_seconds: i64,
    /// Whether annotators see which model wrote each CoT candidate.
    pub reveal_models: bool,
    /// `serve` retrains the scorer after this many newly completed pairs (0: never).
    pub retrain_every: i64,
    /// The acquisition strategy that fills the queue's priorities.
    pub scorer_strategy: StrategyKind,
    /// Gold accuracy is judged over each annotator's last this many gold answers.
    pub gold_window: i64,
    /// Below this share of exact gold answers (over the window) an annotator is flagged.
    pub gold_min_accuracy: f64,
    /// Whether a flagged annotator gets no more pairs.
    pub pause_flagged: bool,
    /// A pair whose own alpha is below this goes to review.
    pub review_alpha: f64,
}

/// What a project's admins may change after creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSettings {
    /// What annotators are asked for pairs that do not set their own task.
    pub task: TaskKind,
    /// Judgments wanted per pair (1-100).
    pub overlap_k: i64,
    /// Share of claims that look for a gold pair first (0-1).
    pub gold_rate: f64,
    /// How long a claimed pair is held, in seconds (60 s to 24 h).
    pub lease_seconds: i64,
    /// Whether annotators see which model wrote each CoT candidate.
    pub reveal_models: bool,
    /// `serve` retrains the scorer after this many newly completed pairs (0: never;
    /// at most 1,000,000).
    pub retrain_every: i64,
    /// The acquisition strategy that fills the queue's priorities.
    pub scorer_strategy: StrategyKind,
    /// Gold accuracy is judged over each annotator's last this many gold answers (1-1000).
    pub gold_window: i64,
    /// Below this share of exact gold answers over the window an annotator is flagged (0-1).
    pub gold_min_accuracy: f64,
    /// Whether a flagged annotator gets no more pairs until the flag clears.
    pub pause_flagged: bool,
    /// A pair whose own Krippendorff alpha is below this goes to review (-1 to 1).
    pub review_alpha: f64,
}

impl ProjectSettings {
    /// The settings a project has now.
    pub fn of(project: &Project) -> Self {
        Self {
            task: project.task,
            overlap_k: project.overlap_k,
            gold_rate: project.gold_rate,
            lease_seconds: project.lease_seconds,
            reveal_models: project.reveal_models,
            retrain_every: project.retrain_every,
            scorer_strategy: project.scorer_strategy,
            gold_window: project.gold_window,
            gold_min_accuracy: project.gold_min_accuracy,
            pause_flagged: project.pause_flagged,
            review_alpha: project.review_alpha,
        }
    }

    /// Checks the ranges; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.overlap_k) {
            return Err(format!(
                "overlap_k: {} must be between 1 and 100",
                self.overlap_k
            ));
        }
        if !(0.0..=1.0).contains(&self.gold_rate) {
            return Err(format!(
                "gold_rate: {} must be between 0 and 1",
                self.gold_rate
            ));
        }
        if !(60..=86_400).contains(&self.lease_seconds) {
            return Err(format!(
                "lease_seconds: {} must be between 60 (1 minute) and 86400 (24 hours)",
                self.lease_seconds
            ));
        }
        if !(0..=1_000_000).contains(&self.retrain_every) {
            return Err(format!(
                "retrain_every: {} must be between 0 (never) and 1000000",
                self.retrain_every
            ));
        }
        if !(1..=1000).contains(&self.gold_window) {
            return Err(format!(
                "gold_window: {} must be between 1 and 1000 gold answers",
                self.gold_window
            ));
        }
        if !(0.0..=1.0).contains(&self.gold_min_accuracy) {
            return Err(format!(
                "gold_min_accuracy: {} must be between 0 and 1",
                self.gold_min_accuracy
            ));
        }
        if !(-1.0..=1.0).contains(&self.review_alpha) {
            return Err(format!(
                "review_alpha: {} must be between -1 and 1",
                self.review_alpha
            ));
        }
        Ok(())
    }
}

impl Project {
    /// Whether `label` is one of this project's scale labels.
    pub fn has_label(&self, label: &str) -> bool {
        self.scale_labels.iter().any(|l| l == label)
    }
}

/// One (query, item) pair as it arrives from an import file or the demo generator,
/// already validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairRecord {
    /// The query text.
    pub query: String,
    /// The query's traffic frequency, if known.
    pub query_frequency: Option<i64>,
    /// The product.
    pub item: ItemRecord,
    /// The model's chain-of-thought candidates.
    pub cot: Vec<CotRecord>,
    /// The known answer, which makes this a gold pair.
    pub gold_label: Option<String>,
    /// Capability and other tags.
    pub tags: Vec<String>,
    /// What annotators are asked for this pair (`None`: the project's task).
    pub task: Option<TaskKind>,
}

impl PairRecord {
    /// A pair of `query` and the item `item_id` titled `title`, with nothing else: no
    /// frequency, CoT candidates, gold label, tags or task of its own.
    pub fn new(
        query: impl Into<String>,
        item_id: impl Into<String>,
        title: impl Into<String>,
    ) -> Self {
        Self {
            query: query.into(),
            query_frequency: None,
            item: ItemRecord {
                id: item_id.into(),
                title: title.into(),
                category: vec![],
                attributes: BTreeMap::new(),
                price: None,
                images: vec![],
                description: None,
            },
            cot: vec![],
            gold_label: None,
            tags: vec![],
            task: None,
        }
    }
}

/// A product as imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRecord {
    /// The catalog's id for the item.
    pub id: String,
    /// Product title.
    pub title: String,
    /// Category path, broadest first.
    pub category: Vec<String>,
    /// Attribute dimension to value.
    pub attributes: BTreeMap<String, String>,
    /// Price, if known.
    pub price: Option<f64>,
    /// Image URLs (never fetched by the server).
    pub images: Vec<String>,
    /// Optional description.
    pub description: Option<String>,
}

/// One model chain-of-thought output for a pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CotRecord {
    /// The model that produced it.
    pub model: String,
    /// The full reasoning text.
    pub text: String,
    /// The reasoning split into steps.
    pub steps: Vec<String>,
    /// The label the model predicted, if it reached one.
    pub label: Option<String>,
}

/// A rule of a guideline, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRecord {
    /// Stable id such as `R-BRAND-01`.
    pub key: String,
    /// Short title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Capability tags.
    pub capabilities: Vec<String>,
    /// The attribute dimension the rule governs.
    pub dimension: Option<String>,
    /// Worked examples: pairs with the label the rule gives them.
    pub examples: Vec<RuleExample>,
}

/// A worked example of a rule, written inline: a query, an item, the label the rule
/// gives, and a one-line why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleExample {
    /// The query.
    pub query: String,
    /// The item's title.
    pub item_title: String,
    /// The label the rule gives (one of the project's scale labels).
    pub label: String,
    /// Why, in one line.
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(slug: &str, k: u32) -> NewProject {
        NewProject {
            slug: slug.into(),
            name: slug.into(),
            scale: ScalePreset::Lore4,
            overlap_k: k,
            task: TaskKind::Judge,
        }
    }

    #[test]
    fn slugs_are_url_safe() {
        assert!(project("shoes-2026", 3).validate().is_ok());
        for bad in ["", "Shoes", "a b", "-x", "x/y", &"a".repeat(65)] {
            assert!(matches!(
                project(bad, 3).validate(),
                Err(ProjectInputError::BadSlug(_))
            ));
        }
    }

    #[test]
    fn overlap_is_bounded() {
        assert_eq!(
            project("a", 0).validate(),
            Err(ProjectInputError::BadOverlap(0))
        );
        assert!(project("a", 100).validate().is_ok());
    }

    #[test]
    fn presets_are_ordinal_lowest_first() {
        assert_eq!(ScalePreset::Lore4.labels().first(), Some(&"L1"));
        assert_eq!(ScalePreset::Esci.labels().last(), Some(&"Exact"));
        assert_eq!("wands".parse::<ScalePreset>(), Ok(ScalePreset::Wands));
    }
}
