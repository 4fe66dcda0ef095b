//! Exports that training code reads as is (docs/formats.md): SFT
//! conversations, preference pairs, stepwise (process) labels, a labels table and a
//! benchmark set. Pairs are read from the store a page at a time, so memory stays
//! constant whatever the project's size; records are written in pair-id order with
//! fixed field order, so the same data and seed give byte-identical files.

pub mod card;
pub mod final_label;
pub mod preference;
mod prompt;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{FrequencyBand, Project, RuleRecord};
pub use crate::storage::rows::{ExportCandidate, ExportJudgment, ExportPair};
use crate::storage::{Store, StoreError};
use final_label::{FinalLabel, LeftOut, agreement, final_label};
pub use preference::PairSelection;
use relabel_core::cot_text::{self, same_text};
use relabel_core::mix::{GOLDEN_GAMMA, splitmix64};

/// Pairs read from the store per page.
const PAGE: i64 = 500;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Supervised fine-tuning records (TRL conversational or prompt-completion).
    Sft,
    /// Chosen/rejected pairs for preference training (TRL).
    PreferencePairs,
    /// Step-level labels for process reward models (TRL stepwise).
    Stepwise,
    /// A CSV table of final labels.
    Labels,
    /// Held-out pairs with final labels, capability tags and subsets.
    Benchmark,
}

/// TRL's two dataset styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Style {
    /// Plain strings: `prompt`/`completion`, `prompt`/`chosen`/`rejected`.
    Standard,
    /// Message lists with roles.
    Conversational,
}

/// How an export is made.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The format.
    pub format: ExportFormat,
    /// The style (sft and preference-pairs); `None`: the format's default.
    pub style: Option<Style>,
    /// Share of queries held out as the test split (`None`: no split).
    pub test_share: Option<f64>,
    /// Seed of the split.
    pub seed: u64,
    /// Which preference pairs.
    pub pairs: PairSelection,
    /// Only judgments made under this guideline version number.
    pub guideline_version: Option<i64>,
    /// Only pairs whose query is in this band.
    pub band: Option<FrequencyBand>,
    /// Only pairs with this capability tag.
    pub capability: Option<String>,
    /// Only pairs whose agreement is at least this.
    pub min_agreement: Option<f64>,
    /// Only judgments made at or after this time (epoch ms).
    pub since: Option<i64>,
}

impl ExportOptions {
    /// Options for `format` with every default.
    pub fn new(format: ExportFormat) -> Self {
        Self {
            format,
            style: None,
            test_share: None,
            seed: 0,
            pairs: PairSelection::All,
            guideline_version: None,
            band: None,
            capability: None,
            min_agreement: None,
            since: None,
        }
    }

    fn style(&self) -> Style {
        self.style.unwrap_or(match self.format {
            ExportFormat::Sft => Style::Conversational,
            _ => Style::Standard,
        })
    }
}

/// Where records go: one writer, or a train and a test writer.
pub enum Output<'a> {
    /// Everything to one writer (with a `split` field when splitting).
    One(&'a mut (dyn Write + Send)),
    /// Train records to the first writer, test records to the second.
    Split(&'a mut (dyn Write + Send), &'a mut (dyn Write + Send)),
    /// Everything (with a `split` field when splitting) as chunks over a channel, a
    /// page of pairs at a time: an HTTP download streams from the receiver.
    Stream(tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>),
}

/// What an export wrote and what it left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExportSummary {
    /// Pairs read.
    pub pairs_read: u64,
    /// Records written.
    pub records: u64,
    /// Records in the test split.
    pub test_records: u64,
    /// Distinct queries with records in the train split (all of them without a split).
    pub train_queries: u64,
    /// Distinct queries with records in the test split.
    pub test_queries: u64,
    /// Pairs left out, by reason.
    pub left_out: BTreeMap<String, u64>,
    /// Records left out of a pair that wrote others, by reason (identical texts).
    pub records_left_out: BTreeMap<String, u64>,
    /// The final labels of the pairs that wrote records, and how many pairs had each.
    pub final_labels: BTreeMap<String, u64>,
    /// The mean agreement of the pairs that wrote records (none without any).
    pub mean_agreement: Option<f64>,
    /// The guideline version numbers of the judgments behind the records.
    pub guideline_versions: BTreeSet<i64>,
}

