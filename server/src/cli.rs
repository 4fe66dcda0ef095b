//! The `relabel` command line: one binary for serving, importing, inspecting and the demo.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::auth::Role;
use crate::domain::{FrequencyBand, NewProject, ScalePreset, TaskKind};
use crate::import::{ImportError, ImportFormat, ImportOptions};
use crate::service::ServiceError;
use crate::service::members;
use crate::storage::{self, DEFAULT_DATABASE_URL, SharedStore};
use crate::web::{self, AppState, DEFAULT_SITE_ROOT};

/// relabel: label e-commerce search relevance, rank model chain-of-thought outputs, and
/// export the labels as SFT and preference training data.
#[derive(Debug, Parser)]
#[command(name = "relabel", version, about, long_about = None)]
pub struct Cli {
    /// Database to use: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the JSON API.
    Serve(ServeArgs),
    /// Import data into a project.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Print counts for a project (queries, items, pairs, CoT candidates, judgments, per
    /// frequency band), or the list of projects when no project is given.
    Stats(StatsArgs),
    /// Manage user accounts and their roles.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Export a project's labels as training data: sft, preference-pairs, stepwise,
    /// labels (CSV) or benchmark. Prints a summary (records written, pairs left out
    /// and why) on standard error. See docs/formats.md for each format.
    Export(ExportArgs),
    /// Create (or reuse) the demo project, a generated e-commerce catalog, with an admin
    /// and two annotators, then serve it.
    Demo(DemoArgs),
    /// The active-learning scorer: train its head on a project's labels, then score the
    /// unlabelled pairs into the queue's priorities. Needs the model weights
    /// (`scripts/dev setup`, or RELABEL_MODEL_DIR).
    #[command(subcommand)]
    Scorer(ScorerCommand),
    /// A project's guideline as a file (TOML, docs/formats.md), so it can live in git:
    /// export a version, import a file as the draft, publish the draft.
    #[command(subcommand)]
    Guideline(GuidelineCommand),
    /// Measure relabel. `bench active-learning` simulates annotators from a labelled
    /// file and compares how many labels each acquisition strategy needs.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `relabel guideline`.
#[derive(Debug, Subcommand)]
pub enum GuidelineCommand {
    /// Write a guideline version (the latest published by default) to a file.
    Export(GuidelineExportArgs),
    /// Read a guideline file into the project's draft, replacing any draft. Nothing is
    /// published: annotators keep seeing the latest published version until
    /// `relabel guideline publish`.
    Import(GuidelineImportArgs),
    /// Publish the project's draft as the next version, with a change note.
    Publish(GuidelinePublishArgs),
}

/// `relabel guideline export`.
#[derive(Debug, Args)]
pub struct GuidelineExportArgs {
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// Where to write the file (`-` for standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// This published version number instead of the latest.
    #[arg(long, conflicts_with = "draft")]
    pub version: Option<i64>,
    /// The unpublished draft instead of the latest version.
    #[arg(long)]
    pub draft: bool,
}

/// `relabel guideline import`.
#[derive(Debug, Args)]
pub struct GuidelineImportArgs {
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// The guideline file (TOML).
    pub file: PathBuf,
}

/// `relabel guideline publish`.
#[derive(Debug, Args)]
pub struct GuidelinePublishArgs {
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// What changed, for the version history.
    #[arg(long)]
    pub note: String,
}

/// `relabel scorer`.
#[derive(Debug, Subcommand)]
pub enum ScorerCommand {
    /// Train the project's relevance head on its final labels and gold answers, and
    /// record the run (held-out macro-F1 and accuracy, time).
    Train(ScorerArgs),
    /// Score every pair without a final label with the newest head and write the
    /// queue's priorities, with the reason annotators can ask for.
    Score(ScoreArgs),
    /// The project's training runs, newest first.
    Status(ScorerArgs),
}

/// The project and model of a scorer command.
#[derive(Debug, Args)]
pub struct ScorerArgs {
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// The encoder's folder (default: RELABEL_MODEL_DIR, else models/weights/all-MiniLM-L6-v2).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
}

/// `relabel scorer score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub common: ScorerArgs,
    /// How to rank: random, entropy, margin, least-confidence, committee or hybrid
    /// (head margin 0.8, committee disagreement 0.2, diversity within the batch).
    /// Default: the project's setting (hybrid unless an admin changed it).
    #[arg(long)]
    pub strategy: Option<String>,
}

