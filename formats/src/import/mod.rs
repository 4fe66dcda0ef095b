//! Reading pools of pairs from JSONL or CSV files (formats in `docs/formats.md`), line by
//! line, without a database: every line is validated ([`validate`]) and checked against
//! the lines before it (one query frequency per query, one content per item id and per
//! pair), good records go out in batches through [`Batches`], and bad ones are named as
//! `FILE:LINE: field: what is wrong`. The server's import streams the batches into one
//! storage transaction; [`read_all`] keeps them in memory (the benchmarks, the fuzz
//! targets).

mod csv_format;
mod validate;

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use relabel_core::domain::{PairRecord, Project, TaskKind};
use serde::Serialize;

pub use validate::MAX_COT_CANDIDATES;

/// Longest line a JSONL file may have.
pub const MAX_LINE_BYTES: usize = 10 * 1024 * 1024;

/// The file formats `relabel import pairs` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ImportFormat {
    /// One JSON object per line (the canonical format).
    Jsonl,
    /// A header row, then one pair per row.
    Csv,
}

impl ImportFormat {
    /// Guesses the format from the file extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// One thing wrong with one field of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field, as a path such as `item.price` or `cot[1].label`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A field error located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Most bad lines reported one by one (the rest are counted).
    pub max_errors: usize,
    /// Records per batch.
    pub batch_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            max_errors: 50,
            batch_size: 2_000,
        }
    }
}

/// Where a parse sends what it reads.
pub trait Batches {
    /// Takes good records and the line each came from. No batch comes once a line was
    /// bad. Answering `false` stops the parse (the receiver failed).
    fn batch(&mut self, records: Vec<PairRecord>, lines: Vec<u64>) -> bool;

    /// The parse has read this many bytes of the file (now and then, for a progress bar).
    fn progress(&mut self, _bytes_read: u64) {}
}

/// What a whole file said: the lines read and every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Pair lines read (blank lines and the CSV header excluded).
    pub lines: u64,
    /// Lines repeating an earlier line of the same file exactly (sent once).
    pub duplicate_lines: u64,
    /// Lines whose pair has two CoT candidates with the same text.
    pub identical_candidate_lines: u64,
    /// The first of those, one warning a line.
    pub warnings: Vec<LineError>,
    /// Bad lines in all; when above zero the file must be refused whole.
    pub bad_lines: u64,
    /// The first bad lines' errors, in file order (at most `max_errors`).
    pub errors: Vec<LineError>,
}

/// Parses `reader`, a file of `format` that errors call `file`, for `project`, sending
/// good records to `out` in batches of `options.batch_size`.
///
/// # Errors
///
/// Only reading failed; bad lines are in the summary.
pub fn parse(
    file: &str,
    project: &Project,
    format: ImportFormat,
    reader: impl Read,
    options: ReadOptions,
    out: &mut dyn Batches,
) -> std::io::Result<Summary> {
    let mut run = ParseRun::new(file, project, options, out);
    match format {
        ImportFormat::Jsonl => run.read_jsonl(reader)?,
        ImportFormat::Csv => csv_format::read_csv(&mut run, reader)?,
    }
    Ok(run.finish())
}

/// Why [`read_all`] answered no records.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file has bad lines.
    #[error("{file}: {bad_lines} bad line(s)")]
    Rejected {
        /// The file.
        file: String,
        /// The first errors, in file order.
        errors: Vec<LineError>,
        /// How many lines were bad in all.
        bad_lines: u64,
    },
    /// Reading failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Reads a whole file into memory as an import would read it: every record, or every
/// problem.
///
/// # Errors
///
/// [`ReadError::Rejected`] with the bad lines, or [`ReadError::Io`].
pub fn read_all(
    file: &str,
    project: &Project,
    format: ImportFormat,
    reader: impl Read,
    options: ReadOptions,
) -> Result<Vec<PairRecord>, ReadError> {
    struct Keep(Vec<PairRecord>);
    impl Batches for Keep {
        fn batch(&mut self, records: Vec<PairRecord>, _lines: Vec<u64>) -> bool {
            self.0.extend(records);
            true
        }
    }
    let mut keep = Keep(Vec::new());
    let summary = parse(file, project, format, reader, options, &mut keep).map_err(|source| {
        ReadError::Io {
            file: file.to_owned(),
            source,
        }
    })?;
    if summary.bad_lines > 0 {
        return Err(ReadError::Rejected {
            file: file.to_owned(),
            errors: summary.errors,
            bad_lines: summary.bad_lines,
        });
    }
    Ok(keep.0)
}

/// Where an earlier line of the file defined something, and a fingerprint of what it said.
#[derive(Clone, Copy)]
struct Seen {
    line: u64,
    fingerprint: u64,
}

