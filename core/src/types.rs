//! Values that cross the wire between server and browser.

use serde::{Deserialize, Serialize};

use crate::project::{FrequencyBand, ScalePreset, StrategyKind, TaskKind};
pub use crate::role::PROJECT_ROLES;
use crate::role::Role;

/// One row of the project list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectSummary {
    /// URL-safe identifier.
    pub slug: String,
    /// Human-readable name.
    pub name: String,
    /// Label scale preset.
    pub scale: ScalePreset,
    /// Judgments wanted per pair.
    pub overlap_k: i64,
    /// Pairs in the project.
    pub pairs: i64,
    /// Judgments collected so far.
    pub judgments: i64,
    /// The caller's roles in the project.
    #[serde(default)]
    pub my_roles: Vec<Role>,
}

/// A pair as an annotator sees it: nothing says whether it is a gold pair, and the
/// models behind the CoT candidates are not named (blind ranking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairView {
    /// The pair's id, to quote when submitting.
    pub pair_id: i64,
    /// What is asked: `judge`, `rank` or `judge+rank`.
    pub task: TaskKind,
    /// The query text.
    pub query: String,
    /// The query's traffic band: head, torso or tail.
    pub band: FrequencyBand,
    /// The product.
    pub item: ItemView,
    /// The model's chain-of-thought candidates, in their stored order.
    pub cot: Vec<CotView>,
    /// Why the active-learning scorer ranked this pair where it did, e.g. "model unsure
    /// between L2 and L3 (0.41 vs 0.38); CoT candidates split 2:1 (L3:L2)"; none before
    /// the scorer has scored the project.
    #[serde(default)]
    pub why: Option<String>,
}

/// A product as shown to annotators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemView {
    /// The catalog's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category path, broadest first.
    pub category: Vec<String>,
    /// Attribute name and value, sorted by name.
    pub attributes: Vec<(String, String)>,
    /// Price, if known.
    pub price: Option<f64>,
    /// Image URLs, loaded by the browser only.
    pub images: Vec<String>,
    /// Description, if any.
    pub description: Option<String>,
}

/// One CoT candidate, without its model's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CotView {
    /// Position among the pair's candidates (0-based).
    pub position: i64,
    /// The model that wrote it, only where the project's admins reveal models.
    #[serde(default)]
    pub model: Option<String>,
    /// The reasoning steps.
    pub steps: Vec<String>,
    /// The full text.
    pub text: String,
    /// The label the candidate reached.
    pub label: Option<String>,
}

/// A pair handed to the caller, with its lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedPair {
    /// The lease to quote when submitting.
    pub lease_id: i64,
    /// When the lease ends (epoch ms).
    pub expires_at: i64,
    /// The pair.
    pub pair: PairView,
}

/// A rule of the published guideline, as annotators read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// Stable id such as `R-BRAND-01`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Markdown body, shown as text.
    pub body: String,
    /// Capability tags.
    pub capabilities: Vec<String>,
    /// The attribute dimension it governs.
    pub dimension: Option<String>,
    /// Worked examples.
    pub examples: Vec<RuleExampleView>,
}

/// A worked example of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleExampleView {
    /// The query.
    pub query: String,
    /// The item's title.
    pub item_title: String,
    /// The label the rule gives.
    pub label: String,
    /// Why, in one line.
    pub why: String,
}

/// The latest published guideline of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GuidelineView {
    /// The version's id, recorded with each judgment.
    pub version_id: i64,
    /// The version's number.
    pub number: i64,
    /// The rules, in order.
    pub rules: Vec<RuleView>,
}

/// A rule cited in a judgment from the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// The rule's id.
    pub id: String,
    /// True when the item violates it, false when it applies.
    pub violated: bool,
}

