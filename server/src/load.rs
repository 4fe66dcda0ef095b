//! `relabel bench load`: the load harness. N simulated annotators over the JSON API, each
//! logging in once, then looping next pair → think → submit (with an idempotency key) at
//! a set pace for a set time, against one or several servers. It reports throughput and
//! p50/p95/p99 per operation, then checks the database: every submit the harness saw
//! acknowledged is stored exactly once under its id, no pair has more than k annotators,
//! each pair's judgment count matches its judgments, and nothing is stored twice.
//!
//! With several `--url`s each annotator's requests alternate between the servers, and a
//! server that cannot be reached (or answers 5xx) is skipped for the next one: a submit
//! is retried there with the same idempotency key, so a server killed mid-load costs
//! time, never a judgment. The driver is our own rather than goose: the checks need the
//! exact set of acknowledged submits, which a generic load tool does not keep.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Args;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Role;
use crate::storage::{QueueInvariants, SharedStore};

/// `relabel bench load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// A server to load (repeat, or separate with commas, for several: each annotator's
    /// requests alternate between them).
    #[arg(
        long = "url",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:3000"
    )]
    pub urls: Vec<String>,
    /// The project's slug. Its annotators `load-annotator-0..N` are created (or given a
    /// new password) in the database `--database-url` names, which must be the servers'.
    #[arg(long)]
    pub project: String,
    /// Simulated annotators.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub annotators: u32,
    /// Milliseconds between one annotator's submits (they think for 80% of it); 0 submits
    /// as fast as the servers answer, which measures the saturation point.
    #[arg(long, default_value_t = 2000)]
    pub pace_ms: u64,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Latency of one operation, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Requests timed (retries on another server included in their request's time).
    pub n: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |p: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
            samples[i].as_secs_f64() * 1000.0
        };
        Self {
            n: samples.len(),
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// What a load run measured and found.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The servers loaded.
    pub servers: Vec<String>,
    /// Simulated annotators.
    pub annotators: u32,
    /// Milliseconds between one annotator's submits (0: as fast as possible).
    pub pace_ms: u64,
    /// How long the run took.
    pub seconds: f64,
    /// Submits answered 200 (first stores and replays).
    pub acknowledged: usize,
    /// Acknowledged submits per second.
    pub judgments_per_second: f64,
    /// `POST /next`.
    pub next: Latency,
    /// `POST /judgments`.
    pub submit: Latency,
    /// Requests that failed for good (after trying every server).
    pub errors: usize,
    /// The first few errors, for the reader.
    pub error_samples: Vec<String>,
    /// Requests moved to another server because one could not answer.
    pub failovers: u64,
    /// Annotators who found the queue empty before the time was up.
    pub queue_emptied: u32,
    /// The database checks after the run.
    pub invariants: InvariantReport,
    /// Each acknowledged submit: idempotency key and judgment id (for checks that span
    /// several runs; left out of the JSON report).
    #[serde(skip)]
    pub acknowledged_keys: Vec<(String, i64)>,
}

/// The database checks.
#[derive(Debug, Clone, Serialize)]
pub struct InvariantReport {
    /// Acknowledged submits looked up.
    pub acknowledged_checked: usize,
    /// Acknowledged idempotency keys with no stored judgment.
    pub lost: Vec<String>,
    /// Acknowledged keys stored under another id than the one acknowledged.
    pub wrong_id: Vec<String>,
    /// The queue's invariants.
    pub queue: QueueInvariants,
    /// Everything held.
    pub ok: bool,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} annotators, pace {} ms, {:.0} s against {}: {} acknowledged judgments ({:.1}/s), \
             {} errors, {} failovers",
            self.annotators,
            self.pace_ms,
            self.seconds,
            self.servers.join(", "),
            self.acknowledged,
            self.judgments_per_second,
            self.errors,
            self.failovers
        )?;
        for (name, l) in [("next", &self.next), ("submit", &self.submit)] {
            writeln!(
                f,
                "{name:<7} n={:<7} p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
                l.n, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
            )?;
        }
        if self.queue_emptied > 0 {
            writeln!(
                f,
                "{} annotators found nothing left to judge",
                self.queue_emptied
            )?;
        }
        for e in &self.error_samples {
            writeln!(f, "error: {e}")?;
        }
        let i = &self.invariants;
        write!(
            f,
            "checks: {} acknowledged submits looked up, {} lost, {} under another id; \
             {} pairs over k, {} with a wrong count, {} duplicate judgments: {}",
            i.acknowledged_checked,
            i.lost.len(),
            i.wrong_id.len(),
            i.queue.over_k,
            i.queue.count_drift,
            i.queue.duplicates,
            if i.ok { "all hold" } else { "BROKEN" }
        )
    }
}

