//! Importing pools of pairs from JSONL or CSV files (formats in `docs/formats.md`).
//!
//! A file is read once, streaming: a blocking thread parses and validates lines and hands
//! batches to the storage transaction as it goes. The whole file is one transaction; at
//! the first bad line the import stops writing, keeps reading to report every bad line
//! (up to a limit) as `FILE:LINE: field: what is wrong`, and rolls back, so a rejected
//! file leaves the database unchanged.

mod csv_format;
mod validate;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::{PairRecord, Project, TaskKind};
use crate::storage::{ImportCounts, ImportSink, Store, StoreError};

pub use validate::MAX_COT_CANDIDATES;

/// Longest line a JSONL file may have.
pub const MAX_LINE_BYTES: usize = 10 * 1024 * 1024;

/// The file formats `relabel import pairs` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The format; guessed from the extension when `None`.
    pub format: Option<ImportFormat>,
    /// Most bad lines reported one by one (the rest are counted).
    pub max_errors: usize,
    /// Pairs per storage batch.
    pub batch_size: usize,
    /// Draw a progress bar on standard error (only when it is a terminal).
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: None,
            max_errors: 50,
            batch_size: 2_000,
            progress: false,
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

/// What a finished import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The file.
    pub file: String,
    /// Pair lines read (blank lines and the CSV header excluded).
    pub lines: u64,
    /// Lines repeating an earlier line of the same file exactly (stored once).
    pub duplicate_lines: u64,
    /// Lines whose pair has two CoT candidates with the same text (imported as they
    /// are; no export makes a preference between them).
    pub identical_candidate_lines: u64,
    /// The first of those, one warning a line: `FILE:LINE: cot[j]: ...`.
    pub warnings: Vec<LineError>,
    /// What was added.
    pub counts: ImportCounts,
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has bad lines; nothing was imported.
    #[error("{file}: {bad_lines} bad line(s); nothing was imported")]
    Rejected {
        /// The file.
        file: String,
        /// The first errors, in file order.
        errors: Vec<LineError>,
        /// How many lines were bad in all.
        bad_lines: u64,
    },
    /// The format could not be guessed from the file name.
    #[error("{0}: cannot tell the format from the extension; pass --format jsonl or --format csv")]
    UnknownFormat(String),
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database failed; nothing was imported.
    #[error("storage failed, nothing was imported: {0}")]
    Store(#[from] StoreError),
}

/// What the parsing thread sends to the storage side.
enum Parsed {
    /// Records, and the line each came from.
    Batch(Vec<PairRecord>, Vec<u64>),
    Done(ParseSummary),
}

struct ParseSummary {
    lines: u64,
    duplicate_lines: u64,
    identical_candidate_lines: u64,
    warnings: Vec<LineError>,
    bad_lines: u64,
    errors: Vec<LineError>,
    io_error: Option<std::io::Error>,
}

/// Imports `path` into `project`: all of it, or (on any bad line or failure) nothing.
pub async fn import_file(
    store: &dyn Store,
    project: &Project,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let source = Source::open(path, options)?;
    import_source(store, project, source, options).await
}

/// Imports an uploaded file held in memory (the HTTP import): all of it or nothing, with
/// the same checks and errors as [`import_file`]. `name` is what errors call the file.
pub async fn import_bytes(
    store: &dyn Store,
    project: &Project,
    name: &str,
    format: ImportFormat,
    bytes: bytes::Bytes,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    import_source(store, project, Source::bytes(name, format, bytes), options).await
}

async fn import_source(
    store: &dyn Store,
    project: &Project,
    source: Source,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let sink = store.begin_import(project, &source.name).await?;
    let report = read_into(sink, project, source, options).await?;
    refresh_statistics(store, &report.counts).await?;
    Ok(report)
}

/// A file to read: its name for errors, its format, and its bytes.
struct Source {
    name: String,
    format: ImportFormat,
    size: u64,
    reader: Box<dyn Read + Send>,
}

impl Source {
    /// A file held in memory.
    fn bytes(name: &str, format: ImportFormat, bytes: bytes::Bytes) -> Self {
        Self {
            name: name.to_owned(),
            format,
            size: bytes.len() as u64,
            reader: Box::new(std::io::Cursor::new(bytes)),
        }
    }