/// A judgment as the workspace sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgmentForm {
    /// The pair.
    pub pair_id: i64,
    /// The lease, for a first judgment.
    pub lease_id: Option<i64>,
    /// The label (none for a rank-only task).
    pub label: Option<String>,
    /// Rules cited.
    pub rules: Vec<Citation>,
    /// Why, in the annotator's words (optional).
    pub rationale: Option<String>,
    /// The CoT ranking, best first with ties, for a pair whose task ranks.
    #[serde(default)]
    pub ranking: Option<Vec<Vec<usize>>>,
    /// First wrong step per candidate.
    #[serde(default)]
    pub step_flags: Vec<StepFlag>,
    /// The annotator's corrected CoT.
    #[serde(default)]
    pub corrected_cot: Option<CorrectedCot>,
    /// Time spent, in milliseconds.
    pub duration_ms: i64,
    /// The guideline version shown.
    pub guideline_version_id: Option<i64>,
    /// Made once per judgment by the page; a retry resends it.
    pub idempotency_key: String,
    /// True to revise the caller's judgment of this pair.
    pub revise: bool,
}

/// The caller's progress in a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    /// The project's label scale, lowest first.
    pub labels: Vec<String>,
    /// Judgments the caller made today (UTC).
    pub judged_today: i64,
    /// Pairs still open to the caller.
    pub left_for_me: i64,
    /// Judgments collected in the project.
    pub judgments: i64,
    /// Judgments the project wants (pairs times k).
    pub wanted: i64,
}

/// A member of a project, as its admins see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub name: String,
    /// Roles held in the project.
    pub roles: Vec<Role>,
    /// Admin of every project (granted from the command line, not here).
    pub site_admin: bool,
    /// A disabled user cannot log in.
    pub disabled: bool,
}

/// What adding a member did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddedMember {
    /// The user's name.
    pub name: String,
    /// True when the account was created now.
    pub created: bool,
    /// False when the user held the role already.
    pub granted: bool,
    /// A generated password, shown once.
    pub password: Option<String>,
}

/// Where a candidate's reasoning first went wrong, and against which rule or dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepFlag {
    /// The candidate's position (0-based).
    pub candidate: usize,
    /// The first wrong step's index (0-based); none when every step is right.
    pub step: Option<usize>,
    /// The guideline rule the step got wrong (its id, e.g. `R-BRAND-01`).
    #[serde(default)]
    pub rule: Option<String>,
    /// The attribute dimension the step got wrong (e.g. `brand`), when no rule names it.
    #[serde(default)]
    pub dimension: Option<String>,
}

/// The annotator's own reasoning, in the fixed step structure, and the label it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectedCot {
    /// The steps, in order.
    pub steps: Vec<String>,
    /// The label the corrected reasoning reaches.
    #[serde(default)]
    pub label: Option<String>,
}

/// A project's settings as its admins see and change them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsView {
    /// `judge`, `rank` or `judge+rank`, for pairs that do not set their own.
    pub task: TaskKind,
    /// Judgments wanted per pair.
    pub overlap_k: i64,
    /// Share of claims that look for a gold pair first, in percent.
    pub gold_percent: f64,
    /// How long a claimed pair is held, in minutes.
    pub lease_minutes: i64,
    /// Whether annotators see which model wrote each CoT candidate.
    pub reveal_models: bool,
    /// `serve` retrains the scorer after this many newly completed pairs (0: never).
    /// Always set when read; `None` in a change keeps the current value.
    #[serde(default)]
    pub retrain_every: Option<i64>,
    /// The acquisition strategy that fills the queue's priorities. Always set when read;
    /// `None` in a change keeps the current value.
    #[serde(default)]
    pub scorer_strategy: Option<StrategyKind>,
    /// Gold accuracy is judged over each annotator's last this many gold answers. Always
    /// set when read; `None` in a change keeps all four quality settings as they are.
    #[serde(default)]
    pub gold_window: Option<i64>,
    /// Below this share of exact gold answers, in percent, an annotator is flagged.
    #[serde(default)]
    pub gold_min_percent: Option<f64>,
    /// Whether a flagged annotator gets no more pairs.
    #[serde(default)]
    pub pause_flagged: Option<bool>,
    /// A pair whose own Krippendorff alpha is below this goes to review.
    #[serde(default)]
    pub review_alpha: Option<f64>,
    /// The acquisition strategies the server offers, the default first (read only).
    #[serde(default)]
    pub strategy_choices: Vec<StrategyKind>,
    /// The scorer's newest training runs, newest first (read only).
    #[serde(default)]
    pub scorer_runs: Vec<ScorerRunView>,
    /// Why the scorer is off on this server (no weights installed); `None` when it is on.
    #[serde(default)]
    pub scorer_off: Option<String>,
}