type Http = Client<HttpConnector, Body>;

/// One annotator's servers, taken in turn.
struct Servers {
    urls: Vec<String>,
    turn: usize,
    http: Http,
}

/// A request's answer: status, the session cookie it set, the JSON body.
struct Answer {
    status: StatusCode,
    cookie: Option<String>,
    body: Value,
}

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

impl Servers {
    /// Sends the request to the next server in turn; on a connection failure, a timeout
    /// or a 5xx it tries the following ones (the same body, so the same idempotency
    /// key). `Err` when no server answered.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<&Value>,
        failovers: &mut u64,
    ) -> Result<Answer, String> {
        let mut last = String::new();
        for attempt in 0..self.urls.len() {
            let url = format!("{}{path}", self.urls[self.turn % self.urls.len()]);
            self.turn += 1;
            if attempt > 0 {
                *failovers += 1;
            }
            match self.once(method, &url, cookie, body).await {
                Ok(answer) if answer.status.is_server_error() => {
                    last = format!("{method} {url}: {} {}", answer.status, answer.body);
                }
                Ok(answer) => return Ok(answer),
                Err(e) => last = format!("{method} {url}: {e}"),
            }
        }
        Err(last)
    }

    async fn once(
        &self,
        method: &str,
        url: &str,
        cookie: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let request = json_request(method, url, cookie, body).map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let status = response.status();
            let cookie = response
                .headers()
                .get(header::SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(str::to_owned);
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Answer {
                status,
                cookie,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))?
    }
}

/// A request to the JSON API: `body` as JSON, with the session cookie when given.
pub fn json_request(
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
) -> Result<Request<Body>, axum::http::Error> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
}

/// One annotator's tally.
#[derive(Default)]
struct Tally {
    next: Vec<Duration>,
    submit: Vec<Duration>,
    errors: Vec<String>,
    /// Acknowledged idempotency key → judgment id.
    acknowledged: Vec<(String, i64)>,
    failovers: u64,
    emptied: bool,
}

/// The annotator's HTTP client: from its own loopback address when the servers are on
/// this machine, as separate people would be, so per-address login limits apply to
/// each one separately.
fn client_for(i: u32, urls: &[String]) -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let local = urls.iter().all(|u| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|h| h == "127.0.0.1" || h == "localhost")
    });
    if local {
        connector.set_local_address(Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            127,
            0,
            1 + (i / 250) as u8,
            1 + (i % 250) as u8,
        ))));
    }
    Client::builder(TokioExecutor::new()).build(connector)
}

/// What every simulated annotator of a run shares.
struct Plan {
    slug: String,
    password: String,
    pace: Duration,
    deadline: Instant,
    /// Makes idempotency keys unique across runs.
    run: i64,
    annotators: u32,
}

