//! A load driver for the annotator API: N simulated annotators, each logging in once and
//! then looping next pair → think → submit at a fixed pace, for a set time. Reports
//! p50/p95/p99 latency per operation and the errors seen.
//!
//! ```text
//! cargo run --release -p relabel --example load -- \
//!     --url http://127.0.0.1:3000 --database-url sqlite://bench.db --project bench \
//!     --annotators 64 --pace-ms 2000 --seconds 60
//! ```
//!
//! The annotators (`load-annotator-N`) are created in the database if missing.

#![allow(
    clippy::unwrap_used,
    reason = "a load driver stops loudly on anything unexpected"
)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const PASSWORD: &str = "load driver password";

struct Args {
    url: String,
    database_url: String,
    project: String,
    annotators: usize,
    pace: Duration,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:3000".into(),
        database_url: "sqlite://relabel.db".into(),
        project: "bench".into(),
        annotators: 64,
        pace: Duration::from_millis(2000),
        seconds: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value,
            "--database-url" => a.database_url = value,
            "--project" => a.project = value,
            "--annotators" => a.annotators = value.parse().unwrap(),
            "--pace-ms" => a.pace = Duration::from_millis(value.parse().unwrap()),
            "--seconds" => a.seconds = value.parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

type Http = Client<HttpConnector, Body>;

async fn call(
    http: &Http,
    method: &str,
    url: String,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(url);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let request = match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = http.request(request).await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        cookie,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[derive(Default)]
struct Tally {
    next: Vec<Duration>,
    submit: Vec<Duration>,
    errors: Vec<String>,
    acknowledged: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let a = args();
    let store = relabel::storage::connect(&a.database_url).await.unwrap();
    let project = store
        .project(&a.project)
        .await
        .unwrap()
        .expect("no such project");
    let hash = relabel::auth::hash_password(PASSWORD).unwrap();
    for i in 0..a.annotators {
        let name = format!("load-annotator-{i}");
        let id = match store.user_by_name(&name).await.unwrap() {
            Some(u) => u.id,
            None => store.create_user(&name, &hash).await.unwrap(),
        };
        store
            .grant_role(id, Some(project.id), relabel::auth::Role::Annotator, None)
            .await
            .unwrap();
    }
    store.close().await;

    let started = Instant::now();
    // Keys must be unique across runs too: lease ids are not (SQLite reuses them).
    let run = relabel::domain::now_ms();
    let deadline = started + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for i in 0..a.annotators {
        // Each annotator connects from its own loopback address, as separate people do,
        // so the server's per-address login limit applies to each one separately.
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            127,
            0,
            1 + (i / 250) as u8,
            1 + (i % 250) as u8,
        ))));
        let http: Http = Client::builder(TokioExecutor::new()).build(connector);
        let url = a.url.clone();
        let slug = a.project.clone();
        let pace = a.pace;
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let (status, cookie, _) = call(
                &http,
                "POST",
                format!("{url}/api/v1/session"),
                None,
                Some(json!({"username": format!("load-annotator-{i}"), "password": PASSWORD})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "login failed");
            let cookie = cookie.unwrap();
            // Spread the annotators over one pace period, as people arrive.
            tokio::time::sleep(pace.mul_f64(i as f64 / 64.0 % 1.0)).await;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let cycle = Instant::now();
                let t = Instant::now();
                let (status, _, next) = call(
                    &http,
                    "POST",
                    format!("{url}/api/v1/projects/{slug}/next"),
                    Some(&cookie),
                    None,
                )
                .await;
                tally.next.push(t.elapsed());
                if status == StatusCode::NO_CONTENT {
                    break;
                }
                if status != StatusCode::OK {
                    tally.errors.push(format!("next {status}: {next}"));
                    continue;
                }
                // Think for most of the pace, then submit.
                tokio::time::sleep(pace.mul_f64(0.8)).await;
                n += 1;
                let body = json!({
                    "pair_id": next["pair"]["pair_id"], "lease_id": next["lease_id"], "label": "L3",
                    "rules": [{"id": "R-BRAND-01", "verdict": "applies"}], "duration_ms": 1600,
                    "idempotency_key": format!("load-{run}-{i}-{n}"),
                });
                let t = Instant::now();
                let (status, _, reply) = call(
                    &http,
                    "POST",
                    format!("{url}/api/v1/projects/{slug}/judgments"),
                    Some(&cookie),
                    Some(body),
                )
                .await;
                tally.submit.push(t.elapsed());
                if status == StatusCode::OK {
                    tally.acknowledged += 1;
                } else {
                    tally.errors.push(format!("submit {status}: {reply}"));
                }
                if let Some(rest) = pace.checked_sub(cycle.elapsed()) {
                    tokio::time::sleep(rest).await;
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.unwrap();
        all.next.extend(t.next);
        all.submit.extend(t.submit);
        all.errors.extend(t.errors);
        all.acknowledged += t.acknowledged;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.next.sort();
    all.submit.sort();
    println!(
        "annotators {} pace {} ms for {:.0} s: {} acknowledged judgments ({:.1}/s), {} errors",
        a.annotators,
        a.pace.as_millis(),
        elapsed,
        all.acknowledged,
        all.acknowledged as f64 / elapsed,
        all.errors.len()
    );
    for (name, samples) in [("next", &all.next), ("submit", &all.submit)] {
        println!(
            "{name:<7} n={:<6} p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            samples.len(),
            percentile(samples, 0.50),
            percentile(samples, 0.95),
            percentile(samples, 0.99),
            percentile(samples, 1.0)
        );
    }
    for e in all.errors.iter().take(5) {
        println!("error: {e}");
    }
}
