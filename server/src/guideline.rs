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
    let file: FileIn = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        GuidelineFileError {
            problems: vec![format!("{name}:{line}: {}", e.message().trim())],
        }
    })?;
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    for rule in file.rules {
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let id = rule.id.get_ref();
        if !valid_rule_id(id) {
            problems.push(format!(
                "{name}:{}: id: {id:?} must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
                at(rule.id.span())
            ));
        } else if let Some(first) = seen.insert(id.clone(), at(rule.id.span())) {
            problems.push(format!(
                "{name}:{}: id: {id:?} is used already, on line {first}",
                at(rule.id.span())
            ));
        }
        if rule.title.get_ref().trim().is_empty() {
            problems.push(format!(
                "{name}:{}: title: must not be empty",
                at(rule.title.span())
            ));
        }
        let mut examples = Vec::with_capacity(rule.examples.len());
        for example in rule.examples {
            if !project.has_label(example.label.get_ref()) {
                problems.push(format!(
                    "{name}:{}: label: {:?} is not on the project's scale ({})",
                    at(example.label.span()),
                    example.label.get_ref(),
                    project.scale_labels.join(", ")
                ));
            }
            if example.query.get_ref().trim().is_empty() {
                problems.push(format!(
                    "{name}:{}: query: must not be empty",
                    at(example.query.span())
                ));
            }
            examples.push(RuleExample {
                query: example.query.into_inner(),
                item_title: example.item_title,
                label: example.label.into_inner(),
                why: example.why,
            });
        }
        rules.push(RuleRecord {
            key: rule.id.into_inner(),
            title: rule.title.into_inner(),
            body: rule.body,
            capabilities: rule.capabilities,
            dimension: rule.dimension,
            examples,
        });
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(GuidelineFileError { problems })
    }
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
                "g.toml:7: id: \"R-1\" is used already, on line 3".to_owned(),
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