impl ExportSummary {
    fn leave_out(&mut self, why: &str) {
        *self.left_out.entry(why.to_owned()).or_default() += 1;
    }
}

/// Why a preference record is left out when its two sides are the same text.
pub const IDENTICAL_TEXTS: &str = "chosen and rejected are the same text";

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The options do not fit together.
    #[error("{0}")]
    Invalid(String),
}

/// Whether a query goes to the test split by its draw alone: a hash of the seed and the
/// query text, so a query is wholly in one split and the same seed always splits the
/// same way. [`SplitPlan`] adds the rule that neither split is left empty.
pub fn is_test_query(query: &str, seed: u64, test_share: f64) -> bool {
    query_draw(query, seed) < test_share
}

/// A query's draw in [0, 1) for a seed.
fn query_draw(query: &str, seed: u64) -> f64 {
    (query_hash(query, seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable 64-bit hash of a query and a seed.
fn query_hash(query: &str, seed: u64) -> u64 {
    // FNV-1a: stable across Rust versions and platforms, unlike DefaultHasher's keys.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(GOLDEN_GAMMA);
    for byte in query.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's high bits mix poorly for short, similar keys; finish with splitmix64's mixer.
    splitmix64(hash)
}

/// Which split each query goes to: by its draw ([`is_test_query`]), except that when
/// at least two queries have records and the draws put all of them on one side, the
/// query that drew lowest goes to the test split (or the one that drew highest stays in
/// train). Both are fixed by the seed, so the same data and seed split the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPlan {
    share: f64,
    seed: u64,
    to_test: Option<String>,
    to_train: Option<String>,
}

impl SplitPlan {
    /// Whether `query` goes to the test split.
    pub fn is_test(&self, query: &str) -> bool {
        if self.to_test.as_deref() == Some(query) {
            return true;
        }
        if self.to_train.as_deref() == Some(query) {
            return false;
        }
        is_test_query(query, self.seed, self.share)
    }
}

/// Builds a [`SplitPlan`] from the queries that have records, one at a time (repeats
/// allowed), in constant memory.
#[derive(Debug, Clone)]
pub struct SplitPlanner {
    share: f64,
    seed: u64,
    first: Option<String>,
    several: bool,
    any_test: bool,
    any_train: bool,
    lowest: Option<(f64, String)>,
    highest: Option<(f64, String)>,
}

impl SplitPlanner {
    /// A planner for a test share in (0, 1) and a seed.
    pub fn new(share: f64, seed: u64) -> Self {
        Self {
            share,
            seed,
            first: None,
            several: false,
            any_test: false,
            any_train: false,
            lowest: None,
            highest: None,
        }
    }

    /// Notes a query that has at least one record.
    pub fn see(&mut self, query: &str) {
        match &self.first {
            None => self.first = Some(query.to_owned()),
            Some(f) if f != query => self.several = true,
            Some(_) => {}
        }
        let draw = query_draw(query, self.seed);
        if draw < self.share {
            self.any_test = true;
        } else {
            self.any_train = true;
        }
        // Ties of draws (practically never) are broken by the text, so the plan does not
        // depend on the order queries are seen in.
        let key = |d: f64, q: &str| (d, q.to_owned());
        if self
            .lowest
            .as_ref()
            .is_none_or(|(d, q)| (draw, query) < (*d, q.as_str()))
        {
            self.lowest = Some(key(draw, query));
        }
        if self
            .highest
            .as_ref()
            .is_none_or(|(d, q)| (draw, query) > (*d, q.as_str()))
        {
            self.highest = Some(key(draw, query));
        }
    }

    /// The plan, or why no split can give both sides a query.
    pub fn finish(self) -> Result<SplitPlan, String> {
        if !self.several {
            let how_many = if self.first.is_some() {
                "only one query has"
            } else {
                "no query has"
            };
            return Err(format!(
                "--split: {how_many} records, and a split needs at least two queries, so \
                 that train and test each get one; export without --split"
            ));
        }
        let mut plan = SplitPlan {
            share: self.share,
            seed: self.seed,
            to_test: None,
            to_train: None,
        };
        if !self.any_test {
            plan.to_test = self.lowest.map(|(_, q)| q);
        } else if !self.any_train {
            plan.to_train = self.highest.map(|(_, q)| q);
        }
        Ok(plan)
    }
}

/// Escapes a CSV cell a spreadsheet would run as a formula.
pub fn csv_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Ends every prompt of the standard (plain string) style, so that a trainer joining
/// prompt and completion directly (TRL does) reads "...size: 10 inch\n\nAnswer:\nThe
/// query asks..." rather than "10 inchThe query asks". The conversational style needs
/// none: the chat template separates the turns.
pub const ANSWER_CUE: &str = "\n\nAnswer:\n";

/// An export made ready by [`prepare`]: its options checked, the prompt's system text
/// rendered, and (with a split) which query goes to which split.
#[derive(Debug, Clone)]
pub struct Prepared {
    project: Project,
    options: ExportOptions,
    system: String,
    /// Each guideline rule's capability tags, by rule id.
    rule_capabilities: BTreeMap<String, Vec<String>>,
    split: Option<SplitPlan>,
}

/// The name an option's value has on the command line (`preference-pairs`, `standard`).
fn value_name<T: ValueEnum>(value: T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// Refuses options that do not fit together, before anything is read.
fn check_options(options: &ExportOptions) -> Result<(), ExportError> {
    if let Some(share) = options.test_share
        && !(share > 0.0 && share < 1.0)
    {
        return Err(ExportError::Invalid(format!(
            "--split test={share}: the test share must be more than 0 and less than 1 \
             (test=SHARE)"
        )));
    }
    if let Some(style) = options.style
        && !matches!(
            options.format,
            ExportFormat::Sft | ExportFormat::PreferencePairs
        )
    {
        return Err(ExportError::Invalid(format!(
            "--style {}: only sft and preference-pairs have styles; {} records have one \
             shape",
            value_name(style),
            value_name(options.format)
        )));
    }
    Ok(())
}

/// Checks the options and reads what every record needs; with a split, reads the
/// project once to choose the splits so that neither is empty (the split guarantee,
/// docs/formats.md). Errors here come before any byte is written, so a server can still
/// answer them with a status.
pub async fn prepare(
    store: &dyn Store,
    project: &Project,
    options: &ExportOptions,
) -> Result<Prepared, ExportError> {
    check_options(options)?;
    let rules: Vec<RuleRecord> = store
        .latest_guideline(project)
        .await?
        .map(|latest| latest.rules)
        .unwrap_or_default();
    let mut prepared = Prepared {
        project: project.clone(),
        options: options.clone(),
        system: prompt::system(project, &rules),
        rule_capabilities: rules
            .iter()
            .map(|r| (r.key.clone(), r.capabilities.clone()))
            .collect(),
        split: None,
    };
    if let Some(share) = options.test_share {
        let mut planner = SplitPlanner::new(share, options.seed);
        let mut scratch = ExportSummary::default();
        let mut pages = Pages::default();
        while let Some(page) = pages.next(store, project).await? {
            for pair in &page {
                if let Some(judged) = judge(&prepared, pair, &mut scratch)
                    && !records_of(&prepared, &judged, &mut scratch).is_empty()
                {
                    planner.see(&pair.query);
                }
            }
        }
        prepared.split = Some(planner.finish().map_err(ExportError::Invalid)?);
    }
    Ok(prepared)
}

/// The project's pairs a page at a time, in pair-id order (keyset paging).
#[derive(Default)]
struct Pages {
    after: i64,
}

impl Pages {
    /// The next page, or `None` after the last.
    async fn next(
        &mut self,
        store: &dyn Store,
        project: &Project,
    ) -> Result<Option<Vec<ExportPair>>, StoreError> {
        let page = store.export_page(project, self.after, PAGE).await?;
        Ok(page.last().map(|last| last.pair_id).map(|last| {
            self.after = last;
            page
        }))
    }
}

/// Exports `project` in the chosen format to `output` ([`prepare`], then [`write`]).
pub async fn export(
    store: &dyn Store,
    project: &Project,
    options: &ExportOptions,
    output: Output<'_>,
) -> Result<ExportSummary, ExportError> {
    let prepared = prepare(store, project, options).await?;
    write(store, &prepared, output).await
}

/// Writes a prepared export to `output`.
pub async fn write(
    store: &dyn Store,
    prepared: &Prepared,
    output: Output<'_>,
) -> Result<ExportSummary, ExportError> {
    if matches!(output, Output::Split(..)) && prepared.split.is_none() {
        return Err(ExportError::Invalid(
            "--split-files needs --split test=SHARE".into(),
        ));
    }
    let project = &prepared.project;
    let options = &prepared.options;
    let mut writer = RecordWriter {
        output,
        split: prepared.split.is_some(),
        csv: false,
        pending: Vec::new(),
    };
    if options.format == ExportFormat::Labels {
        writer.start_csv()?;
    }
    let mut summary = ExportSummary::default();
    let (mut train_queries, mut test_queries) = (HashSet::new(), HashSet::new());
    let (mut agreement_sum, mut agreement_pairs) = (0.0, 0u64);
    let mut pages = Pages::default();
    while let Some(page) = pages.next(store, project).await? {
        for pair in &page {
            summary.pairs_read += 1;
            let Some(judged) = judge(prepared, pair, &mut summary) else {
                continue;
            };
            let identical_before = summary.records_left_out.get(IDENTICAL_TEXTS).copied();
            let records = records_of(prepared, &judged, &mut summary);
            if records.is_empty() {
                let identical = summary.records_left_out.get(IDENTICAL_TEXTS).copied();
                summary.leave_out(match options.format {
                    ExportFormat::PreferencePairs if identical != identical_before => {
                        "every preference pair's two sides are the same text"
                    }
                    ExportFormat::Sft => "no corrected CoT and no candidate with the final label",
                    ExportFormat::PreferencePairs => "no preference pair",
                    ExportFormat::Stepwise => "no first-wrong-step flags",
                    _ => "nothing to write",
                });
                continue;
            }
            *summary
                .final_labels
                .entry(judged.final_label.label.clone())
                .or_default() += 1;
            if let Some(a) = judged.agreement {
                agreement_sum += a;
                agreement_pairs += 1;
            }
            summary
                .guideline_versions
                .extend(judged.judgments.iter().filter_map(|j| j.guideline_version));
            let test = prepared
                .split
                .as_ref()
                .is_some_and(|plan| plan.is_test(&pair.query));
            let query = query_hash(&pair.query, 0);
            if test {
                test_queries.insert(query);
            } else {
                train_queries.insert(query);
            }
            for record in records {
                writer.write(test, record)?;
                summary.records += 1;
                summary.test_records += u64::from(test);
            }
        }
        writer.flush_page().await?;
    }
    writer.flush_page().await?;
    writer.finish()?;
    summary.train_queries = train_queries.len() as u64;
    summary.test_queries = test_queries.len() as u64;
    summary.mean_agreement = (agreement_pairs > 0).then(|| agreement_sum / agreement_pairs as f64);
    Ok(summary)
}

/// The final-label rule for a pair under `project` (its scale and k): the judgments'
/// levels, and the final label or why there is none.
pub fn final_label_of(
    project: &Project,
    judgments: &[&ExportJudgment],
    adjudicated: Option<&str>,
) -> (Vec<usize>, Result<FinalLabel, LeftOut>) {
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    let levels: Vec<usize> = judgments
        .iter()
        .filter_map(|j| j.label.as_deref().and_then(level))
        .collect();
    let k = usize::try_from(project.overlap_k).unwrap_or(usize::MAX);
    let adjudicated = adjudicated.and_then(level);
    let result = final_label(&project.scale_labels, &levels, adjudicated, k);
    (levels, result)
}

/// A pair as the export sees it after the rule for final labels and the filters.
struct Judged<'a> {
    pair: &'a ExportPair,
    judgments: Vec<&'a ExportJudgment>,
    final_label: FinalLabel,
    agreement: Option<f64>,
}

impl Judged<'_> {
    /// The provenance every record carries (docs/formats.md, "meta").
    fn meta(&self, prepared: &Prepared) -> Value {
        let versions: BTreeSet<i64> = self
            .judgments
            .iter()
            .filter_map(|j| j.guideline_version)
            .collect();
        // Each (rule, verdict) the counted judgments cited, with how many cited it.
        let mut cited: BTreeMap<(&str, String), u64> = BTreeMap::new();
        for rule in self.judgments.iter().flat_map(|j| &j.rules) {
            let verdict = match rule.verdict {
                crate::queue::RuleVerdict::Applies => "applies",
                crate::queue::RuleVerdict::Violated => "violated",
            };
            *cited
                .entry((rule.id.as_str(), verdict.to_owned()))
                .or_default() += 1;
        }
        let rule_capabilities: BTreeSet<&str> = cited
            .keys()
            .filter_map(|(id, _)| prepared.rule_capabilities.get(*id))
            .flatten()
            .map(String::as_str)
            .collect();
        let capabilities: BTreeSet<&str> = self
            .pair
            .tags
            .iter()
            .map(String::as_str)
            .chain(rule_capabilities.iter().copied())
            .collect();
        json!({
            "pair_id": self.pair.pair_id,
            "judgment_ids": self.judgments.iter().map(|j| j.id).collect::<Vec<_>>(),
            "annotators": self.judgments.len(),
            "agreement": self.agreement,
            "guideline_versions": versions,
            "band": self.pair.band,
            "capabilities": capabilities,
            "pair_capabilities": self.pair.tags,
            "rule_capabilities": rule_capabilities,
            "rules_cited": cited
                .iter()
                .map(|((id, verdict), n)| json!({"id": id, "verdict": verdict, "judgments": n}))
                .collect::<Vec<_>>(),
            "final_label": self.final_label.label,
            "final_label_source": match self.final_label.source {
                final_label::Source::Adjudicated => "adjudicated",
                final_label::Source::Median => "median",
            },
        })
    }
}

/// Applies the filters and the final-label rule; `None` (counted) when the pair is out.
fn judge<'a>(
    prepared: &Prepared,
    pair: &'a ExportPair,
    summary: &mut ExportSummary,
) -> Option<Judged<'a>> {
    let options = &prepared.options;
    if options.band.is_some_and(|b| b != pair.band) {
        return None;
    }
    if options
        .capability
        .as_ref()
        .is_some_and(|c| !pair.tags.contains(c))
    {
        return None;
    }
    let judgments: Vec<&ExportJudgment> = pair
        .judgments
        .iter()
        .filter(|j| {
            options
                .guideline_version
                .is_none_or(|v| j.guideline_version == Some(v))
                && options.since.is_none_or(|t| j.created_at >= t)
        })
        .collect();
    if judgments.is_empty() && pair.adjudicated.is_none() {
        summary.leave_out(if pair.judgments.is_empty() {
            "no judgments"
        } else if options.guideline_version.is_some() {
            "no judgments under --guideline-version"
        } else {
            "no judgments since --since"
        });
        return None;
    }
    let (levels, final_label) =
        final_label_of(&prepared.project, &judgments, pair.adjudicated.as_deref());
    let final_label = match final_label {
        Ok(f) => f,
        Err(why) => {
            summary.leave_out(LeftOut::as_str(why));
            return None;
        }
    };
    let agreement = agreement(&levels);
    if let Some(min) = options.min_agreement
        && agreement.is_none_or(|a| a < min)
    {
        summary.leave_out("agreement below --min-agreement");
        return None;
    }
    Some(Judged {
        pair,
        judgments,
        final_label,
        agreement,
    })
}