async fn annotator(i: u32, mut servers: Servers, plan: std::sync::Arc<Plan>) -> Tally {
    let Plan {
        ref slug,
        ref password,
        pace,
        deadline,
        run,
        annotators,
    } = *plan;
    // Arrivals spread over one pace period, as people arrive.
    let spread = pace.mul_f64(f64::from(i) / f64::from(annotators));
    let mut tally = Tally::default();
    let login = json!({"username": format!("load-annotator-{i}"), "password": password});
    let cookie = match servers
        .call(
            "POST",
            "/api/v1/session",
            None,
            Some(&login),
            &mut tally.failovers,
        )
        .await
    {
        Ok(Answer {
            status: StatusCode::OK,
            cookie: Some(cookie),
            ..
        }) => cookie,
        Ok(a) => {
            tally.errors.push(format!("login: {} {}", a.status, a.body));
            return tally;
        }
        Err(e) => {
            tally.errors.push(format!("login: {e}"));
            return tally;
        }
    };
    tokio::time::sleep(spread).await;
    let (next_path, submit_path) = (
        format!("/api/v1/projects/{slug}/next"),
        format!("/api/v1/projects/{slug}/judgments"),
    );
    let mut n = 0u64;
    while Instant::now() < deadline {
        let cycle = Instant::now();
        let next = servers
            .call(
                "POST",
                &next_path,
                Some(&cookie),
                None,
                &mut tally.failovers,
            )
            .await;
        tally.next.push(cycle.elapsed());
        let next = match next {
            Ok(a) if a.status == StatusCode::OK => a.body,
            Ok(a) if a.status == StatusCode::NO_CONTENT => {
                tally.emptied = true;
                break;
            }
            Ok(a) => {
                tally.errors.push(format!("next: {} {}", a.status, a.body));
                tokio::time::sleep(pace.max(Duration::from_millis(100))).await;
                continue;
            }
            Err(e) => {
                tally.errors.push(format!("next: {e}"));
                tokio::time::sleep(pace.max(Duration::from_millis(100))).await;
                continue;
            }
        };
        // Think for most of the pace, then submit.
        tokio::time::sleep(pace.mul_f64(0.8)).await;
        n += 1;
        let key = format!("load-{run}-{i}-{n}");
        let body = judgment(&next, (n as usize).wrapping_add(i as usize), &key, pace);
        let t = Instant::now();
        let answer = servers
            .call(
                "POST",
                &submit_path,
                Some(&cookie),
                Some(&body),
                &mut tally.failovers,
            )
            .await;
        tally.submit.push(t.elapsed());
        match answer {
            Ok(a) if a.status == StatusCode::OK => match a.body["judgment_id"].as_i64() {
                Some(id) => tally.acknowledged.push((key, id)),
                None => tally
                    .errors
                    .push(format!("submit: 200 without an id: {}", a.body)),
            },
            Ok(a) => tally
                .errors
                .push(format!("submit: {} {}", a.status, a.body)),
            Err(e) => tally.errors.push(format!("submit: {e}")),
        }
        if let Some(rest) = pace.checked_sub(cycle.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    tally
}

/// A judgment of the pair `next` offered: a label from the LORE scale when its task
/// judges, and its candidates ranked in the order shown when it ranks.
pub fn judgment(next: &Value, n: usize, key: &str, pace: Duration) -> Value {
    let task = next["pair"]["task"].as_str().unwrap_or("judge");
    let mut body = json!({
        "pair_id": next["pair"]["pair_id"], "lease_id": next["lease_id"],
        "rules": [], "duration_ms": pace.mul_f64(0.8).as_millis() as u64,
        "idempotency_key": key,
    });
    if task != "rank" {
        body["label"] = json!(["L1", "L2", "L3", "L4"][n % 4]);
    }
    if task.contains("rank") {
        let candidates = next["pair"]["cot"].as_array().map_or(0, Vec::len);
        body["ranking"] = json!((0..candidates).map(|c| [c]).collect::<Vec<_>>());
    }
    body
}

/// Creates (or re-passwords) the load annotators of `project`; their password.
async fn prepare(store: &SharedStore, slug: &str, annotators: u32) -> anyhow::Result<String> {
    let project = store
        .project(slug)
        .await?
        .with_context(|| format!("no project {slug:?}"))?;
    // A fresh password per run: load accounts never keep a guessable one.
    let password = crate::auth::generate_password();
    let hash = crate::auth::hash_password_blocking(password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the load password: {e}"))?;
    for i in 0..annotators {
        let name = format!("load-annotator-{i}");
        let id = match store.user_by_name(&name).await? {
            Some(u) => {
                store
                    .set_password_hash(u.id, &hash, crate::domain::now_ms())
                    .await?;
                u.id
            }
            None => {
                store
                    .create_user(&name, &hash, crate::domain::now_ms())
                    .await?
            }
        };
        store
            .grant_role(
                id,
                Some(project.id),
                Role::Annotator,
                None,
                crate::domain::now_ms(),
            )
            .await?;
    }
    Ok(password)
}

/// Runs the load and checks the database afterwards.
pub async fn run(store: &SharedStore, args: &LoadArgs) -> anyhow::Result<LoadReport> {
    if args.urls.is_empty() {
        bail!("--url: give at least one server");
    }
    for u in &args.urls {
        url::Url::parse(u).with_context(|| format!("--url {u:?}: not a URL"))?;
    }
    let urls: Vec<String> = args
        .urls
        .iter()
        .map(|u| u.trim_end_matches('/').to_owned())
        .collect();
    let password = prepare(store, &args.project, args.annotators).await?;
    let pace = Duration::from_millis(args.pace_ms);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    // Keys must be unique across runs too.
    let run = crate::domain::now_ms();
    let plan = std::sync::Arc::new(Plan {
        slug: args.project.clone(),
        password,
        pace,
        deadline,
        run,
        annotators: args.annotators,
    });
    let tasks: Vec<_> = (0..args.annotators)
        .map(|i| {
            let servers = Servers {
                http: client_for(i, &urls),
                turn: i as usize,
                urls: urls.clone(),
            };
            tokio::spawn(annotator(i, servers, plan.clone()))
        })
        .collect();
    let mut all = Tally::default();
    let mut emptied = 0;
    for task in tasks {
        let t = task.await.context("an annotator's task panicked")?;
        all.next.extend(t.next);
        all.submit.extend(t.submit);
        all.errors.extend(t.errors);
        all.acknowledged.extend(t.acknowledged);
        all.failovers += t.failovers;
        emptied += u32::from(t.emptied);
    }
    let seconds = started.elapsed().as_secs_f64();
    let invariants = check(store, &args.project, &all.acknowledged).await?;
    Ok(LoadReport {
        servers: urls,
        annotators: args.annotators,
        pace_ms: args.pace_ms,
        seconds,
        acknowledged: all.acknowledged.len(),
        judgments_per_second: all.acknowledged.len() as f64 / seconds,
        next: Latency::of(all.next),
        submit: Latency::of(all.submit),
        errors: all.errors.len(),
        error_samples: all.errors.into_iter().take(5).collect(),
        failovers: all.failovers,
        queue_emptied: emptied,
        invariants,
        acknowledged_keys: all.acknowledged,
    })
}

/// Looks every acknowledged submit up and checks the queue's invariants.
pub async fn check(
    store: &SharedStore,
    slug: &str,
    acknowledged: &[(String, i64)],
) -> anyhow::Result<InvariantReport> {
    let project = store
        .project(slug)
        .await?
        .with_context(|| format!("no project {slug:?}"))?;
    let keys: Vec<String> = acknowledged.iter().map(|(k, _)| k.clone()).collect();
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for (key, id) in store.judgments_by_key(&keys).await? {
        stored.entry(key).or_default().push(id);
    }
    let mut lost = Vec::new();
    let mut wrong_id = Vec::new();
    for (key, id) in acknowledged {
        match stored.get(key).map(Vec::as_slice) {
            None | Some([]) => lost.push(key.clone()),
            Some([found]) if found == id => {}
            Some(_) => wrong_id.push(key.clone()),
        }
    }
    let queue = store.queue_invariants(&project).await?;
    let ok = lost.is_empty() && wrong_id.is_empty() && queue == QueueInvariants::default();
    Ok(InvariantReport {
        acknowledged_checked: acknowledged.len(),
        lost,
        wrong_id,
        queue,
        ok,
    })
}

/// `relabel bench load`: runs, prints, and fails when a check does not hold.
pub async fn command(store: &SharedStore, args: LoadArgs) -> anyhow::Result<()> {
    let report = run(store, &args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if !report.invariants.ok {
        bail!("the database checks failed after the load (see above)");
    }
    Ok(())
}
