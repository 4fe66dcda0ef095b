//! The CSV import format: a header row naming the columns, then one pair per row.
//! Lists inside a cell use `|` (tags, images), a category path uses `>`, attributes are
//! `key:value|key:value`. CSV carries no CoT candidates; use JSONL for those.

use std::collections::BTreeMap;
use std::io::Read;

use super::validate::{RawItem, RawPair, Scalar};
use super::{FieldError, ParseRun};

/// Every column the CSV format knows; `query`, `item_id` and `item_title` are required.
pub const COLUMNS: [&str; 11] = [
    "query",
    "query_frequency",
    "item_id",
    "item_title",
    "item_category",
    "item_price",
    "item_image",
    "item_attributes",
    "item_description",
    "gold_label",
    "tags",
];
const REQUIRED: [&str; 3] = ["query", "item_id", "item_title"];

/// Reads a CSV file into `run`, row by row.
pub(super) fn read_csv(run: &mut ParseRun<'_>, file: impl Read) -> std::io::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            run.reject(1, vec![csv_error("header", &e)]);
            return Ok(());
        }
    };
    let mut columns: Vec<&'static str> = Vec::with_capacity(headers.len());
    let mut header_errors = Vec::new();
    for (i, raw) in headers.iter().enumerate() {
        let name = String::from_utf8_lossy(raw);
        let name = name.trim_start_matches('\u{feff}').trim();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if columns.contains(c) => header_errors.push(FieldError {
                field: format!("header column {}", i + 1),
                message: format!("{name:?} appears twice"),
            }),
            Some(c) => columns.push(c),
            None => header_errors.push(FieldError {
                field: format!("header column {}", i + 1),
                message: format!("unknown column {name:?}; known: {}", COLUMNS.join(", ")),
            }),
        }
    }
    for required in REQUIRED {
        if !columns.contains(&required) {
            header_errors.push(FieldError {
                field: "header".into(),
                message: format!("the required column {required:?} is missing"),
            });
        }
    }
    if !header_errors.is_empty() {
        run.reject(1, header_errors);
        return Ok(());
    }

    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while !run.stopped {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(std::io::Error::other(e.to_string()));
                }
                let line = e.position().map_or(0, csv::Position::line);
                run.reject(line, vec![csv_error("row", &e)]);
                continue;
            }
        }
        let position = record.position().cloned();
        let line = position.as_ref().map_or(0, csv::Position::line);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        run.lines += 1;
        let parsed = row_to_raw(&columns, &record).and_then(|raw| {
            super::validate::validate(raw, run.project).map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: csv_column_of(&e.field).to_owned(),
                        message: e.message,
                    })
                    .collect()
            })
        });
        run.accept(line, parsed);
        rows += 1;
        if rows.is_multiple_of(1024)
            && let Some(p) = position
        {
            run.out.progress(p.byte());
        }
    }
    Ok(())
}

/// The CSV column a validation field path comes from (`item.images[2]` is `item_image`).
fn csv_column_of(field: &str) -> &str {
    let head = field.split(['[', '.']).collect::<Vec<_>>();
    match head.as_slice() {
        ["item", "id", ..] => "item_id",
        ["item", "title", ..] => "item_title",
        ["item", "category", ..] => "item_category",
        ["item", "price", ..] => "item_price",
        ["item", "images", ..] => "item_image",
        ["item", "attributes", ..] => "item_attributes",
        ["item", "description", ..] => "item_description",
        ["tags", ..] => "tags",
        _ => field,
    }
}

fn csv_error(field: &str, e: &csv::Error) -> FieldError {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not valid UTF-8 (bad byte at position {})",
            err.field() + 1,
            err.valid_up_to() + 1
        ),
        _ => e.to_string(),
    };
    FieldError {
        field: field.into(),
        message,
    }
}

/// Parses an optional numeric cell, recording `"text" is not WHAT` under `column` on failure.
fn parse_cell<T: std::str::FromStr>(
    cell: Option<String>,
    column: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let text = cell?;
    match text.trim().parse() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.push(FieldError {
                field: column.into(),
                message: format!("{text:?} is not {what}"),
            });
            None
        }
    }
}

/// Turns a CSV row into the same raw pair a JSONL line gives.
fn row_to_raw(
    columns: &[&'static str],
    record: &csv::ByteRecord,
) -> Result<RawPair, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut cells: BTreeMap<&str, String> = BTreeMap::new();
    for (column, raw) in columns.iter().zip(record.iter()) {
        match std::str::from_utf8(raw) {
            Ok(text) => {
                if !text.trim().is_empty() {
                    cells.insert(column, text.to_owned());
                }
            }
            Err(e) => errors.push(FieldError {
                field: (*column).into(),
                message: format!(
                    "is not valid UTF-8 (bad byte at position {})",
                    e.valid_up_to() + 1
                ),
            }),
        }
    }
    let mut take = |name: &str| cells.remove(name);
    let list = |cell: Option<String>, sep: char| -> Vec<String> {
        cell.map(|c| c.split(sep).map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    };
    let query = take("query").unwrap_or_default();
    let query_frequency = parse_cell::<i64>(
        take("query_frequency"),
        "query_frequency",
        "a whole number",
        &mut errors,
    );
    let price = parse_cell::<f64>(take("item_price"), "item_price", "a number", &mut errors);
    let mut attributes = BTreeMap::new();
    for pair in list(take("item_attributes"), '|') {
        match pair.split_once(':') {
            Some((k, v)) => {
                attributes.insert(k.trim().to_owned(), Scalar::Text(v.trim().to_owned()));
            }
            None => errors.push(FieldError {
                field: "item_attributes".into(),
                message: format!("{pair:?} is not key:value"),
            }),
        }
    }
    let item = RawItem {
        id: Scalar::Text(take("item_id").unwrap_or_default()),
        title: take("item_title").unwrap_or_default(),
        category: list(take("item_category"), '>'),
        attributes,
        price,
        images: list(take("item_image"), '|'),
        description: take("item_description"),
    };
    let raw = RawPair {
        query,
        query_frequency,
        item,
        cot: Vec::new(),
        gold_label: take("gold_label"),
        tags: list(take("tags"), '|'),
        task: None,
    };
    if errors.is_empty() {
        Ok(raw)
    } else {
        Err(errors)
    }
}
