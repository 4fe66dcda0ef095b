//! The system and user texts of exported prompts, rendered from the templates in
//! `server/templates/export/` (askama), so a team can change the prompt without
//! touching code.

use askama::Template;

use super::ExportPair;
use crate::domain::{Project, RuleRecord};

/// The system text: the task, the scale and the guideline's rules.
#[derive(Template)]
#[template(path = "export/system.txt", escape = "none")]
struct System<'a> {
    scale: String,
    rules: &'a [RuleRecord],
}

/// The user text: the query and the item.
#[derive(Template)]
#[template(path = "export/user.txt", escape = "none")]
struct User<'a> {
    query: &'a str,
    title: &'a str,
    category: String,
    price: Option<String>,
    attributes: Vec<(&'a str, &'a str)>,
    description: Option<&'a str>,
}

/// Renders the system text for `project` with `rules`.
pub fn system(project: &Project, rules: &[RuleRecord]) -> String {
    System {
        scale: project.scale_labels.join(", "),
        rules,
    }
    .render()
    .unwrap_or_default()
}

/// Renders the user text for a pair.
pub fn user(pair: &ExportPair) -> String {
    User {
        query: &pair.query,
        title: &pair.item_title,
        category: pair.category.join(" > "),
        price: pair.price.map(|p| format!("{p:.2}")),
        attributes: pair
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        description: pair.description.as_deref(),
    }
    .render()
    .unwrap_or_default()
}