    /// Opens `path`, taking the format from the options or else the extension.
    fn open(path: &Path, options: &ImportOptions) -> Result<Self, ImportError> {
        let name = path.display().to_string();
        let Some(format) = options.format.or_else(|| ImportFormat::from_path(path)) else {
            return Err(ImportError::UnknownFormat(name));
        };
        let file = File::open(path).map_err(|source| ImportError::Io {
            file: name.clone(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            name,
            format,
            size,
            reader: Box::new(file),
        })
    }
}

/// Reads and validates `path` for a project with `project`'s scale, as an import does,
/// and returns its records instead of storing them (the active-learning benchmark reads
/// its labelled files so). Errors are the import's: `FILE:LINE: field: message`.
pub async fn read_file(
    project: &Project,
    path: &Path,
    options: &ImportOptions,
) -> Result<Vec<PairRecord>, ImportError> {
    read_source(project, Source::open(path, options)?, options).await
}

/// Reads and validates a file held in memory as [`read_file`] reads one on disk (the
/// parsers' fuzz targets call this).
pub async fn read_bytes(
    project: &Project,
    name: &str,
    format: ImportFormat,
    bytes: bytes::Bytes,
    options: &ImportOptions,
) -> Result<Vec<PairRecord>, ImportError> {
    read_source(project, Source::bytes(name, format, bytes), options).await
}

async fn read_source(
    project: &Project,
    source: Source,
    options: &ImportOptions,
) -> Result<Vec<PairRecord>, ImportError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sink = Box::new(Collect {
        records: Vec::new(),
        done: Some(tx),
    });
    let file = source.name.clone();
    read_into(sink, project, source, options).await?;
    rx.await.map_err(|_| ImportError::Io {
        file,
        source: std::io::Error::other("the reader stopped without its records"),
    })
}

/// An import sink that keeps the records in memory and hands them over on commit.
struct Collect {
    records: Vec<PairRecord>,
    done: Option<tokio::sync::oneshot::Sender<Vec<PairRecord>>>,
}

#[async_trait::async_trait]
impl ImportSink for Collect {
    async fn add(&mut self, batch: &[PairRecord]) -> Result<Vec<usize>, StoreError> {
        self.records.extend_from_slice(batch);
        Ok(Vec::new())
    }

    async fn commit(mut self: Box<Self>) -> Result<ImportCounts, StoreError> {
        if let Some(done) = self.done.take() {
            // The reader only goes away when it has failed already.
            let _ = done.send(std::mem::take(&mut self.records));
        }
        Ok(ImportCounts::default())
    }
}

/// Parses `source` on a blocking thread and hands its batches to `sink`; commits only when
/// every line was good.
async fn read_into(
    mut sink: Box<dyn ImportSink>,
    project: &Project,
    source: Source,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let Source {
        name: file_name,
        format,
        size,
        reader: file,
    } = source;
    let progress = if options.progress {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} importing {msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(file_name.clone());
        bar
    } else {
        ProgressBar::hidden()
    };

    let (tx, mut rx) = mpsc::channel::<Parsed>(4);
    let parser = {
        let project = project.clone();
        let file_name = file_name.clone();
        let options = options.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            let mut run = ParseRun::new(file_name, project, options, tx, progress);
            let result = match format {
                ImportFormat::Jsonl => run.read_jsonl(file),
                ImportFormat::Csv => csv_format::read_csv(&mut run, file),
            };
            run.finish(result.err());
        })
    };

    let mut summary = None;
    let mut store_error = None;
    // Lines whose pair is stored already with other content: known only to the store.
    let mut changed: Vec<LineError> = Vec::new();
    let mut changed_lines = 0u64;
    while let Some(message) = rx.recv().await {
        match message {
            Parsed::Batch(batch, lines) => {
                if store_error.is_some() {
                    continue;
                }
                match sink.add(&batch).await {
                    Ok(indexes) => {
                        changed_lines += indexes.len() as u64;
                        for i in indexes {
                            if changed.len() < options.max_errors {
                                changed.push(changed_pair_error(&file_name, lines[i], &batch[i]));
                            }
                        }
                    }
                    Err(e) => {
                        store_error = Some(e);
                        // Closing the channel tells the parser to stop.
                        rx.close();
                    }
                }
            }
            Parsed::Done(s) => summary = Some(s),
        }
    }
    // The parser has ended once the channel is drained; a panic there is a bug.
    if let Err(e) = parser.await {
        return Err(ImportError::Io {
            file: file_name,
            source: std::io::Error::other(format!("the parser failed: {e}")),
        });
    }
    progress.finish_and_clear();
    if let Some(e) = store_error {
        return Err(ImportError::Store(e));
    }
    let Some(summary) = summary else {
        return Err(ImportError::Io {
            file: file_name,
            source: std::io::Error::other("the parser stopped without a summary"),
        });
    };
    if let Some(source) = summary.io_error {
        return Err(ImportError::Io {
            file: file_name,
            source,
        });
    }
    if summary.bad_lines > 0 || changed_lines > 0 {
        let mut errors = summary.errors;
        errors.extend(changed);
        errors.sort_by_key(|e| e.line);
        errors.truncate(options.max_errors);
        return Err(ImportError::Rejected {
            file: file_name,
            errors,
            bad_lines: summary.bad_lines + changed_lines,
        });
    }
    let counts = sink.commit().await?;
    Ok(ImportReport {
        file: file_name,
        lines: summary.lines,
        duplicate_lines: summary.duplicate_lines,
        identical_candidate_lines: summary.identical_candidate_lines,
        warnings: summary.warnings,
        counts,
    })
}

