//! Importing pools of pairs from JSONL or CSV files (formats in `docs/formats.md`).
//!
//! A file is read once, streaming: a blocking thread parses and validates lines (the
//! reader is `relabel_formats::import`) and hands batches to the storage transaction as
//! it goes. The whole file is one transaction; at the first bad line the import stops
//! writing, keeps reading to report every bad line (up to a limit) as
//! `FILE:LINE: field: what is wrong`, and rolls back, so a rejected file leaves the
//! database unchanged.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use relabel_formats::import::{self as formats, Batches, ReadOptions, Summary};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::{PairRecord, Project};
use crate::storage::{ImportCounts, ImportSink, Store, StoreError};

pub use relabel_formats::import::{
    FieldError, ImportFormat, LineError, MAX_COT_CANDIDATES, MAX_LINE_BYTES,
};

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
        // The reader's defaults, written once in relabel-formats.
        let ReadOptions {
            max_errors,
            batch_size,
        } = ReadOptions::default();
        Self {
            format: None,
            max_errors,
            batch_size,
            progress: false,
        }
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

impl ImportOptions {
    /// What the file reader needs of these options.
    fn read(&self) -> ReadOptions {
        ReadOptions {
            max_errors: self.max_errors,
            batch_size: self.batch_size,
        }
    }
}

/// What the parsing thread sends to the storage side.
enum Parsed {
    /// Records, and the line each came from.
    Batch(Vec<PairRecord>, Vec<u64>),
    Done(std::io::Result<Summary>),
}

/// The parsing thread's end of the channel: a batch is sent to the storage side (which
/// stops the parse by hanging up), and the bytes read move the progress bar.
struct Channel {
    tx: mpsc::Sender<Parsed>,
    progress: ProgressBar,
}

impl Batches for Channel {
    fn batch(&mut self, records: Vec<PairRecord>, lines: Vec<u64>) -> bool {
        self.tx.blocking_send(Parsed::Batch(records, lines)).is_ok()
    }

    fn progress(&mut self, bytes_read: u64) {
        self.progress.set_position(bytes_read);
    }
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
    let sink = store
        .begin_import(project, &source.name, crate::domain::now_ms())
        .await?;
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
    let Source {
        name,
        format,
        reader,
        ..
    } = Source::open(path, options)?;
    let (project, read) = (project.clone(), options.read());
    let file = name.clone();
    let result = tokio::task::spawn_blocking(move || {
        formats::read_all(&name, &project, format, reader, read)
    })
    .await
    .map_err(|e| ImportError::Io {
        file,
        source: std::io::Error::other(format!("the parser failed: {e}")),
    })?;
    result.map_err(|e| match e {
        formats::ReadError::Rejected {
            file,
            errors,
            bad_lines,
        } => ImportError::Rejected {
            file,
            errors,
            bad_lines,
        },
        formats::ReadError::Io { file, source } => ImportError::Io { file, source },
    })
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
            let mut channel = Channel {
                tx: tx.clone(),
                progress,
            };
            let summary = formats::parse(
                &file_name,
                &project,
                format,
                file,
                options.read(),
                &mut channel,
            );
            // If the storage side is gone it has its own error to report.
            let _ = tx.blocking_send(Parsed::Done(summary));
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
    let summary = summary.map_err(|source| ImportError::Io {
        file: file_name.clone(),
        source,
    })?;
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

/// Stores records that are valid by construction (the demo's) in one transaction.
pub async fn import_records(
    store: &dyn Store,
    project: &Project,
    records: &[PairRecord],
    source: &str,
) -> Result<ImportCounts, StoreError> {
    let mut sink = store
        .begin_import(project, source, crate::domain::now_ms())
        .await?;
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