/// `relabel bench`.

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Learning curves of acquisition strategies (random, entropy, margin,
    /// least-confidence, committee, hybrid) on a labelled file: writes curves.csv,
    /// learning-curve.svg and summary.txt to --out. Needs the scorer's weights
    /// (`scripts/dev setup`).
    ActiveLearning(crate::bench::ActiveLearningArgs),
    /// Load one or several servers with simulated annotators (next pair, think, submit,
    /// at a set pace) over the JSON API; report throughput and p50/p95/p99 latency, then
    /// check in the database that every acknowledged judgment is stored once and no pair
    /// is over k. Exits non-zero when a check fails.
    Load(crate::load::LoadArgs),
}

/// `relabel export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// What to write.
    #[arg(long, value_enum)]
    pub format: crate::export::ExportFormat,
    /// The file to write, `-` for standard output; with --split-files, a folder that
    /// receives data/train.jsonl, data/test.jsonl (.csv for labels) and a dataset card,
    /// README.md, laid out as `huggingface-cli upload` and `datasets.load_dataset`
    /// take a folder.
    #[arg(long)]
    pub out: PathBuf,
    /// TRL dataset style (sft and preference-pairs); default conversational for sft,
    /// standard for preference-pairs.
    #[arg(long, value_enum)]
    pub style: Option<crate::export::Style>,
    /// Hold out a share of queries as a test split, e.g. `test=0.1` (a bare `0.1`
    /// means the same); a query is wholly in one split, and when two or more queries
    /// have records each split gets at least one. Records get a `split` field unless
    /// --split-files is given.
    #[arg(long, value_parser = parse_split)]
    pub split: Option<f64>,
    /// Seed of the split (the same seed splits the same way).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write train and test records to two files in the --out folder, with a dataset
    /// card (README.md) beside them.
    #[arg(long)]
    pub split_files: bool,
    /// The licence id the dataset card names (with --split-files), e.g. cc-by-4.0.
    #[arg(long, default_value = "other")]
    pub license: String,
    /// Which preference pairs: every pair of places, adjacent places only, or the best
    /// against the rest.
    #[arg(long, value_enum, default_value_t = crate::export::PairSelection::All)]
    pub pairs: crate::export::PairSelection,
    /// Only judgments made under this guideline version number.
    #[arg(long)]
    pub guideline_version: Option<i64>,
    /// Only pairs whose query is in this band.
    #[arg(long, value_enum)]
    pub band: Option<FrequencyBand>,
    /// Only pairs with this capability tag (e.g. multimodal).
    #[arg(long)]
    pub capability: Option<String>,
    /// Only pairs whose annotators agree at least this much (0-1: the share of
    /// annotator pairs that gave the same label).
    #[arg(long)]
    pub min_agreement: Option<f64>,
    /// Only judgments made on or after this UTC date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date_ms)]
    pub since: Option<i64>,
}

/// Parses `test=0.1`, or a bare `0.1` meaning the same (docs/formats.md).
fn parse_split(text: &str) -> Result<f64, String> {
    let share = text.strip_prefix("test=").unwrap_or(text);
    match share.parse::<f64>() {
        Ok(s) if s > 0.0 && s < 1.0 => Ok(s),
        _ => Err(format!(
            "{text:?}: expected test=SHARE with SHARE more than 0 and less than 1, e.g. \
             test=0.1 (the test split is the only one named; train is the rest)"
        )),
    }
}

/// Parses `YYYY-MM-DD` as midnight UTC, in epoch milliseconds.
fn parse_date_ms(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?}: expected a date as YYYY-MM-DD");
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u8>().map_err(|_| bad())?,
        d.parse::<u8>().map_err(|_| bad())?,
    );
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
    Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user with a role, or give an existing user another role. Without
    /// --password-stdin a random password is generated and printed once.
    Add(UsersAddArgs),
}

