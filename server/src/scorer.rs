//! The active-learning scorer inside relabel: it embeds a project's queries and items
//! (cached in the database by model version and text hash, so re-scoring and restarts
//! reuse them), trains the relevance head on the project's final labels and gold
//! answers, and refreshes the queue's priorities with the reason the workspace shows.
//!
//! Model work runs on blocking threads, never on the async runtime.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use relabel_models::acquisition::{self, Candidate, Strategy};
use relabel_models::{Device, Encoder, Head, TrainOptions, encoder, features};

use crate::domain::{Project, now_ms};
use crate::export::ExportPair;
use crate::export::final_label_of;
use crate::storage::{ScorerRun, Store, StoreError};

/// Pairs read per page while training or scoring.
const PAGE: i64 = 500;
/// Texts per encoder batch.
const BATCH: usize = 32;
/// The batch the hybrid strategy spreads out: these many pairs, chosen by k-center greedy
/// among the best-scored `diversity_pool` times as many, go first in the queue.
pub const NEXT_BATCH: usize = 50;

/// Why the scorer could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ScorerFailure {
    #[error(transparent)]
    Model(#[from] relabel_models::ScorerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Unusable(String),
}

/// What a scoring pass did.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreReport {
    /// The training run whose head scored.
    pub run_id: i64,
    /// Unlabelled pairs that got a priority.
    pub scored: usize,
    /// Texts embedded now (the rest came from the cache).
    pub embedded: usize,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// The text an item is embedded from (its query is embedded as it is).
pub fn item_text(pair: &ExportPair) -> String {
    features::item_text(&pair.item_title, &pair.category, &attributes(pair))
}

fn attributes(pair: &ExportPair) -> Vec<(String, String)> {
    pair.attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every attribute value and category word of the project's items, for the conflict
/// signals (one pass over the pairs).
async fn vocabulary(
    store: &dyn Store,
    project: &Project,
) -> Result<features::Vocabulary, ScorerFailure> {
    let mut vocabulary = features::Vocabulary::default();
    let mut after = 0;
    loop {
        let page = store.export_page(project, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.pair_id;
        for p in &page {
            vocabulary.add(&p.category, &attributes(p));
        }
    }
    Ok(vocabulary)
}

/// The level of a pair's known answer: its gold label, else its final label.
fn known_level(project: &Project, pair: &ExportPair) -> Option<usize> {
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    if let Some(gold) = pair.gold_label.as_deref().and_then(level) {
        return Some(gold);
    }
    let judgments: Vec<&crate::export::ExportJudgment> = pair.judgments.iter().collect();
    let (_, final_label) = final_label_of(project, &judgments, pair.adjudicated.as_deref());
    final_label.ok().map(|f| f.level)
}

/// Vectors of `texts`, from the cache where it has them; the others are embedded on a
/// blocking thread and cached. Returns the vectors and how many were embedded.
async fn vectors(
    store: &dyn Store,
    encoder: &Arc<Encoder>,
    texts: Vec<String>,
) -> Result<(HashMap<String, Vec<f32>>, usize), ScorerFailure> {
    let version = encoder.version().to_owned();
    let mut by_hash: HashMap<String, String> = HashMap::new();
    for text in texts {
        by_hash.entry(encoder::text_hash(&text)).or_insert(text);
    }
    let hashes: Vec<String> = by_hash.keys().cloned().collect();
    let cached = store.embeddings(&version, &hashes).await?;
    let mut out: HashMap<String, Vec<f32>> = HashMap::with_capacity(by_hash.len());
    let mut missing: Vec<(String, String)> = Vec::new();
    for (hash, text) in by_hash {
        match cached
            .get(&hash)
            .and_then(|bytes| encoder::vector_from_bytes(bytes))
        {
            Some(v) => {
                out.insert(text, v);
            }
            None => missing.push((hash, text)),
        }
    }
    let embedded = missing.len();
    if !missing.is_empty() {
        let encoder = encoder.clone();
        let (missing, vectors) = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = missing.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = encoder.embed_all(&refs, BATCH, |_| {});
            (missing, vectors)
        })
        .await
        .map_err(|e| ScorerFailure::Unusable(format!("the encoder thread failed: {e}")))?;
        let vectors = vectors?;
        let rows: Vec<(String, Vec<u8>)> = missing
            .iter()
            .zip(&vectors)
            .map(|((hash, _), v)| (hash.clone(), encoder::vector_to_bytes(v)))
            .collect();
        store.store_embeddings(&version, &rows).await?;
        for ((_, text), v) in missing.into_iter().zip(vectors) {
            out.insert(text, v);
        }
    }
    Ok((out, embedded))
}

