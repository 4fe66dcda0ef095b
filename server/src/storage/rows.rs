//! The rows the store reads and writes for the queue, the exports and label quality.
//! Storage owns them, so it names no module above it; the queue, the exports
//! and label quality re-export them under the names their callers use.

use std::collections::BTreeMap;

use relabel_core::types::{CorrectedCot, ProjectSummary, StepFlag};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{FrequencyBand, RuleRecord, TaskKind};
use crate::ranking::RankingInput;

// The queue's (re-exported by `queue`).

/// A pair handed to an annotator, held for them until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The pair to judge.
    pub pair_id: i64,
    /// The lease to quote when submitting.
    pub lease_id: i64,
    /// When the lease ends (epoch ms); after that the pair may go to someone else.
    pub expires_at: i64,
    /// The id of the guideline version the pair is shown under (the latest published);
    /// the judgment is stamped with it. `None`: the project has no published guideline.
    pub guideline_version_id: Option<i64>,
    /// That version's number.
    pub guideline_version: Option<i64>,
}

/// Whether a cited rule decided the label by applying or by being violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleVerdict {
    /// The rule applies to this pair.
    Applies,
    /// The item violates the rule.
    Violated,
}

/// One rule cited in a judgment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleCitation {
    /// The rule's stable id, such as `R-BRAND-01`.
    pub id: String,
    /// How it applied.
    pub verdict: RuleVerdict,
}

/// An annotator's judgment of one pair, as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgmentInput {
    /// The pair judged.
    pub pair_id: i64,
    /// The lease the pair was handed out under, if any.
    pub lease_id: Option<i64>,
    /// A label on the project's scale (none for a rank-only task).
    pub label: Option<String>,
    /// Rules cited.
    pub rules: Vec<RuleCitation>,
    /// Why, in the annotator's words.
    pub rationale: Option<String>,
    /// Time spent, in milliseconds.
    pub duration_ms: Option<i64>,
    /// The guideline version the client says it showed. The server stamps the version
    /// the pair was served under whatever this says; a different one is refused.
    pub guideline_version_id: Option<i64>,
    /// A key the client makes once per judgment; sending it again changes nothing.
    pub idempotency_key: String,
    /// The CoT ranking, for a pair whose task ranks.
    pub ranking: Option<RankingInput>,
}

/// What a stored (or replayed) submit answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Submitted {
    /// The judgment's id.
    pub judgment_id: i64,
    /// 1 for a first judgment, higher for revisions.
    pub revision: i64,
    /// True when the idempotency key had been used for this very judgment before.
    pub replayed: bool,
}

/// A stored judgment, as the queue's tests and exports read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JudgmentRow {
    /// Id.
    pub id: i64,
    /// The pair.
    pub pair_id: i64,
    /// The annotator.
    pub user_id: i64,
    /// 1 for the first judgment, then one more per revision.
    pub revision: i64,
    /// The label (none for a rank-only task).
    pub label: Option<String>,
    /// The rules cited, as stored (JSON).
    pub rules_cited: String,
    /// The ranking, as stored (JSON tie groups), if the task ranks.
    pub ranking: Option<String>,
    /// First wrong steps, as stored (JSON).
    pub step_flags: Option<String>,
    /// The corrected CoT, as stored (JSON).
    pub corrected_cot: Option<String>,
    /// The client's key.
    pub idempotency_key: String,
}

/// Why a queue operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such pair in this project.
    #[error("no such pair in this project")]
    NotFound,
    /// The annotator judged this pair already (a change is a revision).
    #[error("you have judged this pair already; revise it instead")]
    AlreadyJudged,
    /// There is no judgment of this pair by this annotator to revise.
    #[error("you have not judged this pair, so there is nothing to revise")]
    NothingToRevise,
    /// The lease ran out and the pair has since gone to enough other annotators.
    #[error("your lease on this pair expired and it has enough judgments now")]
    LeaseExpired,
    /// The idempotency key was used for a different judgment.
    #[error("this idempotency key was used for another judgment")]
    KeyReused,
    /// The client names another guideline version than the one the pair was served
    /// under (HTTP 409).
    #[error("{0}")]
    VersionMismatch(String),
    /// A field's value is out of bounds; the message names the field first (HTTP 422,
    /// like every other validation failure of a judgment).
    #[error("{0}")]
    Invalid(String),
    /// Well-formed, but does not fit the pair, its task or the guideline (HTTP 422).
    #[error("{0}")]
    Unprocessable(String),
    /// The annotator is flagged for low gold accuracy and the project pauses flagged
    /// annotators (HTTP 403).
    #[error(
        "you are paused in this project: your accuracy on recent gold pairs is below the \
         project's bar; ask a project admin"
    )]
    Paused,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for QueueError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

/// A pair as the submit checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairForJudging {
    /// The pair's task (its own, else the project's).
    pub task: TaskKind,
    /// Its CoT candidates, by position.
    pub candidates: Vec<CandidateShape>,
}

/// What the checks need of one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateShape {
    /// How many steps it has.
    pub steps: usize,
    /// The label it reached.
    pub label: Option<String>,
}

// The exports' (re-exported by `export`).

/// A pair with everything an export needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPair {
    /// The pair's id.
    pub pair_id: i64,
    /// Its task (its own, else the project's).
    pub task: TaskKind,
    /// The query.
    pub query: String,
    /// The query's traffic band.
    pub band: FrequencyBand,
    /// The catalog's item id.
    pub item_id: String,
    /// The item's title.
    pub item_title: String,
    /// Category path.
    pub category: Vec<String>,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
    /// Price.
    pub price: Option<f64>,
    /// Image URLs.
    pub images: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Capability and other tags.
    pub tags: Vec<String>,
    /// CoT candidates, by position.
    pub candidates: Vec<ExportCandidate>,
    /// Each annotator's current judgment (latest revision), by id.
    pub judgments: Vec<ExportJudgment>,
    /// The latest reviewer decision.
    pub adjudicated: Option<String>,
    /// The known answer of a gold pair.
    pub gold_label: Option<String>,
}