/// `relabel users add`.
#[derive(Debug, Args)]
pub struct UsersAddArgs {
    /// Login name: 1-64 characters of letters, digits, '.', '_' and '-'.
    pub name: String,
    /// The role to grant.
    #[arg(long, value_enum)]
    pub role: Role,
    /// The project the role applies to (required for every role but admin; an admin
    /// without a project administers every project).
    #[arg(long)]
    pub project: Option<String>,
    /// Read the new user's password from the first line of standard input
    /// (at least 10 characters).
    #[arg(long)]
    pub password_stdin: bool,
}

/// Where and how to serve.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Folder holding `pkg/relabel.js` and `pkg/relabel_bg.wasm`, the browser bundle that
    /// `scripts/dev build` writes.
    #[arg(long, env = "RELABEL_SITE_ROOT", default_value = DEFAULT_SITE_ROOT)]
    pub site_root: PathBuf,
    /// Mark the session cookie Secure: turn on when serving behind HTTPS.
    #[arg(long, env = "RELABEL_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Seconds between checks for projects whose scorer is due a background retrain
    /// (a project turns it on with "retrain every N completed pairs" in its settings).
    #[arg(long, env = "RELABEL_RETRAIN_CHECK_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub retrain_check_seconds: u64,
    /// The bearer token Prometheus must send to read `/metrics`. Without it, `/metrics`
    /// answers clients on this machine (loopback) only.
    #[arg(long, env = "RELABEL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A reverse proxy (an address, or a block such as 10.0.0.0/8; repeat, or separate
    /// with commas) whose X-Forwarded-For names the real client. Login limits per
    /// address and the loopback check of /metrics then use that client's address.
    /// Without it the header is ignored, so clients cannot forge it.
    #[arg(long = "trusted-proxy", env = "RELABEL_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// An address block, or one address (a block of one).
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a block such as 10.0.0.0/8"))
}

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import (query, item) pairs, with optional CoT candidates, gold labels and tags,
    /// from JSONL or CSV (see docs/formats.md). The file is imported whole or not at all;
    /// pairs the project already has are left as they are.
    Pairs(ImportPairsArgs),
}

/// `relabel import pairs`.
#[derive(Debug, Args)]
pub struct ImportPairsArgs {
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// The file to import.
    pub file: PathBuf,
    /// The file's format; by default taken from its extension (.jsonl, .ndjson, .csv).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Most bad lines to list one by one (all are counted).
    #[arg(long, default_value_t = 50)]
    pub max_errors: usize,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Project commands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create(ProjectCreateArgs),
}

/// `relabel project create`.
#[derive(Debug, Args)]
pub struct ProjectCreateArgs {
    /// URL-safe identifier: a-z, 0-9 and '-'.
    pub slug: String,
    /// Human-readable name (defaults to the slug).
    #[arg(long)]
    pub name: Option<String>,
    /// Label scale: lore4 (L1-L4), esci (Exact/Substitute/Complement/Irrelevant) or wands
    /// (Exact/Partial/Irrelevant).
    #[arg(long, value_enum, default_value = "lore4")]
    pub scale: ScalePreset,
    /// Independent judgments wanted per pair.
    #[arg(long, default_value_t = 3)]
    pub overlap: u32,
    /// What annotators are asked: judge the label, rank the CoT candidates, or both.
    #[arg(long, value_enum, default_value = "judge")]
    pub task: TaskKind,
}