/// The records one pair yields in the chosen format (none: left out). Records left out
/// of a pair that writes others are counted in `summary`.
fn records_of(prepared: &Prepared, judged: &Judged<'_>, summary: &mut ExportSummary) -> Vec<Value> {
    let (project, options, system) = (&prepared.project, &prepared.options, &prepared.system);
    let pair = judged.pair;
    let user = prompt::user(pair);
    let final_label = &judged.final_label.label;
    let rankings: Vec<Vec<Vec<usize>>> = judged
        .judgments
        .iter()
        .filter_map(|j| j.ranking.clone())
        .collect();
    let k = pair.candidates.len();
    let style = options.style();
    let standard_prompt = format!("{system}\n\n{user}{ANSWER_CUE}");
    let prompt_value = |style: Style| match style {
        Style::Standard => Value::String(standard_prompt.clone()),
        Style::Conversational => json!([
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]),
    };
    let answer = |text: String| match style {
        Style::Standard => Value::String(text),
        Style::Conversational => json!([{"role": "assistant", "content": text}]),
    };
    // One pair's records share its provenance: built once, when the first is written.
    let meta = std::cell::OnceCell::new();
    let with_meta = |mut record: Value| {
        record["meta"] = meta.get_or_init(|| judged.meta(prepared)).clone();
        record
    };
    match options.format {
        ExportFormat::Sft => {
            let corrected = judged.judgments.iter().find_map(|j| {
                j.corrected_cot
                    .as_ref()
                    .filter(|c| c.label.as_deref().is_none_or(|l| l == final_label))
                    .map(|c| (j.id, c))
            });
            let best = preference::aggregate(&rankings, k)
                .into_iter()
                .flatten()
                .chain(0..k)
                .filter_map(|c| pair.candidates.get(c))
                .find(|c| c.label.as_deref() == Some(final_label));
            let (text, source) = match (corrected, best) {
                (Some((judgment, c)), _) => (
                    cot_text::answer(&c.steps, final_label),
                    json!({"source": "corrected", "corrected_by_judgment": judgment,
                           "candidate": null, "model": null}),
                ),
                (None, Some(c)) => (
                    cot_text::answer(&cot_text::steps_of(&c.steps, &c.text), final_label),
                    json!({"source": "candidate", "corrected_by_judgment": null,
                           "candidate": c.position, "model": c.model}),
                ),
                (None, None) => return Vec::new(),
            };
            let record = match style {
                Style::Conversational => json!({"messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": text},
                ]}),
                Style::Standard => {
                    json!({"prompt": standard_prompt, "completion": text})
                }
            };
            let mut record = with_meta(record);
            for (key, value) in source.as_object().into_iter().flatten() {
                record["meta"][key] = value.clone();
            }
            vec![record]
        }
        ExportFormat::PreferencePairs => {
            let preferences = if rankings.is_empty() {
                let levels: Vec<Option<usize>> = pair
                    .candidates
                    .iter()
                    .map(|c| {
                        c.label
                            .as_deref()
                            .and_then(|l| project.scale_labels.iter().position(|s| s == l))
                    })
                    .collect();
                preference::from_labels(
                    &levels,
                    judged.final_label.level,
                    project.scale_labels.len(),
                )
            } else {
                preference::from_rankings(&rankings, k, options.pairs)
            };
            let text_of = |c: usize| {
                pair.candidates.get(c).map_or_else(String::new, |x| {
                    cot_text::candidate_answer(&x.steps, &x.text, x.label.as_deref())
                })
            };
            let model_of = |c: usize| pair.candidates.get(c).map(|x| x.model.clone());
            let mut out = Vec::new();
            for p in preferences {
                let (chosen, rejected) = (text_of(p.chosen), text_of(p.rejected));
                if same_text(&chosen, &rejected) {
                    *summary
                        .records_left_out
                        .entry(IDENTICAL_TEXTS.to_owned())
                        .or_default() += 1;
                    continue;
                }
                let mut record = with_meta(json!({
                    "prompt": prompt_value(style),
                    "chosen": answer(chosen),
                    "rejected": answer(rejected),
                    "margin": p.margin,
                }));
                record["meta"]["chosen_candidate"] = json!(p.chosen);
                record["meta"]["rejected_candidate"] = json!(p.rejected);
                record["meta"]["chosen_model"] = json!(model_of(p.chosen));
                record["meta"]["rejected_model"] = json!(model_of(p.rejected));
                record["meta"]["from"] = json!(if rankings.is_empty() {
                    "labels"
                } else {
                    "rankings"
                });
                out.push(record);
            }
            out
        }
        ExportFormat::Stepwise => {
            // Per candidate, the earliest first-wrong step flagged by an annotator whose
            // own label is the final label (or who gave none: a rank-only task). Flags of
            // annotators who were outvoted on the label are not counted: their reading of
            // the pair is the one that lost (docs/formats.md, "stepwise").
            let mut first_wrong: BTreeMap<usize, Option<usize>> = BTreeMap::new();
            let agreeing = judged
                .judgments
                .iter()
                .filter(|j| j.label.as_ref().is_none_or(|l| l == final_label));
            for flag in agreeing.flat_map(|j| &j.step_flags) {
                let entry = first_wrong.entry(flag.candidate).or_insert(flag.step);
                *entry = match (*entry, flag.step) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (Some(a), None) | (None, Some(a)) => Some(a),
                    (None, None) => None,
                };
            }
            first_wrong
                .into_iter()
                .filter_map(|(c, wrong)| {
                    let candidate = pair.candidates.get(c)?;
                    let upto = wrong.map_or(candidate.steps.len(), |w| {
                        (w + 1).min(candidate.steps.len())
                    });
                    let completions: Vec<&String> = candidate.steps.iter().take(upto).collect();
                    let labels: Vec<bool> = (0..upto).map(|i| Some(i) != wrong).collect();
                    (!completions.is_empty()).then(|| {
                        let mut record = with_meta(json!({
                            "prompt": standard_prompt,
                            "completions": completions,
                            "labels": labels,
                        }));
                        record["meta"]["candidate"] = json!(c);
                        record["meta"]["model"] = json!(candidate.model);
                        record
                    })
                })
                .collect()
        }
        ExportFormat::Labels => {
            let labels: Vec<&str> = judged
                .judgments
                .iter()
                .filter_map(|j| j.label.as_deref())
                .collect();
            let versions: BTreeSet<i64> = judged
                .judgments
                .iter()
                .filter_map(|j| j.guideline_version)
                .collect();
            let relevant = 2 * judged.final_label.level >= project.scale_labels.len();
            vec![json!([
                pair.pair_id.to_string(),
                pair.query,
                pair.band,
                pair.item_id,
                pair.item_title,
                final_label,
                if relevant { "1" } else { "0" },
                judged.judgments.len().to_string(),
                judged
                    .agreement
                    .map(|a| format!("{a:.3}"))
                    .unwrap_or_default(),
                labels.join("|"),
                versions
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join("|"),
            ])]
        }
        ExportFormat::Benchmark => {
            let mut subsets = vec!["general"];
            if pair.tags.iter().any(|t| t == "hard") {
                subsets.push("hard");
            }
            if pair.tags.iter().any(|t| t == "multimodal") {
                subsets.push("visual");
            }
            vec![with_meta(json!({
                "pair_id": pair.pair_id,
                "query": pair.query,
                "item": {
                    "id": pair.item_id,
                    "title": pair.item_title,
                    "category": pair.category,
                    "attributes": pair.attributes,
                    "price": pair.price,
                    "images": pair.images,
                    "description": pair.description,
                },
                "label": final_label,
                "band": pair.band,
                "capabilities": pair.tags,
                "subsets": subsets,
            }))]
        }
    }
}

