//! Times the scorer on a big pool whose embeddings are cached: `scorer::train` on the
//! project's gold pairs, then `scorer::score` over every open pair, database reads and
//! priority writes included. For BENCHMARKS.md, run by `scripts/bench-rescore`:
//!
//! ```text
//! cargo run --release -p relabel --example rescore -- DATABASE_URL PROJECT
//! ```
//!
//! It first fills the embedding cache for every query and item text with seeded unit
//! vectors, standing in for what the encoder would have cached (the encoder's own rate
//! is measured by `scripts/bench-scorer`): the point is the time a re-score takes once
//! every text is cached. Needs the weights only for the model version.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark stops loudly on anything unexpected"
)]

use std::collections::HashSet;
use std::time::Instant;

use relabel_models::head::Rng;
use relabel_models::{Device, Encoder, TrainOptions, encoder};

/// Peak resident memory so far, in MB (Linux).
fn peak_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(slug)) = (args.next(), args.next()) else {
        eprintln!("usage: rescore DATABASE_URL PROJECT");
        std::process::exit(2);
    };
    let store = relabel::storage::connect(&url).await.unwrap();
    let project = store
        .project(&slug)
        .await
        .unwrap()
        .expect("no such project");
    let encoder = std::sync::Arc::new(
        Encoder::load(&encoder::default_dir(), &Device::Cpu).expect("the weights"),
    );
    let dim = encoder.dim();

    let started = Instant::now();
    let (mut seen, mut rng, mut pairs, mut after) = (HashSet::new(), Rng::new(1), 0, 0);
    loop {
        let page = store.export_page(&project, after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.pair_id;
        pairs += page.len();
        let mut rows = Vec::new();
        for pair in &page {
            for text in [pair.query.clone(), relabel::scorer::item_text(pair)] {
                let hash = encoder::text_hash(&text);
                if seen.insert(hash.clone()) {
                    let v: Vec<f32> = (0..dim).map(|_| rng.unit() as f32 - 0.5).collect();
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    let v: Vec<f32> = v.iter().map(|x| x / norm).collect();
                    rows.push((hash, encoder::vector_to_bytes(&v)));
                }
            }
        }
        store
            .store_embeddings(encoder.version(), &rows)
            .await
            .unwrap();
    }
    println!(
        "cached {} vectors for {pairs} pairs in {:.1} s",
        seen.len(),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let run = relabel::scorer::train(
        store.as_ref(),
        &project,
        encoder.clone(),
        TrainOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    println!(
        "train: {} labels in {:.1} s",
        run.labels_used,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let report = relabel::scorer::score(
        store.as_ref(),
        &project,
        encoder.clone(),
        &relabel::scorer::project_strategy(&project),
        |_| {},
    )
    .await
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "score: {} open pairs in {seconds:.1} s ({:.0} pairs/s), {} texts embedded; peak RSS {} MB",
        report.scored,
        report.scored as f64 / seconds,
        report.embedded,
        peak_mb()
    );
    store.close().await;
}
