//! Guidelines as files, so they can live in git: one TOML document, the rules in order,
//! each with its id, title, capabilities, dimension, markdown body and worked examples
//! (docs/formats.md, "Guideline files"). `relabel guideline import` stores a file as the
//! project's draft; `relabel guideline publish` makes the draft a numbered version;
//! `relabel guideline export` writes a version (or the draft) back out.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use relabel_core::domain::{Project, RuleExample, RuleRecord};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        crate::import::tests::project()
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