/// Header of the labels table.
const LABELS_HEADER: [&str; 11] = [
    "pair_id",
    "query",
    "band",
    "item_id",
    "item_title",
    "final_label",
    "relevant",
    "judgments",
    "agreement",
    "labels",
    "guideline_versions",
];

/// Writes records as JSONL lines (or CSV rows for the labels table), to one output
/// with a `split` field or to a train and a test output.
struct RecordWriter<'a> {
    output: Output<'a>,
    /// Whether the export is split.
    split: bool,
    csv: bool,
    /// What a stream output has not sent yet.
    pending: Vec<u8>,
}

impl RecordWriter<'_> {
    fn start_csv(&mut self) -> std::io::Result<()> {
        self.csv = true;
        let mut header: Vec<&str> = LABELS_HEADER.to_vec();
        if self.split && matches!(self.output, Output::One(_) | Output::Stream(_)) {
            header.push("split");
        }
        let line = csv_line(header.iter().map(|s| (*s).to_owned()))?;
        match &mut self.output {
            Output::Stream(_) => {
                self.pending.extend_from_slice(&line);
                Ok(())
            }
            Output::One(w) => w.write_all(&line),
            Output::Split(train, test) => {
                train.write_all(&line)?;
                test.write_all(&line)
            }
        }
    }

    /// Writes one record, to the test split when `test`.
    fn write(&mut self, test: bool, mut record: Value) -> std::io::Result<()> {
        let split_field = self.split && matches!(self.output, Output::One(_) | Output::Stream(_));
        let name = if test { "test" } else { "train" };
        let bytes = if self.csv {
            let mut cells: Vec<String> = record
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            if split_field {
                cells.push(name.to_owned());
            }
            csv_line(cells.into_iter().map(|c| csv_safe(&c)))?
        } else {
            if split_field {
                record["split"] = Value::String(name.to_owned());
            }
            let mut line = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
            line.push(b'\n');
            line
        };
        match &mut self.output {
            Output::Stream(_) => self.pending.extend_from_slice(&bytes),
            Output::One(w) => w.write_all(&bytes)?,
            Output::Split(train, test_out) => {
                if test {
                    test_out.write_all(&bytes)?;
                } else {
                    train.write_all(&bytes)?;
                }
            }
        }
        Ok(())
    }

    /// Sends what a stream output holds; a no-op for writers.
    async fn flush_page(&mut self) -> std::io::Result<()> {
        if let Output::Stream(tx) = &self.output
            && !self.pending.is_empty()
        {
            let chunk = std::mem::take(&mut self.pending);
            tx.send(Ok(chunk)).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was cancelled")
            })?;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match &mut self.output {
            Output::Stream(_) => Ok(()),
            Output::One(w) => w.flush(),
            Output::Split(train, test) => {
                train.flush()?;
                test.flush()
            }
        }
    }
}