/// The state of one parse: consistency indexes, the current batch, the errors so far.
struct ParseRun<'a> {
    file: String,
    project: &'a Project,
    options: ReadOptions,
    out: &'a mut dyn Batches,
    batch: Vec<PairRecord>,
    batch_lines: Vec<u64>,
    lines: u64,
    duplicate_lines: u64,
    bad_lines: u64,
    errors: Vec<LineError>,
    identical_candidate_lines: u64,
    warnings: Vec<LineError>,
    /// Query text hash to (line, frequency given there).
    queries: HashMap<u64, (u64, Option<i64>)>,
    /// Item id hash to the item's content.
    items: HashMap<u64, Seen>,
    /// (query, item id) hash to the pair's content.
    pairs: HashMap<u64, Seen>,
    /// The receiver of the batches asked to stop (it failed); stop reading.
    stopped: bool,
}

impl<'a> ParseRun<'a> {
    fn new(
        file: &str,
        project: &'a Project,
        options: ReadOptions,
        out: &'a mut dyn Batches,
    ) -> Self {
        Self {
            file: file.to_owned(),
            project,
            options,
            out,
            batch: Vec::new(),
            batch_lines: Vec::new(),
            lines: 0,
            duplicate_lines: 0,
            bad_lines: 0,
            errors: Vec::new(),
            identical_candidate_lines: 0,
            warnings: Vec::new(),
            queries: HashMap::new(),
            items: HashMap::new(),
            pairs: HashMap::new(),
            stopped: false,
        }
    }

    fn read_jsonl(&mut self, file: impl Read) -> std::io::Result<()> {
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        let mut offset = 0u64;
        while !self.stopped {
            buf.clear();
            let n = (&mut reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            offset += n as u64;
            if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
                // Skip the rest of the overlong line without holding it in memory.
                let mut rest = 0u64;
                loop {
                    let available = reader.fill_buf()?;
                    if available.is_empty() {
                        break;
                    }
                    let (used, done) = match available.iter().position(|&b| b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (available.len(), false),
                    };
                    reader.consume(used);
                    rest += used as u64;
                    if done {
                        break;
                    }
                }
                offset += rest;
                self.reject(
                    line_no,
                    vec![FieldError {
                        field: "line".into(),
                        message: format!("is longer than {} MiB", MAX_LINE_BYTES >> 20),
                    }],
                );
                continue;
            }
            let mut bytes = buf.as_slice();
            if line_no == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    self.reject(
                        line_no,
                        vec![FieldError {
                            field: "line".into(),
                            message: format!(
                                "is not valid UTF-8 (bad byte at column {})",
                                e.valid_up_to() + 1
                            ),
                        }],
                    );
                    continue;
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            self.lines += 1;
            let mut de = serde_json::Deserializer::from_str(text);
            let parsed = serde_path_to_error::deserialize::<_, validate::RawPair>(&mut de)
                .map_err(|e| vec![json_field_error(&e)])
                .and_then(|raw| {
                    de.end().map_err(|e| {
                        vec![FieldError {
                            field: "line".into(),
                            message: format!("has text after the JSON object ({e})"),
                        }]
                    })?;
                    validate::validate(raw, self.project)
                });
            self.accept(line_no, parsed);
            if line_no.is_multiple_of(1024) {
                self.out.progress(offset);
            }
        }
        Ok(())
    }

    /// Takes one parsed line: checks it against earlier lines and adds it to the batch.
    fn accept(&mut self, line: u64, parsed: Result<PairRecord, Vec<FieldError>>) {
        let record = match parsed {
            Ok(r) => r,
            Err(errors) => return self.reject(line, errors),
        };
        if let Err(errors) = self.check_consistency(line, &record) {
            return self.reject(line, errors);
        }
        if self.is_duplicate_pair(line, &record) {
            self.duplicate_lines += 1;
            return;
        }
        if self.bad_lines > 0 {
            // The file is rejected already: keep reading for errors, store nothing.
            return;
        }
        self.warn_identical_candidates(line, &record);
        self.batch.push(record);
        self.batch_lines.push(line);
        if self.batch.len() >= self.options.batch_size {
            self.flush();
        }
    }

