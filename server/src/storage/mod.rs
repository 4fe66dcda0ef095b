//! Storage: one interface ([`Store`]) with a SQLite and a PostgreSQL implementation,
//! chosen once at start-up from the database URL.
//!
//! The SQL the two backends share is written once, in [`shared`], and instantiated for
//! each backend by a macro (sqlx's typed queries cannot be generic over the database
//! without a wall of trait bounds); what differs (connection set-up, how a write
//! transaction takes its lock) lives in `sqlite.rs` and `postgres.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use relabel_frontend::types::ProjectSummary;
use serde::Serialize;

use crate::domain::{NewProject, PairRecord, Project, RuleRecord};

#[macro_use]
mod shared;
pub mod postgres;
pub mod sqlite;

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://relabel.db";

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The database URL cannot be used.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://...")]
    UnsupportedUrl(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Counts in one frequency band of a project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BandStats {
    /// Queries in the band.
    pub queries: i64,
    /// Pairs whose query is in the band.
    pub pairs: i64,
    /// CoT candidates of those pairs.
    pub cot_candidates: i64,
    /// Judgments of those pairs.
    pub judgments: i64,
}

/// What `relabel stats --project` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectStats {
    /// The project's slug.
    pub project: String,
    /// Distinct queries.
    pub queries: i64,
    /// Distinct items.
    pub items: i64,
    /// Pairs.
    pub pairs: i64,
    /// Model CoT candidates.
    pub cot_candidates: i64,
    /// Judgments, revisions included.
    pub judgments: i64,
    /// Pairs with a gold answer.
    pub gold_pairs: i64,
    /// The same counts per frequency band (head, torso, tail; all three always present).
    pub bands: BTreeMap<String, BandStats>,
}

/// What one import added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Queries not seen before in the project.
    pub queries_added: u64,
    /// Items not seen before in the project.
    pub items_added: u64,
    /// Pairs not seen before in the project.
    pub pairs_added: u64,
    /// Pairs in the file that the project already had (left as they were).
    pub pairs_existing: u64,
    /// CoT candidates stored with the new pairs.
    pub cot_added: u64,
    /// Gold answers stored with the new pairs.
    pub gold_added: u64,
}

/// An import in progress: one transaction that either commits whole or leaves nothing.
/// Dropping it without [`ImportSink::commit`] rolls everything back.
#[async_trait]
pub trait ImportSink: Send {
    /// Stores a batch of validated records (pairs already present are skipped).
    async fn add(&mut self, batch: &[PairRecord]) -> Result<(), StoreError>;
    /// Recomputes the project's frequency bands, records the import in the audit log
    /// and commits.
    async fn commit(self: Box<Self>) -> Result<ImportCounts, StoreError>;
}

/// Everything relabel stores, behind one interface.
#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Creates a project; a taken slug is a [`StoreError::Conflict`].
    async fn create_project(&self, project: &NewProject) -> Result<Project, StoreError>;
    /// The project with this slug, if any.
    async fn project(&self, slug: &str) -> Result<Option<Project>, StoreError>;
    /// Every project with its counts, ordered by slug.
    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, StoreError>;
    /// Counts for one project, overall and per frequency band.
    async fn stats(&self, project: &Project) -> Result<ProjectStats, StoreError>;
    /// Starts an import into `project`; `source` names the file in the audit log.
    async fn begin_import(
        &self,
        project: &Project,
        source: &str,
    ) -> Result<Box<dyn ImportSink>, StoreError>;
    /// Publishes a new guideline version with these rules; returns its number.
    async fn publish_guideline(
        &self,
        project: &Project,
        rules: &[RuleRecord],
        change_note: &str,
    ) -> Result<i64, StoreError>;
    /// The number of the latest published guideline version, if any.
    async fn latest_guideline_number(&self, project: &Project) -> Result<Option<i64>, StoreError>;
    /// Closes the connection pool, waiting for connections to finish.
    async fn close(&self);
}

/// A store shared by the server's handlers and background tasks.
pub type SharedStore = Arc<dyn Store>;

/// Opens (and migrates) the database named by `url`: `postgres://` or `postgresql://`
/// for PostgreSQL, `sqlite://FILE` or a plain file path for SQLite.
pub async fn connect(url: &str) -> Result<SharedStore, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.contains("://") {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    } else {
        Ok(Arc::new(
            sqlite::SqliteStore::connect(&format!("sqlite://{url}")).await?,
        ))
    }
}

/// Turns a unique-constraint violation into a [`StoreError::Conflict`] with `message`.
fn conflict_on_unique(err: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
        _ => StoreError::Database(err),
    }
}
