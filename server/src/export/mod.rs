//! Exports that training code reads as is (DESIGN.md section 4, docs/formats.md): SFT
//! conversations, preference pairs, stepwise (process) labels, a labels table and a
//! benchmark set. Pairs are read from the store a page at a time, so memory stays
//! constant whatever the project's size; records are written in pair-id order with
//! fixed field order, so the same data and seed give byte-identical files.

pub mod final_label;
pub mod preference;
mod prompt;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{Project, RuleRecord};
use crate::storage::{Store, StoreError};
use final_label::{FinalLabel, LeftOut, agreement, final_label};
pub use preference::PairSelection;
use relabel_frontend::types::{CorrectedCot, StepFlag};

/// Pairs read from the store per page.
const PAGE: i64 = 500;

/// A pair with everything an export needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPair {
    /// The pair's id.
    pub pair_id: i64,
    /// Its task (its own, else the project's).
    pub task: String,
    /// The query.
    pub query: String,
    /// The query's traffic band.
    pub band: String,
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
    /// When it was made (epoch ms).
    pub created_at: i64,
}

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
    pub band: Option<String>,
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
    /// Pairs left out, by reason.
    pub left_out: BTreeMap<String, u64>,
}

impl ExportSummary {
    fn leave_out(&mut self, why: &str) {
        *self.left_out.entry(why.to_owned()).or_default() += 1;
    }
}

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

/// Whether a query goes to the test split: a hash of the seed and the query text, so a
/// query is wholly in one split and the same seed always splits the same way.
pub fn is_test_query(query: &str, seed: u64, test_share: f64) -> bool {
    // FNV-1a: stable across Rust versions and platforms, unlike DefaultHasher's keys.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for byte in query.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's high bits mix poorly for short, similar keys; finish with splitmix64's mixer.
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94D0_49BB_1331_11EB);
    hash ^= hash >> 31;
    ((hash >> 11) as f64 / (1u64 << 53) as f64) < test_share
}

/// Escapes a CSV cell a spreadsheet would run as a formula.
pub fn csv_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// A pair as the export sees it after the rule for final labels and the filters.
struct Judged<'a> {
    pair: &'a ExportPair,
    judgments: Vec<&'a ExportJudgment>,
    final_label: FinalLabel,
    agreement: Option<f64>,
}

impl Judged<'_> {
    fn meta(&self) -> Value {
        let versions: BTreeSet<i64> = self
            .judgments
            .iter()
            .filter_map(|j| j.guideline_version)
            .collect();
        json!({
            "pair_id": self.pair.pair_id,
            "judgment_ids": self.judgments.iter().map(|j| j.id).collect::<Vec<_>>(),
            "annotators": self.judgments.len(),
            "agreement": self.agreement,
            "guideline_versions": versions,
            "band": self.pair.band,
            "capabilities": self.pair.tags,
            "final_label_source": match self.final_label.source {
                final_label::Source::Adjudicated => "adjudicated",
                final_label::Source::Median => "median",
            },
        })
    }
}

