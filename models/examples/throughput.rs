//! Scorer throughput, for BENCHMARKS.md (run by scripts/bench-scorer):
//!
//! 1. encoding: texts per second through the MiniLM encoder at batch 32, over the texts
//!    in FILE (one per line), median of `--runs` passes;
//! 2. re-scoring: the time to score a pool of `--pool` pairs from cached embeddings
//!    (build each pair's features from the two cached vectors, run the head, compute
//!    the hybrid acquisition score), in chunks so memory stays flat.
//!
//! cargo run --release -p relabel-models --example throughput -- FILE [--runs 3] [--pool 1000000]

#![allow(clippy::unwrap_used, reason = "a benchmark stops on any error")]

use std::time::Instant;

use relabel_models::acquisition::{self, Candidate, Strategy};
use relabel_models::head::Rng;
use relabel_models::{Device, Encoder, Head, TrainOptions, encoder, features};

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args
        .first()
        .expect("usage: throughput FILE [--runs N] [--pool N]");
    let runs = arg(&args, "--runs", 3);
    let pool = arg(&args, "--pool", 1_000_000);
    let text = std::fs::read_to_string(file).unwrap();
    let texts: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let device = Device::Cpu;

    let started = Instant::now();
    let encoder = Encoder::load(&encoder::default_dir(), &device).unwrap();
    eprintln!("loaded in {:.2} s", started.elapsed().as_secs_f64());
    let mut rates = Vec::new();
    let mut vectors = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        vectors = encoder.embed_all(&texts, 32, |_| {}).unwrap();
        let rate = texts.len() as f64 / started.elapsed().as_secs_f64();
        eprintln!("run {run}: {rate:.1} texts/s");
        rates.push(rate);
    }
    println!(
        "encode: {} texts, batch 32, median {:.1} texts/s over {runs} runs",
        texts.len(),
        median(rates)
    );

    // A head trained on random labels: the re-scoring cost does not depend on its quality.
    let dim = encoder.dim();
    let mut rng = Rng::new(3);
    let exact = [0.5f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let rows: Vec<Vec<f32>> = (0..256)
        .map(|i| {
            features::pair_features(
                &vectors[i % vectors.len()],
                &vectors[(i * 7 + 1) % vectors.len()],
                &exact,
            )
        })
        .collect();
    let labels: Vec<usize> = (0..256).map(|_| (rng.next_u64() % 4) as usize).collect();
    let options = TrainOptions {
        epochs: 2,
        min_steps: 0,
        ..TrainOptions::default()
    };
    let (head, _) = Head::train(&rows, &labels, 4, &options, &device).unwrap();
    assert_eq!(head.inputs(), features::width(dim));

    let strategy = Strategy::default();
    let started = Instant::now();
    let chunk = 4096;
    let mut scored = 0usize;
    let mut best = f64::NEG_INFINITY;
    let mut rows = Vec::with_capacity(chunk);
    let mut votes = Vec::with_capacity(chunk);
    for p in 0..pool {
        // Pairs reuse the cached vectors of the texts above, as queries and items do.
        let q = &vectors[p % vectors.len()];
        let d = &vectors[(p / vectors.len() + p * 31) % vectors.len()];
        rows.push(features::pair_features(q, d, &exact));
        votes.push(vec![p % 4, (p / 3) % 4, 2]);
        if rows.len() == chunk || p + 1 == pool {
            let probs = head.predict(&rows).unwrap();
            for (probs, votes) in probs.into_iter().zip(votes.drain(..)) {
                let c = Candidate {
                    probs: Some(probs),
                    votes,
                    groups: Vec::new(),
                };
                best = best.max(acquisition::score(&strategy, &c));
                scored += 1;
            }
            rows.clear();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "re-score: {scored} pairs from cached embeddings in {seconds:.1} s ({:.0} pairs/s; top score {best:.3})",
        scored as f64 / seconds
    );
}
