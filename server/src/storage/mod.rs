//! Storage: one interface ([`Store`]) with a SQLite and a PostgreSQL implementation,
//! chosen once at start-up from the database URL.
//!
//! The SQL the two backends share is written once, in [`shared`], and instantiated for
//! each backend by a macro (sqlx's typed queries cannot be generic over the database
//! without a wall of trait bounds); what differs (connection set-up, how a write
//! transaction takes its lock) lives in `sqlite.rs` and `postgres.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use relabel_core::types::PairView;
use serde::Serialize;

pub use crate::auth::Membership;
use crate::auth::Role;
use crate::domain::{NewProject, PairRecord, Project, RuleRecord};
use rows::{
    BandDepth, Claim, Decision, ExportPair, GoldRow, JudgmentDetail, JudgmentInput, ListedProject,
    LoggedJudgment, LoginAttempts, PairForJudging, PairHit, Progress, PublishedGuideline,
    QueueError, ReviewRows, Submitted,
};

pub mod rows;
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
    /// Judgments that name no guideline version: made before the server stamped them,
    /// or while the project had no published guideline. `--guideline-version` never
    /// matches them.
    pub unversioned_judgments: i64,
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
    /// Stores a batch of validated records. Pairs already present are skipped; the
    /// indexes (in `batch`) of those whose stored CoT candidates, gold label or task
    /// differ from the record are returned, for the caller to reject.
    async fn add(&mut self, batch: &[PairRecord]) -> Result<Vec<usize>, StoreError>;
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
    async fn create_project(&self, project: &NewProject, now: i64) -> Result<Project, StoreError>;
    /// The project with this slug, if any.
    async fn project(&self, slug: &str) -> Result<Option<Project>, StoreError>;
    /// Every project with its counts, ordered by slug.
    async fn list_projects(&self) -> Result<Vec<ListedProject>, StoreError>;
    /// Counts for one project, overall and per frequency band.
    async fn stats(&self, project: &Project) -> Result<ProjectStats, StoreError>;
    /// Starts an import into `project`; `source` names the file in the audit log.
    async fn begin_import(
        &self,
        project: &Project,
        source: &str,
        now: i64,
    ) -> Result<Box<dyn ImportSink>, StoreError>;
    /// Publishes a new guideline version with these rules; returns its number.
    async fn publish_guideline(
        &self,
        project: &Project,
        rules: &[RuleRecord],
        change_note: &str,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// The number of the latest published guideline version, if any.
    async fn latest_guideline_number(&self, project: &Project) -> Result<Option<i64>, StoreError>;
    /// Creates a user with an argon2id password hash; a taken name is a conflict.
    async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// The user with this name, if any.
    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Creates a user holding `role` in `project_id` (`None`: every project), in one
    /// transaction; `actor` is who did it, for the audit log.
    async fn create_member(
        &self,
        name: &str,
        password_hash: &str,
        project_id: Option<i64>,
        role: Role,
        actor: Option<i64>,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// Grants a role, in one project or (with `None`) across all; false when it was held
    /// already. `actor` is who granted it, for the audit log.
    async fn grant_role(
        &self,
        user_id: i64,
        project_id: Option<i64>,
        role: Role,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Takes a role away; false when the user did not hold it there.
    async fn revoke_role(
        &self,
        user_id: i64,
        project_id: Option<i64>,
        role: Role,
        actor: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// The users holding a role in the project, and the site admins, by name.
    async fn project_members(&self, project: &Project) -> Result<Vec<Member>, StoreError>;
    /// Every role the user holds.
    async fn memberships(&self, user_id: i64) -> Result<Vec<Membership>, StoreError>;
    /// Claims the next pair for `user_id`: the one they already hold a live lease on, else
    /// the first by priority (then seeded shuffle) that they have neither judged nor
    /// skipped and whose judgments plus live leases are below k, looking among gold pairs
    /// first when `prefer_gold`. The lease lasts `lease_ms` from `now`.
    async fn next_pair(
        &self,
        project: &Project,
        user_id: i64,
        prefer_gold: bool,
        lease_ms: i64,
        now: i64,
    ) -> Result<Option<Claim>, QueueError>;
    /// Stores a judgment (a first one, or with `revision` a new revision), idempotent by
    /// its key; answers only after the commit.
    async fn submit_judgment(
        &self,
        project: &Project,
        user_id: i64,
        input: &JudgmentInput,
        revision: bool,
        now: i64,
    ) -> Result<Submitted, QueueError>;
    /// Records a skip and releases the annotator's lease on the pair.
    async fn skip_pair(
        &self,
        project: &Project,
        user_id: i64,
        pair_id: i64,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), QueueError>;
    /// A pair of the project as an annotator sees it.
    async fn pair_view(
        &self,
        project: &Project,
        pair_id: i64,
    ) -> Result<Option<PairView>, StoreError>;
    /// Up to `limit` pairs of the project with ids above `after`, in id order, with what
    /// exports need: item, tags, candidates, each annotator's current judgment, and the
    /// latest reviewer decision. Paging by id keeps an export's memory constant.
    async fn export_page(
        &self,
        project: &Project,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportPair>, StoreError>;
    /// Changes a project's settings (audited with `actor`); the project as it is now.
    async fn update_project_settings(
        &self,
        project: &Project,
        settings: &crate::domain::ProjectSettings,
        actor: Option<i64>,
        now: i64,
    ) -> Result<Project, StoreError>;
    /// The pair's task and CoT candidates, for the submit checks; `None` when the pair
    /// is not in the project.
    async fn pair_for_judging(
        &self,
        project: &Project,
        pair_id: i64,
    ) -> Result<Option<PairForJudging>, StoreError>;
    /// The id of the guideline version a judgment of `pair_id` by `user_id` is stamped
    /// with: the one its lease was handed out under, else (no lease: a revision, or a
    /// submit without `next`) the latest published; `None` when there is none.
    async fn served_guideline_version(
        &self,
        project: &Project,
        pair_id: i64,
        user_id: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// The rule ids of a published guideline version of the project (`None`: the latest);
    /// `None` when there is no such version.
    async fn guideline_rule_ids(
        &self,
        project: &Project,
        version_id: Option<i64>,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// The user with this id, if any.
    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    /// Stores a login session's record (JSON) until `expires_at`.
    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> Result<(), StoreError>;
    /// A session's record, unless it has expired by `now`.
    async fn load_session(&self, id: &str, now: i64) -> Result<Option<String>, StoreError>;
    /// Forgets a session.
    async fn delete_session(&self, id: &str) -> Result<(), StoreError>;
    /// The latest published guideline version, with its rules.
    async fn latest_guideline(
        &self,
        project: &Project,
    ) -> Result<Option<PublishedGuideline>, StoreError>;
    /// For `user_id`: judgments made since `since` (epoch ms), pairs still open to them,
    /// and the project's judgments collected and wanted (pairs times k).
    async fn progress(
        &self,
        project: &Project,
        user_id: i64,
        since: i64,
        now: i64,
    ) -> Result<Progress, StoreError>;
    /// Every judgment in the project, revisions included, by id (for tests: behind the
    /// `test-support` feature).
    #[cfg(feature = "test-support")]
    async fn judgments(&self, project: &Project) -> Result<Vec<rows::JudgmentRow>, StoreError>;
    /// Cached embeddings of `model_version` for these text hashes; absent ones are left
    /// out of the map.
    async fn embeddings(
        &self,
        model_version: &str,
        hashes: &[String],
    ) -> Result<HashMap<String, Vec<u8>>, StoreError>;
    /// Caches embeddings; a key already cached keeps its vector.
    async fn store_embeddings(
        &self,
        model_version: &str,
        vectors: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError>;
    /// Records a training run of the project's scorer (audited); its id.
    async fn record_scorer_run(
        &self,
        project: &Project,
        run: &ScorerRun,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// The project's newest training runs, newest first; with the head's weights only
    /// when `with_head`.
    async fn scorer_runs(
        &self,
        project: &Project,
        limit: i64,
        with_head: bool,
    ) -> Result<Vec<ScorerRun>, StoreError>;
    /// Sets pairs' queue priority and the reason the workspace shows for it, in one
    /// transaction; pairs outside the project are not touched.
    async fn set_priorities(
        &self,
        project: &Project,
        priorities: &[(i64, f64, String)],
    ) -> Result<(), StoreError>;
    /// Pairs of the project that are complete: all `overlap_k` judgments in, or
    /// adjudicated. The background retrain counts new ones with it.
    async fn complete_pairs(&self, project: &Project) -> Result<i64, StoreError>;
    /// Every annotator's first answer (revision 1) to each gold pair of the project, in
    /// time order, with the rules cited and the pair's tags.
    async fn gold_rows(&self, project: &Project) -> Result<Vec<GoldRow>, StoreError>;
    /// `user_id`'s last `window` first answers to gold pairs, newest first, as
    /// `(label given, gold label)`.
    async fn recent_gold(
        &self,
        project: &Project,
        user_id: i64,
        window: i64,
    ) -> Result<Vec<(Option<String>, String)>, StoreError>;
    /// What the review queue is computed from: labelled judgments, the CoT candidates'
    /// labels of judged pairs, the latest decision per pair and the complete pairs.
    async fn review_rows(&self, project: &Project) -> Result<ReviewRows, StoreError>;
    /// Every judgment of one pair (revisions included) with who made it, the rationale,
    /// the rules cited and the guideline version number, by annotator then revision.
    async fn pair_judgments(
        &self,
        project: &Project,
        pair_id: i64,
    ) -> Result<Vec<JudgmentDetail>, StoreError>;
    /// The reviewer decisions on one pair, oldest first.
    async fn decisions(&self, project: &Project, pair_id: i64)
    -> Result<Vec<Decision>, StoreError>;
    /// Records a reviewer's final label for a pair (audited); its id. `NotFound` when
    /// the pair is not in the project.
    async fn record_decision(
        &self,
        project: &Project,
        pair_id: i64,
        reviewer_id: i64,
        label: &str,
        note: &str,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// Every judgment of the project, revisions included, in the order made, for the
    /// dashboard's counts and speeds.
    async fn judgment_log(&self, project: &Project) -> Result<Vec<LoggedJudgment>, StoreError>;
    /// The band and the tags of every judged or decided pair: `(pair, band)` and
    /// `(pair, tag)` rows.
    async fn pair_facets(
        &self,
        project: &Project,
    ) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), StoreError>;
    /// How far each band's pairs are, for the bands that have pairs, in band order.
    async fn queue_depth(&self, project: &Project) -> Result<Vec<BandDepth>, StoreError>;
    /// Stores `rules` as the project's guideline draft, replacing any draft there was
    /// (audited with `author`); the draft's version id.
    async fn save_draft(
        &self,
        project: &Project,
        rules: &[RuleRecord],
        author: Option<i64>,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// Publishes the project's draft as the next version number, with its change note
    /// (audited with `author`); the number. `NotFound` when there is no draft.
    async fn publish_draft(
        &self,
        project: &Project,
        change_note: &str,
        author: Option<i64>,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// A guideline version of the project: the latest published, a number, or the draft.
    async fn guideline_version(
        &self,
        project: &Project,
        which: VersionRef,
    ) -> Result<Option<GuidelineVersion>, StoreError>;
    /// The project's published guideline versions, oldest first.
    async fn guideline_versions(
        &self,
        project: &Project,
    ) -> Result<Vec<VersionSummary>, StoreError>;
    /// Each annotator's current judgment of each pair that was made under a published
    /// version numbered below `before` and cites at least one rule.
    async fn cited_judgments(
        &self,
        project: &Project,
        before: i64,
    ) -> Result<Vec<CitedJudgment>, StoreError>;
    /// Sends judgments to re-review: `(pair, judgment, rule id, from version id)` rows
    /// for the version `to_version_id`; rows sent before are kept, not doubled. How many
    /// were new.
    async fn send_rereviews(
        &self,
        project: &Project,
        to_version_id: i64,
        rows: &[(i64, i64, String, i64)],
        actor: Option<i64>,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// The open re-reviews of the project (or of one pair).
    async fn open_rereviews(
        &self,
        project: &Project,
        pair_id: Option<i64>,
    ) -> Result<Vec<OpenRereview>, StoreError>;
    /// A reviewer's re-review decision on a pair: stored as the reviewer's judgment under
    /// `version_id` (a new revision when they judged the pair before; outside the pair's
    /// k) and as the pair's final label (a decision), resolving every open re-review of
    /// the pair. The judgment's id; `NotFound` when the pair has no open re-review.
    #[allow(
        clippy::too_many_arguments,
        reason = "one decision's fields, each a plain value the caller has at hand"
    )]
    async fn resolve_rereviews(
        &self,
        project: &Project,
        pair_id: i64,
        reviewer_id: i64,
        label: &str,
        note: &str,
        version_id: i64,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// Up to `limit` pairs of the project whose query or item title contains `text`
    /// (case-insensitive), by id.
    async fn search_pairs(
        &self,
        project: &Project,
        text: &str,
        limit: i64,
    ) -> Result<Vec<PairHit>, StoreError>;
    /// Whether the database answers and every migration this binary carries is applied;
    /// why not otherwise.
    async fn readiness(&self) -> Result<(), String>;
    /// What `/metrics` reports from the database, for every project at once: queue
    /// depth per band and scorer runs.
    async fn gauges(&self) -> Result<Gauges, StoreError>;
    /// Refreshes the query planner's statistics (`ANALYZE`), after a bulk load.
    async fn refresh_statistics(&self) -> Result<(), StoreError>;
    /// Replaces a user's password hash and records when, which ends the user's sessions
    /// logged in before.
    async fn set_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Counts one login attempt under `key` in the one-minute window starting at
    /// `window_start` (epoch ms); returns the attempts in that window and in the one before.
    /// Windows older than the one before are deleted as new ones begin.
    async fn count_login_attempt(
        &self,
        key: &str,
        window_start: i64,
    ) -> Result<LoginAttempts, StoreError>;
    /// The queue's invariants in `project`, as the load harness and the fault tests
    /// check them after a run (reviewers' re-review judgments, outside k, left out).
    async fn queue_invariants(&self, project: &Project) -> Result<QueueInvariants, StoreError>;
    /// `(idempotency key, judgment id)` for each stored judgment under these keys.
    async fn judgments_by_key(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError>;
    /// Closes the connection pool, waiting for connections to finish.
    async fn close(&self);
}

/// What must hold of a project's judgments whatever the load or the faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueInvariants {
    /// Pairs judged by more annotators than the project's k.
    pub over_k: i64,
    /// Pairs whose stored judgment count differs from their judging annotators.
    pub count_drift: i64,
    /// (pair, annotator, revision) stored more than once.
    pub duplicates: i64,
}

/// The database's side of `/metrics` (see [`Store::gauges`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Per project slug and band: pairs complete (k judgments or decided) and all pairs.
    pub queue: Vec<(String, String, i64, i64)>,
    /// Per project slug: scorer runs recorded, and when the newest finished (epoch ms).
    pub scorer_runs: Vec<(String, i64, Option<i64>)>,
}

/// Which guideline version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    /// The newest published version.
    Latest,
    /// The published version with this number.
    Number(i64),
    /// The unpublished draft.
    Draft,
}

/// A guideline version and its rules.
#[derive(Debug, Clone, PartialEq)]
pub struct GuidelineVersion {
    /// The version's id.
    pub id: i64,
    /// Its number; none for the draft.
    pub number: Option<i64>,
    /// The change note (empty for the draft).
    pub change_note: String,
    /// When it was published (epoch ms); none for the draft.
    pub published_at: Option<i64>,
    /// The rules, in order.
    pub rules: Vec<RuleRecord>,
}

/// A published guideline version, as the version list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    /// The version's number.
    pub number: i64,
    /// What changed.
    pub change_note: String,
    /// When it was published (epoch ms).
    pub published_at: i64,
    /// Who published it, when known.
    pub author: Option<String>,
    /// How many rules it has.
    pub rules: i64,
}

/// A judgment that cited rules, with the version it was made under.
#[derive(Debug, Clone, PartialEq)]
pub struct CitedJudgment {
    /// The judgment.
    pub judgment_id: i64,
    /// Its pair.
    pub pair_id: i64,
    /// The version's id.
    pub version_id: i64,
    /// The version's number.
    pub version_number: i64,
    /// The rule ids it cited.
    pub rules: Vec<String>,
}

/// A judgment waiting for re-review because a rule it cited changed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OpenRereview {
    /// The pair.
    pub pair_id: i64,
    /// The judgment that cited the rule.
    pub judgment_id: i64,
    /// Who made it.
    pub annotator: String,
    /// The label it gave.
    pub label: Option<String>,
    /// The rule that changed.
    pub rule: String,
    /// The version the judgment was made under.
    pub from_version: i64,
    /// The version that changed the rule.
    pub to_version: i64,
}

/// One training run of a project's scorer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScorerRun {
    /// Id (0 before it is stored).
    pub id: i64,
    /// The encoder's version (its weights' sha256).
    pub model_version: String,
    /// Labelled pairs it was trained on.
    pub labels_used: i64,
    /// Accuracy on the held-out share.
    pub heldout_accuracy: Option<f64>,
    /// Macro-F1 on the held-out share.
    pub heldout_macro_f1: Option<f64>,
    /// Calibration temperature.
    pub temperature: f64,
    /// Training time in milliseconds (embedding included).
    pub train_ms: i64,
    /// The head's weights (safetensors); empty when not asked for.
    pub head: Vec<u8>,
    /// The head's settings (JSON).
    pub head_config: String,
    /// When it finished (epoch ms).
    pub created_at: i64,
    /// Complete pairs of the project when it started ([`Store::complete_pairs`]).
    pub complete_pairs: i64,
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// A disabled user cannot log in.
    pub disabled: bool,
    /// When the password last changed (epoch ms; 0: never): sessions logged in before
    /// it are not honoured.
    pub password_changed_at: i64,
}

/// A user with the roles they hold in one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub name: String,
    /// A disabled user cannot log in.
    pub disabled: bool,
    /// Roles held in the project itself.
    pub roles: Vec<Role>,
    /// Admin of every project.
    pub site_admin: bool,
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