/// `relabel stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The project's slug; without it, the list of projects.
    #[arg(long)]
    pub project: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `relabel demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the generated catalog; the same seed gives the same data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Only create the demo project; do not serve.
    #[arg(long)]
    pub no_serve: bool,
    /// Write the demo's pairs to this JSONL file, every pair with its true label as
    /// `gold_label`, and stop; nothing is stored (the input of `relabel bench
    /// active-learning`).
    #[arg(long, value_name = "FILE")]
    pub write_pairs: Option<PathBuf>,
    /// How to serve afterwards.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Runs the command line and maps failure to a non-zero exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(ImportError::Rejected {
                errors, bad_lines, ..
            }) = e.downcast_ref()
            {
                for line in errors {
                    eprintln!("{line}");
                }
                if *bad_lines > errors.len() as u64 {
                    eprintln!("... and more; {bad_lines} bad lines in all");
                }
            }
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause shown once even where a message repeats its source.
fn error_chain(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELABEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("relabel=info,warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object a line for log collectors, with the request's span (its id).
    if std::env::var("RELABEL_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().with_current_span(true).init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database = Database {
        url: cli.database_url,
        store: tokio::sync::OnceCell::new(),
    };
    let result = dispatch(&database, cli.command).await;
    if let Some(store) = database.store.get() {
        store.close().await;
    }
    result
}

/// The database a command names, opened the first time a command asks for it, so the
/// commands that need none (`bench active-learning`, `demo --write-pairs`) never open it.
struct Database {
    url: String,
    store: tokio::sync::OnceCell<SharedStore>,
}

impl Database {
    async fn open(&self) -> anyhow::Result<&SharedStore> {
        self.store
            .get_or_try_init(|| async {
                storage::connect(&self.url)
                    .await
                    .with_context(|| format!("cannot open the database {}", redact(&self.url)))
            })
            .await
    }
}

async fn dispatch(database: &Database, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Bench(BenchCommand::ActiveLearning(args)) => {
            crate::bench::active_learning(args).await
        }
        Command::Demo(DemoArgs {
            write_pairs: Some(path),
            seed,
            ..
        }) => write_demo_pairs(&path, seed),
        Command::Serve(args) => serve(database.open().await?, &args).await,
        Command::Import(ImportCommand::Pairs(args)) => {
            import_pairs(database.open().await?, args).await
        }
        Command::Project(ProjectCommand::Create(args)) => {
            let store = database.open().await?;
            let new = NewProject {
                name: args.name.unwrap_or_else(|| args.slug.clone()),
                slug: args.slug,
                scale: args.scale,
                overlap_k: args.overlap,
                task: args.task,
            };
            new.validate()?;
            let project = store.create_project(&new, crate::domain::now_ms()).await?;
            println!(
                "created project {} (scale {}: {}; overlap {}; task {})",
                project.slug,
                project.scale,
                project.scale_labels.join(", "),
                project.overlap_k,
                project.task
            );
            Ok(())
        }
        Command::Stats(args) => stats(database.open().await?, args).await,
        Command::Users(UsersCommand::Add(args)) => users_add(database.open().await?, args).await,
        Command::Export(args) => export(database.open().await?, args).await,
        Command::Scorer(command) => scorer(database.open().await?, command).await,
        Command::Guideline(command) => guideline(database.open().await?, command).await,
        Command::Bench(BenchCommand::Load(args)) => {
            crate::load::command(database.open().await?, args).await
        }
        Command::Demo(args) => {
            let store = database.open().await?;
            let summary = crate::demo_project::install(store.as_ref(), args.seed).await?;
            println!("{summary}");
            if args.no_serve {
                return Ok(());
            }
            println!("open http://{}/", args.serve.addr);
            serve(store, &args.serve).await
        }
    }
}

/// Loads the encoder on a blocking thread (it reads 90 MB of weights).
async fn load_encoder(
    dir: Option<PathBuf>,
) -> anyhow::Result<std::sync::Arc<relabel_models::Encoder>> {
    let dir = dir.unwrap_or_else(relabel_models::encoder::default_dir);
    let encoder = tokio::task::spawn_blocking(move || {
        relabel_models::Encoder::load(&dir, &relabel_models::Device::Cpu)
    })
    .await??;
    Ok(std::sync::Arc::new(encoder))
}