/// One CSV row, quoted as needed.
fn csv_line(cells: impl Iterator<Item = String>) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer
        .write_record(cells.collect::<Vec<_>>())
        .map_err(std::io::Error::other)?;
    writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_by_query_stable_and_near_the_share() {
        let queries: Vec<String> = (0..10_000).map(|i| format!("query {i}")).collect();
        let test = queries.iter().filter(|q| is_test_query(q, 7, 0.1)).count();
        assert!((900..1_100).contains(&test), "{test}");
        assert!(
            queries
                .iter()
                .all(|q| is_test_query(q, 7, 0.1) == is_test_query(q, 7, 0.1))
        );
        let other_seed = queries
            .iter()
            .filter(|q| is_test_query(q, 8, 0.1) != is_test_query(q, 7, 0.1))
            .count();
        assert!(other_seed > 100, "another seed splits otherwise");
        assert!(!queries.iter().any(|q| is_test_query(q, 7, 0.0)));
    }

    proptest::proptest! {
        /// The split guarantee: whatever the queries, seed and share, when at least two
        /// queries have records each split gets one, the plan does not depend on the
        /// order queries are seen in, and a query is in exactly one split.
        #[test]
        fn every_split_gets_a_query_when_two_or_more_have_records(
            queries in proptest::collection::vec("[a-z ]{0,12}", 1..40),
            seed in proptest::prelude::any::<u64>(),
            share in 0.001f64..0.999,
        ) {
            let mut forward = SplitPlanner::new(share, seed);
            let mut backward = SplitPlanner::new(share, seed);
            for q in &queries {
                forward.see(q);
            }
            for q in queries.iter().rev() {
                backward.see(q);
            }
            let distinct: BTreeSet<&String> = queries.iter().collect();
            match (forward.finish(), backward.finish()) {
                (Ok(plan), Ok(other)) => {
                    proptest::prop_assert!(distinct.len() >= 2);
                    proptest::prop_assert_eq!(&plan, &other);
                    let test = distinct.iter().filter(|q| plan.is_test(q)).count();
                    proptest::prop_assert!(test >= 1 && test < distinct.len(), "test {} of {}", test, distinct.len());
                }
                (Err(message), Err(_)) => {
                    proptest::prop_assert!(distinct.len() < 2);
                    proptest::prop_assert!(message.contains("at least two queries"));
                }
                _ => proptest::prop_assert!(false, "the order queries came in changed the plan"),
            }
        }
    }

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("+1"), "'+1");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("plain"), "plain");
    }
}