/// The settings form as posted (and the JSON API's `PUT .../settings` body). The task and strategy stay the text the form sent: the
/// server reads them once it knows the caller may change the settings, so a stranger's
/// malformed post is refused for who they are, not for what they sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    /// `judge`, `rank` or `judge+rank`.
    pub task: String,
    /// Judgments wanted per pair.
    pub overlap_k: i64,
    /// Share of claims that look for a gold pair first, in percent.
    pub gold_percent: f64,
    /// How long a claimed pair is held, in minutes.
    pub lease_minutes: i64,
    /// Whether annotators see which model wrote each CoT candidate.
    pub reveal_models: bool,
    /// Retrain after this many newly completed pairs; `None` keeps the current value.
    #[serde(default)]
    pub retrain_every: Option<i64>,
    /// A strategy's name; `None` keeps the current strategy.
    #[serde(default)]
    pub scorer_strategy: Option<String>,
    /// Gold window; `None` keeps all four quality settings as they are.
    #[serde(default)]
    pub gold_window: Option<i64>,
    /// The flagging threshold, in percent.
    #[serde(default)]
    pub gold_min_percent: Option<f64>,
    /// Whether a flagged annotator gets no more pairs.
    #[serde(default)]
    pub pause_flagged: Option<bool>,
    /// The review threshold on a pair's own alpha.
    #[serde(default)]
    pub review_alpha: Option<f64>,
}

/// One training run of a project's scorer, as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScorerRunView {
    /// The run's id.
    pub id: i64,
    /// When it finished, as `YYYY-MM-DD HH:MM UTC`.
    pub finished: String,
    /// Labelled pairs it learned from.
    pub labels_used: i64,
    /// Macro-F1 on the held-out share.
    pub heldout_macro_f1: Option<f64>,
    /// Accuracy on the held-out share.
    pub heldout_accuracy: Option<f64>,
    /// The first 12 hex digits of the encoder's version.
    pub model: String,
    /// Training time in seconds.
    pub seconds: f64,
}

/// How a dashboard chart draws its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// One bar per row, its series stacked.
    StackedBars,
    /// One bar per row, from the first series.
    Bars,
    /// A line through the rows, from the first series.
    Line,
    /// A grid of rows by series, shaded by count.
    Heatmap,
}

/// One row of a chart's table: a label and a value per series (none where undefined).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartRow {
    /// What the row is (a band, a day, an annotator).
    pub label: String,
    /// One value per series.
    pub values: Vec<Option<f64>>,
}

/// A chart of the quality dashboard and the table it is drawn from; the CSV download is
/// the same table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    /// Stable id, used in the page and the CSV's address.
    pub id: String,
    /// Title.
    pub title: String,
    /// What the rows are (the table's first column).
    pub row_label: String,
    /// How it is drawn.
    pub kind: ChartKind,
    /// The series (the table's other columns).
    pub series: Vec<String>,
    /// The rows.
    pub rows: Vec<ChartRow>,
}

/// A project's quality dashboard (admins and reviewers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    /// Krippendorff's alpha (ordinal) over every judged pair; none when undefined.
    pub alpha: Option<f64>,
    /// Pairs waiting for a reviewer.
    pub review_queue: i64,
    /// Annotators flagged for low gold accuracy.
    pub flagged: Vec<String>,
    /// The charts.
    pub charts: Vec<ChartView>,
}

/// A pair waiting in the review queue, as the review page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewEntryView {
    /// The pair.
    pub pair_id: i64,
    /// The query.
    pub query: String,
    /// The item's title.
    pub item_title: String,
    /// The annotators' current labels, lowest first.
    pub labels: Vec<String>,
    /// Why it is in the queue, in words.
    pub reasons: Vec<String>,
}

/// The review queue's first entries and its length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewQueueView {
    /// Pairs waiting in all.
    pub total: i64,
    /// The first of them, widest disagreement first.
    pub entries: Vec<ReviewEntryView>,
}