async fn scorer(store: &SharedStore, command: ScorerCommand) -> anyhow::Result<()> {
    let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    match command {
        ScorerCommand::Train(args) => {
            let project = project_or_fail(store, &args.project).await?;
            let encoder = load_encoder(args.model_dir).await?;
            let options = relabel_models::TrainOptions::default();
            let run = crate::scorer::train(store.as_ref(), &project, encoder, options, |line| {
                eprintln!("{line}");
            })
            .await?;
            println!(
                "trained run {} on {} labels: held-out macro-F1 {}, accuracy {}, temperature {:.2}, {:.1} s",
                run.id,
                run.labels_used,
                show(run.heldout_macro_f1),
                show(run.heldout_accuracy),
                run.temperature,
                run.train_ms as f64 / 1000.0
            );
        }
        ScorerCommand::Score(args) => {
            let project = project_or_fail(store, &args.common.project).await?;
            let strategy = match &args.strategy {
                None => crate::scorer::project_strategy(&project),
                Some(name) => relabel_models::acquisition::Strategy::named(name)
                    .map_err(|e| anyhow::anyhow!("--strategy: {e}"))?,
            };
            let encoder = load_encoder(args.common.model_dir).await?;
            let report =
                crate::scorer::score(store.as_ref(), &project, encoder, &strategy, |line| {
                    eprintln!("{line}");
                })
                .await?;
            println!(
                "scored {} unlabelled pairs with run {} ({} texts embedded, the rest cached) in {:.1} s",
                report.scored, report.run_id, report.embedded, report.seconds
            );
        }
        ScorerCommand::Status(args) => {
            let project = project_or_fail(store, &args.project).await?;
            let runs = store.scorer_runs(&project, 20, false).await?;
            if runs.is_empty() {
                println!(
                    "{}: no training runs yet (relabel scorer train --project {})",
                    project.slug, project.slug
                );
            }
            for run in runs {
                println!(
                    "run {}: {} labels, held-out macro-F1 {}, accuracy {}, model {}, {:.1} s",
                    run.id,
                    run.labels_used,
                    show(run.heldout_macro_f1),
                    show(run.heldout_accuracy),
                    &run.model_version[..12.min(run.model_version.len())],
                    run.train_ms as f64 / 1000.0
                );
            }
        }
    }
    Ok(())
}

/// Writes the demo's pairs, each with its true label as gold label, as JSONL; the file
/// appears whole or not at all.
fn write_demo_pairs(path: &std::path::Path, seed: u64) -> anyhow::Result<()> {
    let pairs = crate::demo::labelled(seed);
    let mut out = Vec::new();
    for pair in &pairs {
        serde_json::to_writer(&mut out, pair)?;
        out.push(b'\n');
    }
    write_atomically(path, &out)?;
    eprintln!(
        "wrote {} labelled demo pairs to {}",
        pairs.len(),
        path.display()
    );
    Ok(())
}

/// Aborts a background task when `serve` returns.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(store: &SharedStore, args: &ServeArgs) -> anyhow::Result<()> {
    // Without weights the server runs as before and says how to turn the scorer on (the
    // state decides that once, and the settings page says it too); with them, a
    // background task retrains the projects that ask for it.
    let mut state = AppState::new(store.clone(), &args.site_root);
    state.secure_cookies = args.secure_cookies;
    state.metrics_token = args.metrics_token.clone().filter(|t| !t.is_empty());
    state.trusted_proxies = args.trusted_proxies.clone().into();
    let retrain = match &state.scorer_off {
        Some(why) => {
            tracing::warn!("{why}");
            None
        }
        None => {
            tracing::info!(
                "the relevance scorer's model is installed in {}; checking for due retrains every {} s",
                relabel_models::encoder::default_dir().display(),
                args.retrain_check_seconds
            );
            let store = store.clone();
            let every = std::time::Duration::from_secs(args.retrain_check_seconds);
            Some(tokio::spawn(async move {
                match load_encoder(None).await {
                    Ok(encoder) => crate::scorer::retrain_loop(store, encoder, every).await,
                    Err(e) => tracing::warn!("the relevance scorer is off: {e:#}"),
                }
            }))
        }
    };
    let _stop_retrain = retrain.map(|task| task.abort_handle()).map(AbortOnDrop);
    web::serve(state, args.addr).await
}

/// The command line as the user could type it again (for the dataset card): the
/// program as `relabel`, arguments quoted where a shell would need it, and no
/// `--database-url` (it may hold a password).
fn command_line() -> String {
    let quote = |a: String| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=./:,@+".contains(c))
        {
            a
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    let mut words = vec!["relabel".to_owned()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--database-url" {
            args.next();
        } else if !arg.starts_with("--database-url=") {
            words.push(quote(arg));
        }
    }
    words.join(" ")
}

