//! `relabel bench active-learning`: the proof that active learning saves labels. It
//! simulates annotators from a labelled file (the import format, every pair with a
//! `gold_label`), runs each strategy from the same random seed labels, and writes the
//! learning curves as CSV and an SVG chart.

pub mod simulate;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use relabel_models::acquisition::{Strategy, StrategyKind};
use relabel_models::{Encoder, TrainOptions, encoder, features};
use simulate::{CurvePoint, Pool, SimOptions};

use crate::domain::{PairRecord, Project, ScalePreset, TaskKind};
use crate::import::{self, ImportOptions};

/// `relabel bench active-learning`.
#[derive(Debug, Args)]
pub struct ActiveLearningArgs {
    /// A labelled file in the import format (JSONL or CSV); every pair needs a
    /// `gold_label`, which the simulated annotators answer. `relabel demo --write-pairs
    /// FILE` writes the demo's.
    #[arg(long)]
    pub input: PathBuf,
    /// Strategies to compare, comma-separated: random, entropy, margin, least-confidence,
    /// committee, hybrid.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "random,entropy,committee,hybrid"
    )]
    pub strategies: Vec<String>,
    /// Random labels every strategy starts from.
    #[arg(long, default_value_t = 50)]
    pub seed_labels: usize,
    /// Labels added per round.
    #[arg(long, default_value_t = 50)]
    pub batch: usize,
    /// Labels at which each run stops.
    #[arg(long, default_value_t = 1000)]
    pub budget: usize,
    /// Repeats with different seeds (test split and seed labels change).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Share of the file's queries held out for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_share: f64,
    /// The first repeat's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The file's label scale.
    #[arg(long, value_enum, default_value_t = ScalePreset::Lore4)]
    pub scale: ScalePreset,
    /// The hybrid's weight of committee disagreement (its margin weight is 1 minus this).
    #[arg(long, default_value_t = Strategy::default().committee_weight)]
    pub committee_weight: f64,
    /// The hybrid picks each batch by k-center greedy among this many times the batch of
    /// best-scored pairs (1: no diversity).
    #[arg(long, default_value_t = Strategy::default().diversity_pool)]
    pub diversity_pool: usize,
    /// The head's hidden width (0: linear, the scorer's default).
    #[arg(long, default_value_t = TrainOptions::default().hidden)]
    pub hidden: usize,
    /// A linear head's L2 penalty per label (scikit-learn's 1/C).
    #[arg(long, default_value_t = TrainOptions::default().l2)]
    pub l2: f64,
    /// A linear head's L-BFGS iterations, at most.
    #[arg(long, default_value_t = TrainOptions::default().max_iterations)]
    pub max_iterations: usize,
    /// A hidden-layer head's AdamW learning rate.
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    pub learning_rate: f64,
    /// A hidden-layer head's AdamW weight decay.
    #[arg(long, default_value_t = TrainOptions::default().weight_decay)]
    pub weight_decay: f64,
    /// Rows per AdamW step of a hidden-layer head.
    #[arg(long, default_value_t = TrainOptions::default().batch)]
    pub train_batch: usize,
    /// The fewest AdamW steps per training of a hidden-layer head.
    #[arg(long, default_value_t = TrainOptions::default().min_steps)]
    pub min_steps: usize,
    /// The encoder's folder (default: RELABEL_MODEL_DIR, else models/weights/all-MiniLM-L6-v2).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Folder for curves.csv, learning-curve.svg and summary.txt (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs the benchmark; prints the summary on standard output, progress on standard error.
