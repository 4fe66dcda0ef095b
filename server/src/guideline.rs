//! Guidelines as files, so they can live in git: one TOML document, the rules in order,
//! each with its id, title, capabilities, dimension, markdown body and worked examples
//! (docs/formats.md, "Guideline files"). `relabel guideline import` stores a file as the
//! project's draft; `relabel guideline publish` makes the draft a numbered version;
//! `relabel guideline export` writes a version (or the draft) back out.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::domain::{Project, RuleExample, RuleRecord};

/// What the file's top level holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(default)]
    rules: Vec<RuleIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleIn {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    dimension: Option<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    examples: Vec<ExampleIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleIn {
    query: Spanned<String>,
    item_title: String,
    label: Spanned<String>,
    #[serde(default)]
    why: String,
}

#[derive(Debug, Serialize)]
struct FileOut<'a> {
    rules: Vec<RuleOut<'a>>,
}

#[derive(Debug, Serialize)]
struct RuleOut<'a> {
    id: &'a str,
    title: &'a str,
    capabilities: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    dimension: Option<&'a str>,
    body: &'a str,
    examples: &'a [RuleExample],
}

/// Why a guideline file was refused: every problem, each as `FILE:LINE: field: what`.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct GuidelineFileError {
    /// The problems, in file order.
    pub problems: Vec<String>,
}

/// The line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Whether a rule id is 1-64 of letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit (such as `R-BRAND-01`).
pub fn valid_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads a guideline file's text for `project`. `name` is what errors call the file.
///
/// # Errors
///
/// Every problem found: TOML syntax, unknown or missing fields, a bad or repeated rule
/// id, an empty title, an example label off the project's scale.
pub fn parse(
    project: &Project,
    name: &str,
    text: &str,
) -> Result<Vec<RuleRecord>, GuidelineFileError> {
    parse_on_scale(&project.scale_labels, name, text)
}

/// [`parse`] against a scale's labels rather than a stored project's (the demo's default
/// guideline is read before its project exists).
///
/// # Errors
///
/// As [`parse`].
pub fn parse_on_scale(
    scale_labels: &[String],
    name: &str,
    text: &str,
) -> Result<Vec<RuleRecord>, GuidelineFileError> {
    let file: FileIn = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        GuidelineFileError {
            problems: vec![format!("{name}:{line}: {}", e.message().trim())],
        }
    })?;
    // Where each checked field sits: the line of a rule's id and title, and of each
    // example's query and label.
    let line = |span: std::ops::Range<usize>| line_of(text, span.start);
    // Per rule: the lines of its id and title, and of each example's query and label.
    type RuleLines = (usize, usize, Vec<(usize, usize)>);
    let mut lines: Vec<RuleLines> = Vec::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    for rule in file.rules {
        lines.push((
            line(rule.id.span()),
            line(rule.title.span()),
            rule.examples
                .iter()
                .map(|e| (line(e.query.span()), line(e.label.span())))
                .collect(),
        ));
        rules.push(RuleRecord {
            key: rule.id.into_inner(),
            title: rule.title.into_inner(),
            body: rule.body,
            capabilities: rule.capabilities,
            dimension: rule.dimension,
            examples: rule
                .examples
                .into_iter()
                .map(|e| RuleExample {
                    query: e.query.into_inner(),
                    item_title: e.item_title,
                    label: e.label.into_inner(),
                    why: e.why,
                })
                .collect(),
        });
    }
    let problems = check(scale_labels, &rules, |at| {
        let (id, title, examples) = &lines[at.rule];
        let n = match (at.example, at.field) {
            (Some(e), "label") => examples[e].1,
            (Some(e), _) => examples[e].0,
            (None, "title") => *title,
            (None, _) => *id,
        };
        format!("{name}:{n}")
    });
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(GuidelineFileError { problems })
    }
}

/// Where a problem is: the rule's index, the example's index, and the field.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// The rule, 0-based.
    pub rule: usize,
    /// The example of the rule, 0-based, when the problem is in one.
    pub example: Option<usize>,
    /// The field.
    pub field: &'static str,
}