async fn export(store: &SharedStore, args: ExportArgs) -> anyhow::Result<()> {
    use crate::export::{ExportOptions, Output};
    use std::io::{BufWriter, Write};
    let project = project_or_fail(store, &args.project).await?;
    let options = ExportOptions {
        format: args.format,
        style: args.style,
        test_share: args.split,
        seed: args.seed,
        pairs: args.pairs,
        guideline_version: args.guideline_version,
        band: args.band,
        capability: args.capability,
        min_agreement: args.min_agreement,
        since: args.since,
    };
    // Written beside the target and renamed at the end, so a failed export never
    // leaves a half-written file where the finished one should be.
    let create = |path: &std::path::Path| -> anyhow::Result<(tempfile::NamedTempFile, PathBuf)> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let file = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok((file, path.to_owned()))
    };
    if args.split_files && args.split.is_none() {
        anyhow::bail!("--split-files needs --split test=SHARE");
    }
    if args.split_files && !crate::export::card::valid_license(&args.license) {
        anyhow::bail!(
            "--license {:?}: a licence id such as cc-by-4.0 or other (letters, digits, - . _ +)",
            args.license
        );
    }
    let prepared = crate::export::prepare(store.as_ref(), &project, &options).await?;
    let summary = if args.split_files {
        let data = args.out.join("data");
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create the folder {}", data.display()))?;
        let extension = if args.format == crate::export::ExportFormat::Labels {
            "csv"
        } else {
            "jsonl"
        };
        let (train, train_path) = create(&data.join(format!("train.{extension}")))?;
        let (test, test_path) = create(&data.join(format!("test.{extension}")))?;
        let (mut train_w, mut test_w) = (BufWriter::new(train), BufWriter::new(test));
        let summary = crate::export::write(
            store.as_ref(),
            &prepared,
            Output::Split(&mut train_w, &mut test_w),
        )
        .await?;
        let (card, card_path) = create(&args.out.join("README.md"))?;
        let mut card_w = BufWriter::new(card);
        card_w.write_all(
            crate::export::card::dataset_card(
                &prepared,
                &summary,
                &command_line(),
                &args.license,
                extension,
            )
            .as_bytes(),
        )?;
        for (writer, path) in [
            (train_w, train_path),
            (test_w, test_path),
            (card_w, card_path),
        ] {
            writer
                .into_inner()
                .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?
                .persist(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        summary
    } else if args.out.as_os_str() == "-" {
        let mut out = BufWriter::new(std::io::stdout());
        let summary =
            crate::export::write(store.as_ref(), &prepared, Output::One(&mut out)).await?;
        out.flush()?;
        summary
    } else {
        let (file, path) = create(&args.out)?;
        let mut out = BufWriter::new(file);
        let summary =
            crate::export::write(store.as_ref(), &prepared, Output::One(&mut out)).await?;
        out.into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?
            .persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        summary
    };
    eprintln!(
        "exported {} record(s) ({} in the test split) from {} pair(s) of {}",
        summary.records, summary.test_records, summary.pairs_read, project.slug
    );
    if options.test_share.is_some() {
        eprintln!(
            "  train: {} record(s) of {} query(ies); test: {} record(s) of {} query(ies)",
            summary.records - summary.test_records,
            summary.train_queries,
            summary.test_records,
            summary.test_queries
        );
    }
    for (why, count) in &summary.left_out {
        eprintln!("  left out {count} pair(s): {why}");
    }
    for (why, count) in &summary.records_left_out {
        eprintln!("  left out {count} record(s): {why}");
    }
    Ok(())
}

async fn guideline(store: &SharedStore, command: GuidelineCommand) -> anyhow::Result<()> {
    use crate::storage::VersionRef;
    match command {
        GuidelineCommand::Export(args) => {
            let project = project_or_fail(store, &args.project).await?;
            let which = match (args.version, args.draft) {
                (Some(n), _) => VersionRef::Number(n),
                (None, true) => VersionRef::Draft,
                (None, false) => VersionRef::Latest,
            };
            let Some(version) = store.guideline_version(&project, which).await? else {
                bail!(
                    "project {} has no {}",
                    project.slug,
                    match which {
                        VersionRef::Latest => "published guideline yet".to_owned(),
                        VersionRef::Number(n) => format!("published guideline version {n}"),
                        VersionRef::Draft => "guideline draft".to_owned(),
                    }
                );
            };
            let what = version
                .number
                .map_or_else(|| "draft".to_owned(), |n| format!("version {n}"));
            let comment = format!(
                "relabel guideline of project {}, {what}\nformat: docs/formats.md, \"Guideline files\"",
                project.slug
            );
            let text = crate::guideline::write(&version.rules, &comment);
            if args.out.as_os_str() == "-" {
                print!("{text}");
            } else {
                write_atomically(&args.out, text.as_bytes())?;
                eprintln!(
                    "wrote {} rules of {what} to {}",
                    version.rules.len(),
                    args.out.display()
                );
            }
            Ok(())
        }
        GuidelineCommand::Import(args) => {
            let project = project_or_fail(store, &args.project).await?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let name = args.file.display().to_string();
            let rules = crate::guideline::parse(&project, &name, &text)?;
            store
                .save_draft(&project, &rules, None, crate::domain::now_ms())
                .await?;
            println!(
                "stored {} rules as the draft of {}; publish it with `relabel guideline publish --project {} --note TEXT`",
                rules.len(),
                project.slug,
                project.slug
            );
            Ok(())
        }
        GuidelineCommand::Publish(args) => {
            let project = project_or_fail(store, &args.project).await?;
            match crate::service::guideline::publish(store.as_ref(), &project, None, &args.note)
                .await
            {
                Ok(number) => {
                    println!("published version {number} of {}'s guideline", project.slug);
                    Ok(())
                }
                Err(ServiceError::Invalid { field, message }) => bail!("--{field}: {message}"),
                Err(ServiceError::Missing(_)) => bail!(
                    "project {} has no guideline draft; import one with `relabel guideline import --project {} FILE`",
                    project.slug,
                    project.slug
                ),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Writes a file whole or not at all: into a temporary file beside it, then renamed.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn project_or_fail(
    store: &SharedStore,
    slug: &str,
) -> anyhow::Result<crate::domain::Project> {
    match store.project(slug).await? {
        Some(p) => Ok(p),
        None => {
            bail!("no project with slug {slug:?}; create it with `relabel project create {slug}`")
        }
    }
}

async fn import_pairs(store: &SharedStore, args: ImportPairsArgs) -> anyhow::Result<()> {
    let project = project_or_fail(store, &args.project).await?;
    let options = ImportOptions {
        format: args.format,
        max_errors: args.max_errors,
        progress: std::io::stderr().is_terminal(),
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let report = crate::import::import_file(store.as_ref(), &project, &args.file, &options).await?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "report": report, "seconds": seconds })
        );
    } else {
        let c = &report.counts;
        println!(
            "imported {} into {} in {seconds:.1} s: {} lines, {} new pairs ({} already present{}), \
             {} new queries, {} new items, {} CoT candidates, {} gold labels",
            report.file,
            project.slug,
            report.lines,
            c.pairs_added,
            c.pairs_existing,
            if report.duplicate_lines > 0 {
                format!(", {} repeated lines", report.duplicate_lines)
            } else {
                String::new()
            },
            c.queries_added,
            c.items_added,
            c.cot_added,
            c.gold_added
        );
    }
    // Warnings go to standard error in both modes, so --json output stays one document.
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if report.identical_candidate_lines > report.warnings.len() as u64 {
        eprintln!(
            "warning: {} line(s) in all have CoT candidates with the same text",
            report.identical_candidate_lines
        );
    }
    Ok(())
}

async fn users_add(store: &SharedStore, args: UsersAddArgs) -> anyhow::Result<()> {
    let project = match &args.project {
        Some(slug) => Some(project_or_fail(store, slug).await?),
        None if args.role == Role::Admin => None,
        None => bail!(
            "the {} role is held in a project: add --project SLUG",
            args.role.as_str()
        ),
    };
    let scope = project.as_ref().map_or_else(
        || "every project".to_owned(),
        |p| format!("project {}", p.slug),
    );
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        members::NewPassword::Given(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        members::NewPassword::Generate
    };
    let added = members::add(
        store.as_ref(),
        project.as_ref(),
        None,
        &args.name,
        args.role,
        password,
    )
    .await
    .map_err(|e| match e {
        members::MemberError::Conflict(m) if !args.password_stdin => anyhow::anyhow!(m),
        members::MemberError::Conflict(_) => anyhow::anyhow!(
            "a user named {:?} exists; `users add` only adds roles to it (drop --password-stdin)",
            args.name
        ),
        other => other.into(),
    })?;
    let role = args.role.as_str();
    match (added.created, added.granted) {
        (true, _) => println!("created user {} with {role} in {scope}", args.name),
        (false, true) => println!("{} now holds {role} in {scope}", args.name),
        (false, false) => println!("{} already holds {role} in {scope}", args.name),
    }
    if let Some(password) = added.generated_password {
        println!("password: {password}   (shown once; it is stored only as an argon2id hash)");
    }
    Ok(())
}

async fn stats(store: &SharedStore, args: StatsArgs) -> anyhow::Result<()> {
    let Some(slug) = args.project else {
        let projects: Vec<_> = store
            .list_projects()
            .await?
            .into_iter()
            .map(|listed| listed.summary)
            .collect();
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "projects": projects }))?
            );
        } else if projects.is_empty() {
            println!("no projects yet; create one with `relabel project create SLUG`");
        } else {
            println!(
                "{:<24} {:<8} {:>3} {:>10} {:>10}",
                "project", "scale", "k", "pairs", "judgments"
            );
            for p in projects {
                println!(
                    "{:<24} {:<8} {:>3} {:>10} {:>10}",
                    p.slug, p.scale, p.overlap_k, p.pairs, p.judgments
                );
            }
        }
        return Ok(());
    };
    let project = project_or_fail(store, &slug).await?;
    let stats = store.stats(&project).await?;
    let rows = crate::dashboard::read(store.as_ref(), &project).await?;
    let dashboard = crate::dashboard::compute(&project, &rows);
    let (alpha, review_queue, gold) = (dashboard.alpha, dashboard.review_queue, &rows.gold);
    if args.json {
        let mut value = serde_json::to_value(&stats)?;
        value["quality"] = serde_json::json!({
            "alpha": alpha,
            "review_queue": review_queue,
            "gold_window": project.gold_window,
            "gold_min_accuracy": project.gold_min_accuracy,
            "flagged": dashboard.flagged,
            "annotators": gold,
            "charts": dashboard.charts,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("project {}", stats.project);
    println!(
        "{:<8} {:>10} {:>10} {:>12} {:>10}",
        "band", "queries", "pairs", "candidates", "judgments"
    );
    for (band, b) in &stats.bands {
        println!(
            "{band:<8} {:>10} {:>10} {:>12} {:>10}",
            b.queries, b.pairs, b.cot_candidates, b.judgments
        );
    }
    println!(
        "{:<8} {:>10} {:>10} {:>12} {:>10}",
        "all", stats.queries, stats.pairs, stats.cot_candidates, stats.judgments
    );
    println!("items {}, gold pairs {}", stats.items, stats.gold_pairs);
    if stats.unversioned_judgments > 0 {
        println!(
            "{} judgment(s) name no guideline version (made before the server stamped \
             versions, or while no guideline was published); `export --guideline-version` \
             never matches them",
            stats.unversioned_judgments
        );
    }
    let alpha = alpha.map_or_else(|| "undefined".to_owned(), |a| format!("{a:.3}"));
    println!(
        "agreement: Krippendorff's alpha (ordinal) {alpha}; {review_queue} pairs await review"
    );
    if !gold.is_empty() {
        println!(
            "{:<20} {:>6} {:>7} {:>10} {:>8}  flagged (last {} below {:.0}%)",
            "annotator",
            "gold",
            "exact",
            "within 1",
            "recent",
            project.gold_window,
            project.gold_min_accuracy * 100.0
        );
        let percent =
            |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
        for a in gold {
            println!(
                "{:<20} {:>6} {:>7} {:>10} {:>8}  {}",
                a.user,
                a.overall.answered,
                percent(a.overall.exact_rate()),
                percent(a.overall.within_one_rate()),
                percent(a.recent.exact_rate()),
                if a.flagged { "FLAGGED" } else { "" }
            );
        }
    }
    Ok(())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