/// Where an earlier line of the file defined something, and a fingerprint of what it said.
#[derive(Clone, Copy)]
struct Seen {
    line: u64,
    fingerprint: u64,
}

/// The state of one parse: consistency indexes, the current batch, the errors so far.
struct ParseRun {
    file: String,
    project: Project,
    options: ImportOptions,
    tx: mpsc::Sender<Parsed>,
    progress: ProgressBar,
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
    /// The storage side hung up (it failed); stop reading.
    stopped: bool,
}

impl ParseRun {
    fn new(
        file: String,
        project: Project,
        options: ImportOptions,
        tx: mpsc::Sender<Parsed>,
        progress: ProgressBar,
    ) -> Self {
        Self {
            file,
            project,
            options,
            tx,
            progress,
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

    fn read_jsonl(&mut self, file: Box<dyn Read + Send>) -> std::io::Result<()> {
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
                    validate::validate(raw, &self.project)
                });
            self.accept(line_no, parsed);
            if line_no.is_multiple_of(1024) {
                self.progress.set_position(offset);
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
        if self.tx.blocking_send(Parsed::Batch(batch, lines)).is_err() {
            self.stopped = true;
        }
    }

    fn finish(mut self, io_error: Option<std::io::Error>) {
        if self.lines == 0 && self.bad_lines == 0 && io_error.is_none() {
            self.reject(
                1,
                vec![FieldError {
                    field: "file".into(),
                    message: "holds no pairs".into(),
                }],
            );
        }
        self.flush();
        let summary = ParseSummary {
            lines: self.lines,
            duplicate_lines: self.duplicate_lines,
            identical_candidate_lines: self.identical_candidate_lines,
            warnings: std::mem::take(&mut self.warnings),
            bad_lines: self.bad_lines,
            errors: std::mem::take(&mut self.errors),
            io_error,
        };
        // If the storage side is gone it has its own error to report.
        let _ = self.tx.blocking_send(Parsed::Done(summary));
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

/// Stores records that are valid by construction (the demo's) in one transaction.
pub async fn import_records(
    store: &dyn Store,
    project: &Project,
    records: &[PairRecord],
    source: &str,
) -> Result<ImportCounts, StoreError> {
    let mut sink = store.begin_import(project, source).await?;
    for chunk in records.chunks(ImportOptions::default().batch_size) {
        if let Some(&i) = sink.add(chunk).await?.first() {
            return Err(StoreError::Conflict(format!(
                "the pair ({:?}, {:?}) is stored already with other CoT candidates, gold label or task",
                chunk[i].query, chunk[i].item.id
            )));
        }
    }
    let counts = sink.commit().await?;
    refresh_statistics(store, &counts).await?;
    Ok(counts)
}

/// After an import that added pairs, the planner's statistics are refreshed: without
/// them SQLite (which never gathers them itself) walks all of a project's pairs to find
/// a few thousand judgments, and PostgreSQL plans the first queries after a bulk load
/// blind (BENCHMARKS.md, issue 9).
async fn refresh_statistics(store: &dyn Store, counts: &ImportCounts) -> Result<(), StoreError> {
    if counts.pairs_added > 0 {
        store.refresh_statistics().await?;
    }
    Ok(())
}

/// The error for a line whose pair the project holds already with other content.
fn changed_pair_error(file: &str, line: u64, record: &PairRecord) -> LineError {
    LineError {
        file: file.to_owned(),
        line,
        field: "cot".into(),
        message: format!(
            "the pair ({:?}, {:?}) is already in the project with other CoT candidates, \
             gold label or task; judgments refer to the stored ones, so change it in a new \
             project or leave the line as it was",
            record.query, record.item.id
        ),
    }
}
