//! The files people hand relabel, read without a database, a runtime or a network:
//! pairs to import ([`import`]: JSONL and CSV, every bad field named as
//! `FILE:LINE: field: what`), guideline files ([`guideline`]: TOML, written back out the
//! same way) and rule bodies ([`markdown`]: CommonMark rendered to sanitized HTML, on the
//! server and in the browser alike). Each parser is one of the fuzz targets
//! (`fuzz/`), which build against this crate alone.

#[cfg(feature = "files")]
pub mod guideline;
#[cfg(feature = "files")]
pub mod import;
#[cfg(feature = "markdown")]
pub mod markdown;
