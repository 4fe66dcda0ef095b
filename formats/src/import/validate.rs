//! Checks one raw pair from an import file and turns it into a [`PairRecord`], naming
//! every field that is wrong.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use super::FieldError;
use relabel_core::domain::{CotRecord, ItemRecord, PairRecord, Project, TaskKind};

/// Most CoT candidates one pair may carry (the ranking screen handles 2 to 8).
pub const MAX_COT_CANDIDATES: usize = 8;
const MAX_STEPS: usize = 64;
const MAX_TEXT: usize = 4_000;
const MAX_LONG_TEXT: usize = 100_000;
const MAX_IMAGES: usize = 32;
const MAX_TAGS: usize = 32;

/// A pair as written in a JSONL line, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPair {
    pub query: String,
    #[serde(default)]
    pub query_frequency: Option<i64>,
    pub item: RawItem,
    #[serde(default)]
    pub cot: Vec<RawCot>,
    #[serde(default)]
    pub gold_label: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub task: Option<String>,
}

/// An item as written in a JSONL line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    pub id: Scalar,
    pub title: String,
    #[serde(default)]
    pub category: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A CoT candidate as written in a JSONL line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCot {
    pub model: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub label: Option<String>,
}

/// A string, number or boolean where the catalog may write any of them (ids, attribute values).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// Written as a string.
    Text(String),
    /// Written as a number.
    Number(serde_json::Number),
    /// Written as true/false.
    Bool(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
        }
    }
}

/// Collects the errors of one line.
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Checks a required or optional text: trimmed, non-empty, bounded, no control characters.
    fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.fail(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.fail(field, format!("is longer than {max} characters"));
        } else if let Some(c) = trimmed
            .chars()
            .find(|c| c.is_control() && *c != '\n' && *c != '\t')
        {
            self.fail(
                field,
                format!("contains the control character U+{:04X}", c as u32),
            );
        }
        trimmed.to_owned()
    }

    fn label(&mut self, field: &str, label: Option<String>, project: &Project) -> Option<String> {
        let label = label?.trim().to_owned();
        if !project.has_label(&label) {
            self.fail(
                field,
                format!(
                    "{label:?} is not on the project's scale ({})",
                    project.scale_labels.join(", ")
                ),
            );
        }
        Some(label)
    }
}

/// Validates a raw pair against `project` (its label scale).
pub fn validate(raw: RawPair, project: &Project) -> Result<PairRecord, Vec<FieldError>> {
    let mut check = Check { errors: Vec::new() };
    let query = check.text("query", &raw.query, MAX_TEXT);
    if let Some(f) = raw.query_frequency
        && f < 0
    {
        check.fail("query_frequency", format!("must be 0 or more, got {f}"));
    }
    let item = validate_item(&mut check, raw.item);

    if raw.cot.len() > MAX_COT_CANDIDATES {
        check.fail(
            "cot",
            format!(
                "at most {MAX_COT_CANDIDATES} CoT candidates per pair, got {}",
                raw.cot.len()
            ),
        );
    }
    let cot_count = raw.cot.len();
    let cot = raw
        .cot
        .into_iter()
        .take(MAX_COT_CANDIDATES)
        .enumerate()
        .map(|(i, c)| validate_cot(&mut check, i, c, project))
        .collect();

    let gold_label = check.label("gold_label", raw.gold_label, project);

    if raw.tags.len() > MAX_TAGS {
        check.fail(
            "tags",
            format!("at most {MAX_TAGS} tags, got {}", raw.tags.len()),
        );
    }
    let mut tags: Vec<String> = raw
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| check.text(&format!("tags[{i}]"), t, 64))
        .collect();
    tags.sort();
    tags.dedup();

    let task = raw.task.as_deref().map(str::trim).and_then(|t| {
        let kind = TaskKind::from_stored(t);
        match kind {
            None => check.fail(
                "task",
                format!("{t:?} is not one of judge, rank, judge+rank"),
            ),
            Some(k) if k.ranks() && !(2..=MAX_COT_CANDIDATES).contains(&cot_count) => check.fail(
                "task",
                format!(
                    "{t} needs 2 to {MAX_COT_CANDIDATES} CoT candidates to rank, got {cot_count}"
                ),
            ),
            Some(_) => {}
        }
        kind
    });

    if check.errors.is_empty() {
        Ok(PairRecord {
            query,
            query_frequency: raw.query_frequency,
            item,
            cot,
            gold_label,
            tags,
            task,
        })
    } else {
        Err(check.errors)
    }
}