/// Exports `project` in the chosen format to `output`.
pub async fn export(
    store: &dyn Store,
    project: &Project,
    options: &ExportOptions,
    output: Output<'_>,
) -> Result<ExportSummary, ExportError> {
    if let Some(share) = options.test_share
        && !(0.0..=1.0).contains(&share)
    {
        return Err(ExportError::Invalid(format!(
            "--split test={share}: the test share must be between 0 and 1"
        )));
    }
    if matches!(output, Output::Split(..)) && options.test_share.is_none() {
        return Err(ExportError::Invalid(
            "--split-files needs --split test=SHARE".into(),
        ));
    }
    let rules: Vec<RuleRecord> = store
        .latest_guideline(project)
        .await?
        .map(|(_, _, rules)| rules)
        .unwrap_or_default();
    let system = prompt::system(project, &rules);
    let mut writer = RecordWriter {
        output,
        split: options.test_share,
        seed: options.seed,
        csv: false,
        pending: Vec::new(),
    };
    if options.format == ExportFormat::Labels {
        writer.start_csv()?;
    }
    let mut summary = ExportSummary::default();
    let mut after = 0;
    loop {
        let page = store.export_page(project, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.pair_id;
        for pair in &page {
            summary.pairs_read += 1;
            let Some(judged) = judge(project, pair, options, &mut summary) else {
                continue;
            };
            let records = records_of(project, &judged, options, &system);
            if records.is_empty() {
                summary.leave_out(match options.format {
                    ExportFormat::Sft => "no corrected CoT and no candidate with the final label",
                    ExportFormat::PreferencePairs => "no preference pair",
                    ExportFormat::Stepwise => "no first-wrong-step flags",
                    _ => "nothing to write",
                });
            }
            for record in records {
                let test = writer.write(&pair.query, record)?;
                summary.records += 1;
                summary.test_records += u64::from(test);
            }
        }
        writer.flush_page().await?;
    }
    writer.flush_page().await?;
    writer.finish()?;
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

/// Applies the filters and the final-label rule; `None` (counted) when the pair is out.
fn judge<'a>(
    project: &Project,
    pair: &'a ExportPair,
    options: &ExportOptions,
    summary: &mut ExportSummary,
) -> Option<Judged<'a>> {
    if options.band.as_ref().is_some_and(|b| *b != pair.band) {
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
        summary.leave_out("no judgments");
        return None;
    }
    let (levels, final_label) = final_label_of(project, &judgments, pair.adjudicated.as_deref());
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

/// A candidate's text for training: its steps, one per line, then the label it reached.
fn cot_text(steps: &[String], label: &str) -> String {
    let mut text = steps.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str("Label: ");
    text.push_str(label);
    text
}

/// The records one pair yields in the chosen format (none: left out).
fn records_of(
    project: &Project,
    judged: &Judged<'_>,
    options: &ExportOptions,
    system: &str,
) -> Vec<Value> {
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
    let prompt_value = |style: Style| match style {
        Style::Standard => Value::String(format!("{system}\n\n{user}")),
        Style::Conversational => json!([
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]),
    };
    let answer = |text: String| match style {
        Style::Standard => Value::String(text),
        Style::Conversational => json!([{"role": "assistant", "content": text}]),
    };
    let with_meta = |mut record: Value| {
        record["meta"] = judged.meta();
        record
    };
    match options.format {
        ExportFormat::Sft => {
            let corrected = judged
                .judgments
                .iter()
                .filter_map(|j| j.corrected_cot.as_ref())
                .find(|c| c.label.as_deref().is_none_or(|l| l == final_label));
            let best = preference::aggregate(&rankings, k)
                .into_iter()
                .flatten()
                .chain(0..k)
                .filter_map(|c| pair.candidates.get(c))
                .find(|c| c.label.as_deref() == Some(final_label));
            let text = match (corrected, best) {
                (Some(c), _) => cot_text(&c.steps, final_label),
                (None, Some(c)) => cot_text(&c.steps, final_label),
                (None, None) => return Vec::new(),
            };
            let record = match style {
                Style::Conversational => json!({"messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": text},
                ]}),
                Style::Standard => {
                    json!({"prompt": format!("{system}\n\n{user}"), "completion": text})
                }
            };
            vec![with_meta(record)]
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
                    cot_text(&x.steps, x.label.as_deref().unwrap_or("none"))
                })
            };
            preferences
                .into_iter()
                .map(|p| {
                    let mut record = with_meta(json!({
                        "prompt": prompt_value(style),
                        "chosen": answer(text_of(p.chosen)),
                        "rejected": answer(text_of(p.rejected)),
                        "margin": p.margin,
                    }));
                    record["meta"]["chosen_candidate"] = json!(p.chosen);
                    record["meta"]["rejected_candidate"] = json!(p.rejected);
                    record["meta"]["from"] = json!(if rankings.is_empty() {
                        "labels"
                    } else {
                        "rankings"
                    });
                    record
                })
                .collect()
        }
        ExportFormat::Stepwise => {
            // Per candidate, the earliest first-wrong step any annotator flagged.
            let mut first_wrong: BTreeMap<usize, Option<usize>> = BTreeMap::new();
            for flag in judged.judgments.iter().flat_map(|j| &j.step_flags) {
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
                            "prompt": format!("{system}\n\n{user}"),
                            "completions": completions,
                            "labels": labels,
                        }));
                        record["meta"]["candidate"] = json!(c);
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
    split: Option<f64>,
    seed: u64,
    csv: bool,
    /// What a stream output has not sent yet.
    pending: Vec<u8>,
}

impl RecordWriter<'_> {
    fn start_csv(&mut self) -> std::io::Result<()> {
        self.csv = true;
        let mut header: Vec<&str> = LABELS_HEADER.to_vec();
        if self.split.is_some() && matches!(self.output, Output::One(_) | Output::Stream(_)) {
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

    /// Writes one record; whether it went to the test split.
    fn write(&mut self, query: &str, mut record: Value) -> std::io::Result<bool> {
        let test = self
            .split
            .is_some_and(|share| is_test_query(query, self.seed, share));
        let split_field =
            self.split.is_some() && matches!(self.output, Output::One(_) | Output::Stream(_));
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
        Ok(test)
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

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("+1"), "'+1");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("plain"), "plain");
    }

    #[test]
    fn a_cot_ends_with_its_label() {
        assert_eq!(cot_text(&["a".into(), "b".into()], "L3"), "a\nb\nLabel: L3");
        assert_eq!(cot_text(&[], "L1"), "Label: L1");
    }
}