/// A CoT candidate as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportCandidate {
    /// Position (0-based).
    pub position: i64,
    /// The model that wrote it.
    pub model: String,
    /// Full text.
    pub text: String,
    /// Steps.
    pub steps: Vec<String>,
    /// The label it reached.
    pub label: Option<String>,
}

/// An annotator's current judgment of a pair.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportJudgment {
    /// The judgment's id.
    pub id: i64,
    /// The annotator.
    pub user_id: i64,
    /// The label (none for rank-only tasks).
    pub label: Option<String>,
    /// The ranking, best first with ties.
    pub ranking: Option<Vec<Vec<usize>>>,
    /// First wrong steps.
    pub step_flags: Vec<StepFlag>,
    /// A corrected CoT.
    pub corrected_cot: Option<CorrectedCot>,
    /// The guideline version number shown.
    pub guideline_version: Option<i64>,
    /// The rules cited, with their verdicts.
    pub rules: Vec<RuleCitation>,
    /// When it was made (epoch ms).
    pub created_at: i64,
}

// Label quality's (re-exported by `quality`).

/// An annotator's first answer to a gold pair, as the store reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldRow {
    /// The annotator.
    pub user_id: i64,
    /// Their name.
    pub user: String,
    /// The gold pair.
    pub pair_id: i64,
    /// The label they gave (none for a rank-only judgment).
    pub label: Option<String>,
    /// The gold label.
    pub gold: String,
    /// The rule ids they cited.
    pub rules: Vec<String>,
    /// The pair's tags (capabilities among them).
    pub tags: Vec<String>,
    /// When they answered (epoch ms).
    pub at: i64,
}

/// A judgment as a reviewer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JudgmentDetail {
    /// The judgment's id.
    pub id: i64,
    /// The annotator's name.
    pub annotator: String,
    /// 1 for a first judgment, higher for revisions.
    pub revision: i64,
    /// The label (none for a rank-only judgment).
    pub label: Option<String>,
    /// Why, in the annotator's words.
    pub rationale: Option<String>,
    /// The rules cited.
    pub rules: Vec<RuleCitation>,
    /// The guideline version number shown when judging.
    pub guideline_version: Option<i64>,
    /// When it was made (epoch ms).
    pub created_at: i64,
}

/// A reviewer's decision on a pair's final label.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// The decision's id.
    pub id: i64,
    /// The reviewer's name.
    pub reviewer: String,
    /// The final label.
    pub label: String,
    /// The reviewer's note.
    pub note: String,
    /// When (epoch ms).
    pub created_at: i64,
}

/// What the review queue is computed from, as the store reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewRows {
    /// `(pair, annotator, label, made at)` for every labelled judgment, revisions in order
    /// (the last per pair and annotator counts).
    pub judgments: Vec<(i64, i64, String, i64)>,
    /// `(pair, label)` of each CoT candidate that reached a label, for judged pairs.
    pub model_labels: Vec<(i64, String)>,
    /// `(pair, time, label)` of the latest reviewer decision per pair.
    pub decided: Vec<(i64, i64, String)>,
    /// Pairs with at least the project's k judgments.
    pub complete: Vec<i64>,
    /// `(pair, rule, from version, to version)` of each open re-review.
    pub rereviews: Vec<(i64, String, i64, i64)>,
}

// Read by the pages, the dashboard and the login limiter.

/// A project as the list of projects shows it, with the id membership checks need.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedProject {
    /// The project's id.
    pub id: i64,
    /// What the list shows.
    pub summary: ProjectSummary,
}

/// The latest published guideline version.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedGuideline {
    /// The version's id (what a judgment is stamped with).
    pub version_id: i64,
    /// Its number, 1 for the first published.
    pub version: i64,
    /// Its rules.
    pub rules: Vec<RuleRecord>,
}

/// An annotator's progress in a project, and the project's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Judgments the annotator made since the time asked about.
    pub judged_since: i64,
    /// Pairs still open to the annotator (not judged or skipped by them, wanting more
    /// judgments than are made or leased to others).
    pub open: i64,
    /// The project's judgments collected.
    pub collected: i64,
    /// The project's judgments wanted: pairs times k.
    pub wanted: i64,
}

/// One judgment as the dashboard counts it (revisions included).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoggedJudgment {
    /// The annotator's id.
    pub user_id: i64,
    /// The annotator's name.
    pub name: String,
    /// When it was made (epoch ms).
    pub at: i64,
    /// The time spent, in ms, as the client measured it.
    pub duration_ms: Option<i64>,
    /// 1 for a first judgment, higher for revisions.
    pub revision: i64,
}

/// How far one traffic band's pairs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandDepth {
    /// The band.
    pub band: FrequencyBand,
    /// Its pairs with all k judgments or a reviewer's decision.
    pub complete: i64,
    /// All its pairs.
    pub pairs: i64,
}

/// A pair found by text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PairHit {
    /// The pair's id.
    pub pair_id: i64,
    /// Its query.
    pub query: String,
    /// Its item's title.
    pub item_title: String,
}

/// Login attempts under one key, counted per one-minute window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAttempts {
    /// In the window just counted, this attempt included.
    pub current: i64,
    /// In the window before it.
    pub previous: i64,
}
