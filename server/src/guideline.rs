//! The guideline as the JSON API and the pages see it: rules as JSON ([`RuleJson`]) and
//! the word-level diff between two versions. The file format (`relabel guideline
//! import/export`: parse, check, write) is `relabel_formats::guideline`, re-exported here
//! so the server names one module for both.

use serde::{Deserialize, Serialize};

pub use relabel_formats::guideline::{
    At, GuidelineFileError, check, parse, parse_on_scale, valid_rule_id, write,
};

use crate::domain::{RuleExample, RuleRecord};

/// A rule as the JSON API reads and writes it (the file's fields, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleJson {
    /// Stable id such as `R-BRAND-01`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Capability tags.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// The attribute dimension it governs.
    #[serde(default)]
    pub dimension: Option<String>,
    /// Markdown body.
    #[serde(default)]
    pub body: String,
    /// Worked examples.
    #[serde(default)]
    pub examples: Vec<RuleExample>,
}

impl From<RuleJson> for RuleRecord {
    fn from(r: RuleJson) -> Self {
        Self {
            key: r.id,
            title: r.title,
            body: r.body,
            capabilities: r.capabilities,
            dimension: r.dimension,
            examples: r.examples,
        }
    }
}

impl From<RuleRecord> for RuleJson {
    fn from(r: RuleRecord) -> Self {
        Self {
            id: r.key,
            title: r.title,
            body: r.body,
            capabilities: r.capabilities,
            dimension: r.dimension,
            examples: r.examples,
        }
    }
}

/// A rule as a diff names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleName {
    /// The rule's id.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// One run of words in a body diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DiffSpan {
    /// `same`, `added` or `removed`.
    pub op: String,
    /// The words, with the whitespace between them.
    pub text: String,
}

/// A rule present in both versions whose content differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleChange {
    /// The rule's id.
    pub id: String,
    /// The title before.
    pub title_before: String,
    /// The title after.
    pub title_after: String,
    /// The body, word by word.
    pub body: Vec<DiffSpan>,
    /// Whether the worked examples differ.
    pub examples_changed: bool,
    /// Whether the capability tags or the dimension differ.
    pub tags_changed: bool,
}

/// What changed between two versions of a guideline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GuidelineDiff {
    /// Rules only in the newer version.
    pub added: Vec<RuleName>,
    /// Rules only in the older version.
    pub removed: Vec<RuleName>,
    /// Rules in both whose content differs (order alone is not a change).
    pub changed: Vec<RuleChange>,
    /// Rules in both, the same.
    pub unchanged: usize,
}

/// The word-level diff of two texts.
pub fn word_diff(before: &str, after: &str) -> Vec<DiffSpan> {
    let diff = similar::TextDiff::from_words(before, after);
    let mut spans: Vec<DiffSpan> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            similar::ChangeTag::Equal => "same",
            similar::ChangeTag::Insert => "added",
            similar::ChangeTag::Delete => "removed",
        };
        match spans.last_mut() {
            Some(last) if last.op == op => last.text.push_str(change.value()),
            _ => spans.push(DiffSpan {
                op: op.to_owned(),
                text: change.value().to_owned(),
            }),
        }
    }
    spans
}

/// What changed from `before` to `after`, rules matched by id.
pub fn diff(before: &[RuleRecord], after: &[RuleRecord]) -> GuidelineDiff {
    let name = |r: &RuleRecord| RuleName {
        id: r.key.clone(),
        title: r.title.clone(),
    };
    let old: std::collections::HashMap<&str, &RuleRecord> =
        before.iter().map(|r| (r.key.as_str(), r)).collect();
    let new: std::collections::HashSet<&str> = after.iter().map(|r| r.key.as_str()).collect();
    let mut result = GuidelineDiff {
        added: Vec::new(),
        removed: before
            .iter()
            .filter(|r| !new.contains(r.key.as_str()))
            .map(name)
            .collect(),
        changed: Vec::new(),
        unchanged: 0,
    };
    for rule in after {
        let Some(was) = old.get(rule.key.as_str()) else {
            result.added.push(name(rule));
            continue;
        };
        let tags_changed = was.capabilities != rule.capabilities || was.dimension != rule.dimension;
        let examples_changed = was.examples != rule.examples;
        if was.title == rule.title && was.body == rule.body && !tags_changed && !examples_changed {
            result.unchanged += 1;
            continue;
        }
        result.changed.push(RuleChange {
            id: rule.key.clone(),
            title_before: was.title.clone(),
            title_after: rule.title.clone(),
            body: word_diff(&was.body, &rule.body),
            examples_changed,
            tags_changed,
        });
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(key: &str, body: &str) -> RuleRecord {
        RuleRecord {
            key: key.into(),
            title: format!("Title of {key}"),
            body: body.into(),
            capabilities: vec!["rule-adherence".into()],
            dimension: Some("brand".into()),
            examples: vec![RuleExample {
                query: "nike shoes".into(),
                item_title: "Adidas \"Samba\" shoes".into(),
                label: "L2".into(),
                why: "another brand".into(),
            }],
        }
    }

    #[test]
    fn a_diff_names_added_removed_and_changed_rules_word_by_word() {
        let before = vec![
            rule("R-1", "An item of another brand is L2."),
            rule("R-2", "Colour must match."),
            rule("R-3", "Same."),
        ];
        let mut changed = rule("R-1", "An item of another brand is L1.");
        changed.examples[0].label = "L1".into();
        let after = vec![rule("R-3", "Same."), changed, rule("R-4", "New.")];
        let d = diff(&before, &after);
        assert_eq!(
            d.added.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["R-4"]
        );
        assert_eq!(
            d.removed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["R-2"]
        );
        assert_eq!(d.unchanged, 1, "moving R-3 first is not a change");
        assert_eq!(d.changed.len(), 1);
        let c = &d.changed[0];
        assert!(c.examples_changed && !c.tags_changed);
        let text = |op: &str| -> String {
            c.body
                .iter()
                .filter(|s| s.op == op)
                .map(|s| s.text.as_str())
                .collect()
        };
        assert_eq!(text("removed"), "L2.");
        assert_eq!(text("added"), "L1.");
        assert_eq!(text("same"), "An item of another brand is ");
    }
}