    /// Warns (once a line) when two of a pair's CoT candidates have the same text as the
    /// exports compare them (`relabel_core::cot_text`: steps, else the text, and the
    /// label reached; whitespace runs as one space).
    fn warn_identical_candidates(&mut self, line: u64, r: &PairRecord) {
        use relabel_core::cot_text;
        let answers: Vec<String> = r
            .cot
            .iter()
            .map(|c| cot_text::candidate_answer(&c.steps, &c.text, c.label.as_deref()))
            .collect();
        let same = cot_text::first_same(&answers)
            .into_iter()
            .enumerate()
            .find_map(|(j, first)| first.map(|i| (i, j)));
        if let Some((i, j)) = same {
            self.identical_candidate_lines += 1;
            if self.warnings.len() < self.options.max_errors {
                self.warnings.push(LineError {
                    file: self.file.clone(),
                    line,
                    field: format!("cot[{j}]"),
                    message: format!(
                        "has the same text as cot[{i}]; imported, but no export makes a \
                         preference between the two"
                    ),
                });
            }
        }
    }

    fn check_consistency(&mut self, line: u64, r: &PairRecord) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let query_key = fingerprint(&r.query);
        match self.queries.get(&query_key).copied() {
            Some((first, Some(given))) if r.query_frequency.is_some_and(|f| f != given) => {
                errors.push(FieldError {
                    field: "query_frequency".into(),
                    message: format!(
                        "{} differs from {given}, given for the same query on line {first}",
                        r.query_frequency.unwrap_or_default()
                    ),
                });
            }
            Some((_, Some(_))) => {}
            _ => {
                self.queries.insert(query_key, (line, r.query_frequency));
            }
        }
        let item_print = item_fingerprint(r);
        match self.items.get(&fingerprint(&r.item.id)) {
            Some(seen) if seen.fingerprint != item_print => errors.push(FieldError {
                field: "item".into(),
                message: format!(
                    "item {:?} differs from its definition on line {}; an item id must always \
                     carry the same title, category, attributes, price, images and description",
                    r.item.id, seen.line
                ),
            }),
            Some(_) => {}
            None => {
                self.items.insert(
                    fingerprint(&r.item.id),
                    Seen {
                        line,
                        fingerprint: item_print,
                    },
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// True when the same (query, item) came earlier with the same content; an earlier
    /// line with different content makes this line bad.
    fn is_duplicate_pair(&mut self, line: u64, r: &PairRecord) -> bool {
        let key = fingerprint(&(&r.query, &r.item.id));
        let print = pair_fingerprint(r);
        match self.pairs.get(&key).copied() {
            None => {
                self.pairs.insert(
                    key,
                    Seen {
                        line,
                        fingerprint: print,
                    },
                );
                false
            }
            Some(seen) if seen.fingerprint == print => true,
            Some(seen) => {
                self.reject(
                    line,
                    vec![FieldError {
                        field: "item.id".into(),
                        message: format!(
                            "the pair ({:?}, {:?}) was given on line {} with different cot, \
                             gold_label, tags or task",
                            r.query, r.item.id, seen.line
                        ),
                    }],
                );
                true
            }
        }
    }

    fn reject(&mut self, line: u64, errors: Vec<FieldError>) {
        self.bad_lines += 1;
        self.batch.clear();
        self.batch_lines.clear();
        for e in errors {
            if self.errors.len() < self.options.max_errors {
                self.errors.push(LineError {
                    file: self.file.clone(),
                    line,
                    field: e.field,
                    message: e.message,
                });
            }
        }
    }

    fn flush(&mut self) {
        if self.batch.is_empty() || self.bad_lines > 0 {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let lines = std::mem::take(&mut self.batch_lines);
        if !self.out.batch(batch, lines) {
            self.stopped = true;
        }
    }

    /// Ends the parse: a file without a single pair is refused, the last batch goes out,
    /// and what was read is summed up.
    fn finish(mut self) -> Summary {
        if self.lines == 0 && self.bad_lines == 0 {
            self.reject(
                1,
                vec![FieldError {
                    field: "file".into(),
                    message: "holds no pairs".into(),
                }],
            );
        }
        self.flush();
        Summary {
            lines: self.lines,
            duplicate_lines: self.duplicate_lines,
            identical_candidate_lines: self.identical_candidate_lines,
            warnings: std::mem::take(&mut self.warnings),
            bad_lines: self.bad_lines,
            errors: std::mem::take(&mut self.errors),
        }
    }
}

/// Names the field a JSON line got wrong, from serde's path and message.
fn json_field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path = e.path().to_string();
    let inner = e.inner();
    let message = inner.to_string();
    // serde reports a missing field at its parent: name the field itself.
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        let field = if path == "." {
            missing.to_owned()
        } else {
            format!("{path}.{missing}")
        };
        return FieldError {
            field,
            message: "is required".into(),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((unknown, expected)) = rest.split_once('`')
    {
        // The path already ends at the unknown field.
        let field = if path == "." {
            unknown.to_owned()
        } else {
            path
        };
        let expected = expected.trim_start_matches(", ");
        let expected = expected
            .rfind(" at line ")
            .map_or(expected, |i| &expected[..i]);
        return FieldError {
            field,
            message: format!("is not a known field ({expected})"),
        };
    }
    // Drop serde_json's "at line 1 column N": the line is ours.
    let bare = message
        .rfind(" at line ")
        .map_or(message.as_str(), |i| &message[..i]);
    if inner.is_eof() {
        return FieldError {
            field: "line".into(),
            message: format!("is not valid JSON: it ends in the middle of a value ({bare})"),
        };
    }
    if inner.is_syntax() {
        return FieldError {
            field: "line".into(),
            message: format!("is not valid JSON: {bare} at column {}", inner.column()),
        };
    }
    if path.starts_with('[') {
        return FieldError {
            field: "line".into(),
            message: "must be a JSON object, one pair per line".into(),
        };
    }
    let field = if path == "." { "line".to_owned() } else { path };
    let message = bare.to_owned();
    FieldError { field, message }
}

fn fingerprint<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn item_fingerprint(r: &PairRecord) -> u64 {
    let i = &r.item;
    let mut h = DefaultHasher::new();
    (
        &i.title,
        &i.category,
        &i.attributes,
        i.price.map(f64::to_bits),
        &i.images,
        &i.description,
    )
        .hash(&mut h);
    h.finish()
}

fn pair_fingerprint(r: &PairRecord) -> u64 {
    let mut h = DefaultHasher::new();
    for c in &r.cot {
        (&c.model, &c.text, &c.steps, &c.label).hash(&mut h);
    }
    (&r.gold_label, &r.tags, r.task.map(TaskKind::as_str)).hash(&mut h);
    h.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use relabel_core::domain::{ScalePreset, StrategyKind};

    /// A judge-and-rank project on the LORE scale.
    pub(crate) fn project() -> Project {
        Project {
            id: 1,
            slug: "p".into(),
            name: "p".into(),
            scale: ScalePreset::Lore4,
            scale_labels: ScalePreset::Lore4
                .labels()
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
            overlap_k: 3,
            task: TaskKind::JudgeAndRank,
            gold_rate: 0.0,
            lease_seconds: 600,
            reveal_models: false,
            retrain_every: 0,
            scorer_strategy: StrategyKind::Random,
            gold_window: 20,
            gold_min_accuracy: 0.7,
            pause_flagged: false,
            review_alpha: 0.667,
        }
    }

    fn read(format: ImportFormat, text: &str) -> Result<Vec<PairRecord>, ReadError> {
        read_all(
            "f",
            &project(),
            format,
            text.as_bytes(),
            ReadOptions::default(),
        )
    }

    #[test]
    fn a_file_reads_whole_or_names_every_bad_line() {
        let good = "{\"query\":\"red shoes\",\"item\":{\"id\":\"1\",\"title\":\"Red shoe\"}}\n\n\
                    {\"query\":\"red shoes\",\"item\":{\"id\":\"2\",\"title\":\"Blue shoe\"},\"gold_label\":\"L1\"}\n";
        let records = read(ImportFormat::Jsonl, good).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].gold_label.as_deref(), Some("L1"));

        let bad = format!(
            "{good}{{\"query\":\"q\"}}\n{{\"query\":\"q\",\"item\":{{\"id\":\"3\",\"title\":\"t\"}},\"gold_label\":\"L9\"}}\n"
        );
        let Err(ReadError::Rejected {
            errors, bad_lines, ..
        }) = read(ImportFormat::Jsonl, &bad)
        else {
            panic!("a file with bad lines is refused");
        };
        assert_eq!(bad_lines, 2);
        let named: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{}", e.line, e.field))
            .collect();
        assert_eq!(named, ["4:item", "5:gold_label"]);
    }

    #[test]
    fn csv_rows_read_as_jsonl_lines_do() {
        let csv = "query,item_id,item_title,gold_label\nred shoes,1,Red shoe,L4\nred shoes,2,Blue shoe,\n";
        let records = read(ImportFormat::Csv, csv).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].gold_label.as_deref(), Some("L4"));
        assert_eq!(records[1].gold_label, None);
        let Err(ReadError::Rejected { errors, .. }) =
            read(ImportFormat::Csv, "query,item_title\nq,t\n")
        else {
            panic!("a header without item_id is refused");
        };
        assert_eq!((errors[0].line, errors[0].field.as_str()), (1, "header"));
    }

    #[test]
    fn an_empty_file_is_refused() {
        let Err(ReadError::Rejected { errors, .. }) = read(ImportFormat::Jsonl, "\n\n") else {
            panic!("an empty file is refused");
        };
        assert_eq!(errors[0].message, "holds no pairs");
    }
}
