//! The SQLite backend: an embedded file, WAL journal, `synchronous=FULL`, foreign keys
//! on, and every write in a `BEGIN IMMEDIATE` transaction so two writers never deadlock
//! upgrading a read lock.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A store on a SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
}

/// The schema migrations, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if missing) and migrates the SQLite database at `url`.
    pub async fn connect(url: &str) -> Result<Self, crate::storage::StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// A write transaction holding SQLite's write lock from its first statement.
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// `BEGIN IMMEDIATE` already excludes every other writer, imports included.
    async fn lock_project(
        _tx: &mut Transaction<'static, sqlx::Sqlite>,
        _project_id: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

/// No row locks in SQLite: `BEGIN IMMEDIATE` already serialises every writer.
const CLAIM_LOCK: &str = "";
const ROW_LOCK: &str = "";
/// NULLs sort first in SQLite, so DESC puts unscored pairs last, matching the index.
const QUEUE_ORDER: &str = "p.priority DESC, p.shuffle_key";

impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite);