/// Checks rules before they are stored as a draft: ids well-formed and unique, titles
/// not empty, example queries not empty and labels on the project's scale. Each problem
/// is `WHERE: field: what`, with `WHERE` from `locate` (a file's line, or `rules[2]`).
pub fn check(
    scale_labels: &[String],
    rules: &[RuleRecord],
    locate: impl Fn(At) -> String,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let at = |rule, example, field| At {
        rule,
        example,
        field,
    };
    for (i, rule) in rules.iter().enumerate() {
        let id = rule.key.as_str();
        if !valid_rule_id(id) {
            problems.push(format!(
                "{}: id: {id:?} must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
                locate(at(i, None, "id"))
            ));
        } else if let Some(first) = seen.insert(id, i) {
            problems.push(format!(
                "{}: id: {id:?} is used already, by the rule at {}",
                locate(at(i, None, "id")),
                locate(at(first, None, "id"))
            ));
        }
        if rule.title.trim().is_empty() {
            problems.push(format!(
                "{}: title: must not be empty",
                locate(at(i, None, "title"))
            ));
        }
        for (e, example) in rule.examples.iter().enumerate() {
            if example.query.trim().is_empty() {
                problems.push(format!(
                    "{}: query: must not be empty",
                    locate(at(i, Some(e), "query"))
                ));
            }
            if !scale_labels.contains(&example.label) {
                problems.push(format!(
                    "{}: label: {:?} is not on the project's scale ({})",
                    locate(at(i, Some(e), "label")),
                    example.label,
                    scale_labels.join(", ")
                ));
            }
        }
    }
    problems
}

/// Writes rules as a guideline file, with a comment saying where they came from.
pub fn write(rules: &[RuleRecord], comment: &str) -> String {
    let file = FileOut {
        rules: rules
            .iter()
            .map(|r| RuleOut {
                id: &r.key,
                title: &r.title,
                capabilities: &r.capabilities,
                dimension: r.dimension.as_deref(),
                body: &r.body,
                examples: &r.examples,
            })
            .collect(),
    };
    // Serialising strings, lists and tables of them cannot fail.
    let body = toml::to_string_pretty(&file).unwrap_or_default();
    let header: String = comment.lines().map(|l| format!("# {l}\n")).collect();
    format!("{header}\n{body}")
}

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

    fn project() -> Project {
        crate::queue::tests::project()
    }

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

    #[test]
    fn a_written_file_reads_back_the_same_rules() {
        let rules = vec![
            rule(
                "R-BRAND-01",
                "A **brand** asked for must match.\n\n- line '''one'''\n- \"two\"\n",
            ),
            rule("R-COLOR-01", "Colour: <script>x</script> stays text."),
        ];
        let text = write(&rules, "relabel guideline\nversion 3");
        assert!(
            text.starts_with("# relabel guideline\n# version 3\n"),
            "{text}"
        );
        assert_eq!(parse(&project(), "g.toml", &text).unwrap(), rules);
    }

    #[test]
    fn every_problem_is_named_with_its_line_and_field() {
        let text = r#"
[[rules]]
id = "R-1"
title = "One"

[[rules]]
id = "R-1"
title = " "

[[rules.examples]]
query = "q"
item_title = "t"
label = "L9"

[[rules]]
id = "bad id!"
title = "Three"
"#;
        let err = parse(&project(), "g.toml", text).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "g.toml:7: id: \"R-1\" is used already, by the rule at g.toml:3".to_owned(),
                "g.toml:8: title: must not be empty".to_owned(),
                "g.toml:13: label: \"L9\" is not on the project's scale (L1, L2, L3, L4)".to_owned(),
                "g.toml:16: id: \"bad id!\" must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit".to_owned(),
            ]
        );
        let err = parse(
            &project(),
            "g.toml",
            "[[rules]]\nid = \"R-1\"\ntitle = \"x\"\ncolour = 1\n",
        )
        .unwrap_err();
        assert!(
            err.problems[0].starts_with("g.toml:4: "),
            "{:?}",
            err.problems
        );
        assert!(err.problems[0].contains("colour"), "{:?}", err.problems);
        let err = parse(&project(), "g.toml", "[[rules]]\nid = \"R-1\"\n").unwrap_err();
        assert!(err.problems[0].contains("title"), "{:?}", err.problems);
        let err = parse(&project(), "g.toml", "[[rules]\n").unwrap_err();
        assert!(
            err.problems[0].starts_with("g.toml:1: "),
            "{:?}",
            err.problems
        );
    }
}