/// A judgment as the review page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewJudgmentView {
    /// The annotator.
    pub annotator: String,
    /// 1 for a first judgment, higher for revisions.
    pub revision: i64,
    /// The label.
    pub label: Option<String>,
    /// The rationale.
    pub rationale: Option<String>,
    /// Rules cited, as `R-ID (applies|violated)`.
    pub rules: Vec<String>,
    /// The guideline version shown.
    pub guideline_version: Option<i64>,
}

/// A reviewer decision as the review page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    /// The reviewer.
    pub reviewer: String,
    /// The final label.
    pub label: String,
    /// The note.
    pub note: String,
}

/// One pair on the review page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewPairView {
    /// The pair, its candidates with their models named.
    pub pair: PairView,
    /// Every judgment, revisions included.
    pub judgments: Vec<ReviewJudgmentView>,
    /// Decisions so far, oldest first.
    pub decisions: Vec<DecisionView>,
    /// Why it is in the review queue, in words (empty when it is not).
    pub reasons: Vec<String>,
    /// The project's scale, lowest first.
    pub scale: Vec<String>,
    /// Open re-reviews: judgments that cited a rule a newer version changed.
    #[serde(default)]
    pub rereviews: Vec<RereviewInfo>,
}

/// A judgment waiting for re-review, with the rule then and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RereviewInfo {
    /// Who made the judgment.
    pub annotator: String,
    /// The label it gave.
    pub label: Option<String>,
    /// The rule that changed.
    pub rule: String,
    /// The version the judgment was made under.
    pub from_version: i64,
    /// The version that changed the rule.
    pub to_version: i64,
    /// The rule as it read then.
    pub rule_before: Option<RuleView>,
    /// The rule as it reads now (none: removed).
    pub rule_after: Option<RuleView>,
}

/// A published guideline version in the version list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionListEntry {
    /// Its number.
    pub number: i64,
    /// What changed.
    pub change_note: String,
    /// When, as `YYYY-MM-DD HH:MM UTC`.
    pub published: String,
    /// Who published it, when known.
    pub author: Option<String>,
    /// How many rules it has.
    pub rules: i64,
}

/// A run of words in a rule body's diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSpanView {
    /// `same`, `added` or `removed`.
    pub op: String,
    /// The words.
    pub text: String,
}

/// A rule changed between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleChangeView {
    /// The rule's id.
    pub id: String,
    /// Title before.
    pub title_before: String,
    /// Title after.
    pub title_after: String,
    /// The body, word by word.
    pub body: Vec<DiffSpanView>,
    /// Whether its examples changed.
    pub examples_changed: bool,
    /// Whether its capability tags or dimension changed.
    pub tags_changed: bool,
}

/// A changed or removed rule and the judgments that cited it before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleImpactView {
    /// The rule.
    pub rule: String,
    /// `changed` or `removed`.
    pub change: String,
    /// Current judgments that cited it under earlier versions.
    pub judgments: u64,
}

/// One version's page: its rules and what changed from the version before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionPageView {
    /// Its number.
    pub number: i64,
    /// What changed.
    pub change_note: String,
    /// When, as `YYYY-MM-DD HH:MM UTC`.
    pub published: String,
    /// The rules, in order.
    pub rules: Vec<RuleView>,
    /// Rules added since the version before (`id: title`).
    pub added: Vec<String>,
    /// Rules removed since the version before (`id: title`).
    pub removed: Vec<String>,
    /// Rules changed since the version before.
    pub changed: Vec<RuleChangeView>,
    /// What the changes touch, for editors, reviewers and admins (none for others, and
    /// for version 1).
    pub impact: Option<Vec<RuleImpactView>>,
    /// Whether the caller may send the touched judgments to re-review.
    pub can_send: bool,
}

/// What the guideline editor starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftEditView {
    /// Where the rules come from: `the draft`, `version N` (no draft yet) or `nothing yet`.
    pub source: String,
    /// The rules, in order.
    pub rules: Vec<RuleView>,
    /// The project's scale, lowest first (for example labels).
    pub scale: Vec<String>,
}

/// A pair found by the editor's example picker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairHit {
    /// The pair.
    pub pair_id: i64,
    /// Its query.
    pub query: String,
    /// Its item's title.
    pub item_title: String,
}
