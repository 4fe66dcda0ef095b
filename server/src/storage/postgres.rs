//! The PostgreSQL backend: how relabel scales past one machine (several stateless
//! servers on one database).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

/// A store on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

/// The schema migrations, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl PgStore {
    /// Connects to and migrates the PostgreSQL database at `url`.
    pub async fn connect(url: &str) -> Result<Self, crate::storage::StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// A read-committed transaction; row locks taken inside it serialise writers.
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// Locks the project row so two imports into one project run one after the other.
    async fn lock_project(
        tx: &mut Transaction<'static, sqlx::Postgres>,
        project_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
            .bind(project_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Claimers skip pairs another claimer has locked instead of queueing behind them.
const CLAIM_LOCK: &str = " FOR UPDATE OF p SKIP LOCKED";
/// Submits and skips lock the pair row, so they serialise with claims of the same pair.
const ROW_LOCK: &str = " FOR UPDATE";
/// Unscored pairs last, in the order of the `pairs_queue` index.
const QUEUE_ORDER: &str = "p.priority DESC NULLS LAST, p.shuffle_key";

impl_store!(PgStore, sqlx::Postgres, Backend::Postgres);