pub async fn active_learning(args: ActiveLearningArgs) -> anyhow::Result<()> {
    let strategies = args
        .strategies
        .iter()
        .map(|name| {
            Strategy::named(name)
                .map(|named| Strategy {
                    uncertainty_weight: 1.0 - args.committee_weight.clamp(0.0, 1.0),
                    committee_weight: args.committee_weight.clamp(0.0, 1.0),
                    diversity_pool: args.diversity_pool.max(1),
                    ..named
                })
                .map_err(|e| anyhow::anyhow!("--strategies: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !strategies.iter().any(|s| s.kind == StrategyKind::Random) {
        bail!("--strategies must include random: the others are measured against it");
    }
    if args.batch == 0 || args.budget <= args.seed_labels || args.repeats == 0 {
        bail!("need --batch > 0, --budget > --seed-labels and --repeats > 0");
    }
    if !(0.05..=0.5).contains(&args.test_share) {
        bail!("--test-share must be between 0.05 and 0.5");
    }
    let project = Project {
        id: 0,
        slug: "bench".into(),
        name: "bench".into(),
        scale: args.scale,
        scale_labels: args
            .scale
            .labels()
            .iter()
            .map(|l| (*l).to_owned())
            .collect(),
        overlap_k: 1,
        task: TaskKind::Judge,
        gold_rate: 0.0,
        lease_seconds: 600,
        reveal_models: false,
        retrain_every: 0,
        scorer_strategy: StrategyKind::Hybrid,
        gold_window: 20,
        gold_min_accuracy: 0.7,
        pause_flagged: false,
        review_alpha: 0.5,
    };
    let records = import::read_file(&project, &args.input, &ImportOptions::default()).await?;
    let unlabelled = records.iter().filter(|r| r.gold_label.is_none()).count();
    if unlabelled > 0 {
        bail!(
            "{}: {unlabelled} of {} pairs have no gold_label; the simulation answers with it, so every pair needs one",
            args.input.display(),
            records.len()
        );
    }
    let dir = args.model_dir.clone().unwrap_or_else(encoder::default_dir);
    let pool =
        tokio::task::spawn_blocking(move || build_pool(&records, &project.scale_labels, &dir))
            .await??;
    eprintln!(
        "{} pairs; {} strategies x {} repeats",
        pool.rows.len(),
        strategies.len(),
        args.repeats
    );

    let options = SimOptions {
        classes: args.scale.labels().len(),
        seed_labels: args.seed_labels,
        batch: args.batch,
        budget: args.budget,
        repeats: args.repeats,
        test_share: args.test_share,
        seed: args.seed,
        train: TrainOptions {
            hidden: args.hidden,
            l2: args.l2,
            max_iterations: args.max_iterations,
            learning_rate: args.learning_rate,
            weight_decay: args.weight_decay,
            min_steps: args.min_steps,
            batch: args.train_batch,
            ..TrainOptions::default()
        },
    };
    let started = Instant::now();
    let points = {
        let strategies = strategies.clone();
        tokio::task::spawn_blocking(move || {
            simulate::run(
                &pool,
                &strategies,
                &options,
                &relabel_models::Device::Cpu,
                |line| eprintln!("{line}"),
            )
        })
        .await??
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_csv(&args.out.join("curves.csv"), &points)?;
    let curves = simulate::mean_curves(&points);
    let order: Vec<String> = strategies
        .iter()
        .map(|s| s.kind.name().to_owned())
        .collect();
    let svg = chart(&curves, &order, args.budget);
    let svg_path = args.out.join("learning-curve.svg");
    std::fs::write(&svg_path, svg)
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    let summary = summarise(
        &curves,
        &order,
        args.budget,
        started.elapsed().as_secs_f64(),
    );
    let summary_path = args.out.join("summary.txt");
    std::fs::write(&summary_path, &summary)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    print!("{summary}");
    eprintln!(
        "wrote curves.csv, learning-curve.svg and summary.txt to {}",
        args.out.display()
    );
    Ok(())
}

/// Embeds every distinct query and item text once and assembles the simulation's pool.
fn build_pool(records: &[PairRecord], levels: &[String], dir: &Path) -> anyhow::Result<Pool> {
    let started = Instant::now();
    let encoder = Encoder::load(dir, &relabel_models::Device::Cpu)?;
    let level = |label: &str| levels.iter().position(|l| l == label);
    let attributes = |r: &PairRecord| -> Vec<(String, String)> {
        r.item
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut texts: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut slot = |text: String, texts: &mut Vec<String>| -> usize {
        *index.entry(text.clone()).or_insert_with(|| {
            texts.push(text);
            texts.len() - 1
        })
    };
    let mut slots = Vec::with_capacity(records.len());
    for r in records {
        let q = slot(r.query.clone(), &mut texts);
        let d = slot(
            features::item_text(&r.item.title, &r.item.category, &attributes(r)),
            &mut texts,
        );
        slots.push((q, d));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let bar = std::io::stderr().is_terminal();
    let vectors = encoder.embed_all(&refs, 32, |done| {
        if bar || done % 1024 < 32 || done == refs.len() {
            eprint!("\rembedding {done}/{} texts", refs.len());
        }
    })?;
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
    let mut vocabulary = features::Vocabulary::default();
    for r in records {
        vocabulary.add(&r.item.category, &attributes(r));
    }
    let mut pool = Pool::default();
    for (r, &(q, d)) in records.iter().zip(&slots) {
        let label = r
            .gold_label
            .as_deref()
            .and_then(level)
            .context("gold label outside the scale")?;
        let exact = features::exact_match(
            &vocabulary,
            &r.query,
            &r.item.title,
            &r.item.category,
            &attributes(r),
        );
        pool.rows
            .push(features::pair_features(&vectors[q], &vectors[d], &exact));
        pool.embeddings
            .push(vectors[q].iter().chain(&vectors[d]).copied().collect());
        pool.labels.push(label);
        pool.votes.push(
            r.cot
                .iter()
                .filter_map(|c| c.label.as_deref().and_then(level))
                .collect(),
        );
        pool.groups.push(r.tags.clone());
        pool.queries.push(r.query.clone());
    }
    Ok(pool)
}

fn write_csv(path: &Path, points: &[CurvePoint]) -> anyhow::Result<()> {
    let mut out =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    for p in points {
        out.serialize(p)?;
    }
    out.flush()?;
    Ok(())
}

/// The summary: each strategy's mean macro-F1 at the budget, and the labels it needed to
/// reach what random sampling reached with the whole budget.
fn summarise(
    curves: &std::collections::BTreeMap<String, Vec<(usize, f64, f64)>>,
    order: &[String],
    budget: usize,
    seconds: f64,
) -> String {
    let target = curves
        .get("random")
        .and_then(|c| c.last())
        .map_or(f64::NAN, |&(_, f1, _)| f1);
    let mut out = format!(
        "random sampling reaches macro-F1 {target:.3} with {budget} labels (mean of the repeats); simulated in {seconds:.0} s\n\
         strategy          F1 at budget  accuracy  labels to reach {target:.3}\n"
    );
    for name in order {
        let Some(curve) = curves.get(name) else {
            continue;
        };
        let Some(&(_, f1, acc)) = curve.last() else {
            continue;
        };
        let reach = simulate::labels_to_reach(curve, target).map_or_else(
            || "never".to_owned(),
            |l| {
                format!(
                    "{l} ({:.0}% of the budget)",
                    100.0 * l as f64 / budget as f64
                )
            },
        );
        let _ = writeln!(out, "{name:<17} {f1:>12.3}  {acc:>8.3}  {reach}");
    }
    out
}

/// An SVG line chart of the mean learning curves: labels used against macro-F1.
fn chart(
    curves: &std::collections::BTreeMap<String, Vec<(usize, f64, f64)>>,
    order: &[String],
    budget: usize,
) -> String {
    const COLOURS: [&str; 6] = [
        "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    ];
    let (w, h, left, right, top, bottom) = (720.0, 440.0, 60.0, 170.0, 30.0, 50.0);
    let all = curves.values().flatten().map(|&(_, f1, _)| f1);
    let lo = (all.clone().fold(1.0f64, f64::min) * 10.0).floor() / 10.0;
    let hi = ((all.fold(0.0f64, f64::max) * 10.0).ceil() / 10.0).max(lo + 0.1);
    let x = |l: usize| left + (w - left - right) * l as f64 / budget.max(1) as f64;
    let y = |f: f64| top + (h - top - bottom) * (1.0 - (f - lo) / (hi - lo));
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">Learning curves: macro-F1 on held-out queries (mean of repeats)</text>\n",
        (w - right + left) / 2.0
    );
    let steps = 5;
    for i in 0..=steps {
        let f = lo + (hi - lo) * f64::from(i) / f64::from(steps);
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{f:.2}</text>",
            w - right,
            left - 6.0,
            y(f) + 4.0,
            y = y(f)
        );
        let l = budget * i as usize / steps as usize;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{l}</text>",
            x(l),
            h - bottom + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">labels used</text>\n<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">macro-F1</text>",
        (w - right + left) / 2.0,
        h - 12.0,
        (h - bottom + top) / 2.0
    );
    for (i, name) in order.iter().enumerate() {
        let Some(curve) = curves.get(name) else {
            continue;
        };
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = curve
            .iter()
            .map(|&(l, f1, _)| format!("{:.1},{:.1}", x(l), y(f1)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n\
             <line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"3\"/><text x=\"{}\" y=\"{}\">{name}</text>",
            points.join(" "),
            w - right + 15.0,
            w - right + 40.0,
            w - right + 46.0,
            top + 24.0 + 20.0 * i as f64,
            ly = top + 20.0 + 20.0 * i as f64
        );
    }
    svg.push_str("</svg>\n");
    svg
}