fn validate_item(check: &mut Check, raw: RawItem) -> ItemRecord {
    let id = check.text("item.id", &raw.id.into_string(), 200);
    let title = check.text("item.title", &raw.title, MAX_TEXT);
    if raw.category.len() > 16 {
        check.fail("item.category", "at most 16 levels");
    }
    let category = raw
        .category
        .iter()
        .enumerate()
        .map(|(i, c)| check.text(&format!("item.category[{i}]"), c, 200))
        .collect();
    let mut attributes = BTreeMap::new();
    for (key, value) in raw.attributes {
        let field = format!("item.attributes.{key}");
        let key = check.text(&field, &key, 64);
        let value = check.text(&field, &value.into_string(), 1_000);
        attributes.insert(key, value);
    }
    if let Some(price) = raw.price
        && !(price.is_finite() && price >= 0.0)
    {
        check.fail(
            "item.price",
            format!("must be a number of 0 or more, got {price}"),
        );
    }
    if raw.images.len() > MAX_IMAGES {
        check.fail("item.images", format!("at most {MAX_IMAGES} images"));
    }
    let images = raw
        .images
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let field = format!("item.images[{i}]");
            if let Err(why) = check_image_url(url.trim()) {
                check.fail(field, why);
            }
            url.trim().to_owned()
        })
        .collect();
    let description = raw
        .description
        .filter(|d| !d.trim().is_empty())
        .map(|d| check.text("item.description", &d, MAX_LONG_TEXT));
    ItemRecord {
        id,
        title,
        category,
        attributes,
        price: raw.price,
        images,
        description,
    }
}

fn validate_cot(check: &mut Check, index: usize, raw: RawCot, project: &Project) -> CotRecord {
    let field = |name: &str| format!("cot[{index}].{name}");
    let model = check.text(&field("model"), &raw.model, 200);
    if raw.steps.len() > MAX_STEPS {
        check.fail(field("steps"), format!("at most {MAX_STEPS} steps"));
    }
    let steps: Vec<String> = raw
        .steps
        .iter()
        .take(MAX_STEPS)
        .enumerate()
        .map(|(i, s)| check.text(&format!("cot[{index}].steps[{i}]"), s, MAX_TEXT))
        .collect();
    let text = match raw.text {
        Some(text) => check.text(&field("text"), &text, MAX_LONG_TEXT),
        None if !steps.is_empty() => steps.join("\n"),
        None => {
            check.fail(field("text"), "a candidate needs its text or its steps");
            String::new()
        }
    };
    let label = check.label(&field("label"), raw.label, project);
    CotRecord {
        model,
        text,
        steps,
        label,
    }
}

/// Image references are shown to annotators by their browser, never fetched by the
/// server; still, only public http(s) URLs are accepted, so a file path or an internal
/// address cannot be planted for anything that renders them later.
fn check_image_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{raw:?} must be an http or https URL"));
    }
    let private = match url.host() {
        None => true,
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal")
        }
        Some(url::Host::Ipv4(ip)) => private_v4(ip),
        Some(url::Host::Ipv6(ip)) => private_v6(ip),
    };
    if private {
        return Err(format!("{raw:?} points at a local or private host"));
    }
    Ok(())
}

fn private_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.octets()[0] == 0
}

fn private_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || (ip.segments()[0] & 0xfe00) == 0xfc00
        || (ip.segments()[0] & 0xffc0) == 0xfe80
        || ip.to_ipv4_mapped().is_some_and(private_v4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls_must_be_public_http() {
        assert!(check_image_url("https://images.example.com/a.jpg").is_ok());
        for bad in [
            "file:///etc/passwd",
            "/var/www/a.jpg",
            "http://127.0.0.1/a.jpg",
            "http://localhost:8080/a.jpg",
            "http://10.1.2.3/a.jpg",
            "http://[::1]/a.jpg",
            "http://169.254.169.254/latest/meta-data",
            "ftp://example.com/a.jpg",
        ] {
            assert!(check_image_url(bad).is_err(), "{bad} was accepted");
        }
    }
}