/// The head's input rows for a page of pairs.
async fn page_rows(
    store: &dyn Store,
    encoder: &Arc<Encoder>,
    vocabulary: &features::Vocabulary,
    pairs: &[&ExportPair],
) -> Result<(Vec<Vec<f32>>, usize), ScorerFailure> {
    let mut texts = Vec::with_capacity(pairs.len() * 2);
    for p in pairs {
        texts.push(p.query.clone());
        texts.push(item_text(p));
    }
    let (vectors, embedded) = vectors(store, encoder, texts).await?;
    let rows = pairs
        .iter()
        .map(|p| {
            let exact = features::exact_match(
                vocabulary,
                &p.query,
                &p.item_title,
                &p.category,
                &attributes(p),
            );
            let (q, d) = (&vectors[&p.query], &vectors[&item_text(p)]);
            features::pair_features(q, d, &exact)
        })
        .collect();
    Ok((rows, embedded))
}

/// Trains the project's head on every pair with a gold or final label and records the
/// run (its head included). `progress` hears a line per page read.
pub async fn train(
    store: &dyn Store,
    project: &Project,
    encoder: Arc<Encoder>,
    options: TrainOptions,
    mut progress: impl FnMut(&str),
) -> Result<ScorerRun, ScorerFailure> {
    let started = Instant::now();
    let complete_pairs = store.complete_pairs(project).await?;
    let vocabulary = vocabulary(store, project).await?;
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    let mut after = 0;
    loop {
        let page = store.export_page(project, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.pair_id;
        let labelled: Vec<(&ExportPair, usize)> = page
            .iter()
            .filter_map(|p| known_level(project, p).map(|l| (p, l)))
            .collect();
        if labelled.is_empty() {
            continue;
        }
        let pairs: Vec<&ExportPair> = labelled.iter().map(|(p, _)| *p).collect();
        let (page_rows, _) = page_rows(store, &encoder, &vocabulary, &pairs).await?;
        rows.extend(page_rows);
        labels.extend(labelled.iter().map(|(_, l)| *l));
        progress(&format!(
            "read pairs up to id {after}: {} labelled so far",
            labels.len()
        ));
    }
    let distinct = labels
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if labels.len() < 10 || distinct < 2 {
        return Err(ScorerFailure::Unusable(format!(
            "{}: {} labelled pairs over {distinct} level(s); the scorer needs at least 10 over two levels \
             (final labels or gold answers)",
            project.slug,
            labels.len()
        )));
    }
    let classes = project.scale_labels.len();
    let (head, report) = tokio::task::spawn_blocking(move || {
        Head::train(&rows, &labels, classes, &options, &Device::Cpu)
    })
    .await
    .map_err(|e| ScorerFailure::Unusable(format!("the training thread failed: {e}")))??;
    let (weights, config) = head.to_bytes()?;
    let mut run = ScorerRun {
        id: 0,
        model_version: encoder.version().to_owned(),
        labels_used: i64::try_from(report.labels_used).unwrap_or(i64::MAX),
        heldout_accuracy: report.heldout_accuracy,
        heldout_macro_f1: report.heldout_macro_f1,
        temperature: f64::from(report.temperature),
        train_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        head: weights,
        head_config: config,
        created_at: now_ms(),
        complete_pairs,
    };
    run.id = store
        .record_scorer_run(project, &run, crate::domain::now_ms())
        .await?;
    Ok(run)
}

/// A well-scored pair kept for the hybrid's next batch: id, priority, reason, what the
/// acquisition saw, and its query and item embeddings end to end.
type Best = (i64, f64, String, Candidate, Vec<f32>);

/// Keeps the `n` best-scored pairs (ties: lower id first).
fn keep_best(best: &mut Vec<Best>, n: usize) {
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best.truncate(n);
}

/// Scores every pair of the project that has no gold or final label with the newest
/// head and `strategy`, and writes each one's priority (0 to 1) and reason. The hybrid
/// strategy then picks the next [`NEXT_BATCH`] pairs by k-center greedy among the best
/// `diversity_pool` times as many and lifts them above the rest (1 to 2), in pick order.
pub async fn score(
    store: &dyn Store,
    project: &Project,
    encoder: Arc<Encoder>,
    strategy: &Strategy,
    mut progress: impl FnMut(&str),
) -> Result<ScoreReport, ScorerFailure> {
    let started = Instant::now();
    let run = store
        .scorer_runs(project, 1, true)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ScorerFailure::Unusable(format!(
                "{}: no trained head; run `relabel scorer train` first",
                project.slug
            ))
        })?;
    if run.model_version != encoder.version() {
        return Err(ScorerFailure::Unusable(format!(
            "{}: the newest head was trained on model {}, and the installed model is {}; train again",
            project.slug,
            &run.model_version[..12.min(run.model_version.len())],
            &encoder.version()[..12]
        )));
    }
    let head = Arc::new(Head::from_bytes(&run.head, &run.head_config, &Device::Cpu)?);
    let vocabulary = vocabulary(store, project).await?;
    let level = |label: &str| project.scale_labels.iter().position(|l| l == label);
    let (mut scored, mut embedded, mut after) = (0, 0, 0);
    // The hybrid spreads its next batch out (k-center greedy over the pairs' embeddings)
    // among the best-scored pairs, kept here as the pages go by.
    let diverse = strategy.kind == acquisition::StrategyKind::Hybrid && strategy.diversity_pool > 1;
    let window = strategy.diversity_pool.max(1) * NEXT_BATCH;
    let mut best: Vec<Best> = Vec::new();
    loop {
        let page = store.export_page(project, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.pair_id;
        let open: Vec<&ExportPair> = page
            .iter()
            .filter(|p| known_level(project, p).is_none())
            .collect();
        if open.is_empty() {
            continue;
        }
        let (rows, new) = page_rows(store, &encoder, &vocabulary, &open).await?;
        embedded += new;
        let model = head.clone();
        let (probs, rows) = tokio::task::spawn_blocking(move || {
            let probs = model.predict(&rows);
            (probs, rows)
        })
        .await
        .map_err(|e| ScorerFailure::Unusable(format!("the scoring thread failed: {e}")))?;
        let probs = probs?;
        let priorities: Vec<(i64, f64, String)> = open
            .iter()
            .zip(probs)
            .zip(&rows)
            .map(|((p, probs), row)| {
                let mut groups = vec![p.band.as_str().to_owned()];
                groups.extend(p.tags.iter().cloned());
                let candidate = Candidate {
                    probs: Some(probs),
                    votes: p
                        .candidates
                        .iter()
                        .filter_map(|c| c.label.as_deref().and_then(level))
                        .collect(),
                    groups,
                };
                let priority = acquisition::score(strategy, &candidate);
                let reason = acquisition::explain(&candidate, &project.scale_labels);
                if diverse {
                    // The row starts with the query's and the item's embeddings.
                    let pair_vector = row[..2 * encoder.dim()].to_vec();
                    best.push((p.pair_id, priority, reason.clone(), candidate, pair_vector));
                }
                (p.pair_id, priority, reason)
            })
            .collect();
        store.set_priorities(project, &priorities).await?;
        scored += priorities.len();
        if best.len() >= 2 * window {
            keep_best(&mut best, window);
        }
        progress(&format!("scored pairs up to id {after}: {scored} so far"));
    }
    if diverse && !best.is_empty() {
        keep_best(&mut best, window);
        let (pool, vectors): (Vec<Candidate>, Vec<Vec<f32>>) = best
            .iter()
            .map(|(_, _, _, c, v)| (c.clone(), v.clone()))
            .unzip();
        let picked = acquisition::select(strategy, &pool, &vectors, NEXT_BATCH, run.id as u64);
        let n = picked.len();
        // Above every other priority (those are at most 1), in the order picked.
        let first: Vec<(i64, f64, String)> = picked
            .iter()
            .enumerate()
            .map(|(rank, &i)| {
                let (id, _, reason, _, _) = &best[i];
                (
                    *id,
                    1.0 + (n - rank) as f64 / n as f64,
                    format!(
                        "{reason}; in the next batch of {n}, spread out among the {} most uncertain",
                        best.len()
                    ),
                )
            })
            .collect();
        store.set_priorities(project, &first).await?;
    }
    Ok(ScoreReport {
        run_id: run.id,
        scored,
        embedded,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The strategy a project chose in its settings, with the default weights.
pub fn project_strategy(project: &Project) -> Strategy {
    Strategy::of(project.scorer_strategy)
}

/// What a background retrain did.
#[derive(Debug, Clone)]
pub struct Retrained {
    /// The new run.
    pub run: ScorerRun,
    /// The scoring pass that followed it.
    pub scored: ScoreReport,
}

/// Trains the project's head and re-scores its pairs when the project asks for
/// background retraining (`retrain_every` > 0) and at least that many pairs were
/// completed since the newest run (or since the start, before any run). `None` when no
/// retrain is due.
pub async fn retrain_if_due(
    store: &dyn Store,
    project: &Project,
    encoder: &Arc<Encoder>,
) -> Result<Option<Retrained>, ScorerFailure> {
    if project.retrain_every <= 0 {
        return Ok(None);
    }
    let complete = store.complete_pairs(project).await?;
    let last = store
        .scorer_runs(project, 1, false)
        .await?
        .first()
        .map_or(0, |run| run.complete_pairs);
    if complete - last < project.retrain_every {
        return Ok(None);
    }
    let run = train(
        store,
        project,
        encoder.clone(),
        TrainOptions::default(),
        |_| {},
    )
    .await?;
    let scored = score(
        store,
        project,
        encoder.clone(),
        &project_strategy(project),
        |_| {},
    )
    .await?;
    Ok(Some(Retrained { run, scored }))
}

/// `serve`'s background retrain: every `every`, each project that is due
/// ([`retrain_if_due`]) gets a new head and fresh priorities, one project at a time. The
/// model work runs on blocking threads, so requests are never held up; a failure is
/// logged and tried again at the next check. Runs until the task is dropped.
pub async fn retrain_loop(
    store: crate::storage::SharedStore,
    encoder: Arc<Encoder>,
    every: std::time::Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let projects = match store.list_projects().await {
            Ok(projects) => projects,
            Err(e) => {
                tracing::warn!("background retrain: cannot list projects: {e}");
                continue;
            }
        };
        for listed in projects {
            let project = match store.project(&listed.summary.slug).await {
                Ok(Some(project)) if project.retrain_every > 0 => project,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!("background retrain of {}: {e}", listed.summary.slug);
                    continue;
                }
            };
            match retrain_if_due(store.as_ref(), &project, &encoder).await {
                Ok(None) => {}
                Ok(Some(done)) => tracing::info!(
                    "background retrain of {}: run {} on {} labels (held-out macro-F1 {}), {} pairs re-scored",
                    project.slug,
                    done.run.id,
                    done.run.labels_used,
                    done.run
                        .heldout_macro_f1
                        .map_or_else(|| "-".to_owned(), |f| format!("{f:.3}")),
                    done.scored.scored
                ),
                Err(e) => tracing::warn!("background retrain of {}: {e}", project.slug),
            }
        }
    }
}
