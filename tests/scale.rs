//! Several servers on one database: the load harness (`relabel bench load`) against two
//! `relabel serve` processes at once, one killed mid-load; graceful shutdown; and
//! `/metrics` scraped from a served binary.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

use std::time::Duration;

use relabel::load::{LoadArgs, LoadReport};
use support::{Served, TestDb};

fn load_args(urls: Vec<String>, annotators: u32, pace_ms: u64, seconds: u64) -> LoadArgs {
    LoadArgs {
        urls,
        project: relabel::demo_project::DEMO_SLUG.into(),
        annotators,
        pace_ms,
        seconds,
        json: false,
    }
}

/// The judgments stored after `since` (epoch ms), on PostgreSQL.
async fn judgments_since(db: &TestDb, since: i64) -> i64 {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM judgments WHERE created_at > $1")
        .bind(since)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

fn assert_held(report: &LoadReport) {
    assert!(report.invariants.ok, "{report}");
    assert!(report.acknowledged > 0, "{report}");
    assert_eq!(report.invariants.acknowledged_checked, report.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_postgresql_and_a_killed_one_loses_nothing() {
    let Some(db) = TestDb::postgres().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the multi-server test: set TEST_DATABASE_URL"
        );
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    relabel::demo_project::install(db.store.as_ref(), 11)
        .await
        .unwrap();
    let a = Served::start(&db.url, &[]);
    let mut b = Served::start(&db.url, &[]);

    // Both servers take every request in turn: sessions, leases and the queue live in
    // the database. Halfway through, server b is killed outright.
    let args = load_args(vec![a.url(), b.url()], 12, 150, 8);
    let store = db.store.clone();
    let load = tokio::spawn(async move { relabel::load::run(&store, &args).await.unwrap() });
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let killed_at = relabel::domain::now_ms();
    let report = support::within_limit("the load", load).await.unwrap();
    println!("{report}");
    assert_held(&report);
    assert_eq!(report.errors, 0, "every request found a server: {report}");
    assert!(
        report.failovers > 0,
        "requests meant for b moved to a: {report}"
    );
    assert!(
        judgments_since(&db, killed_at).await > 0,
        "server a kept storing judgments after b was killed"
    );

    // a's metrics, scraped from this machine (loopback needs no token).
    let answer = a.get("/metrics", "");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for series in [
        r#"relabel_http_request_duration_seconds_bucket{le="0.016",method="POST",route="/api/v1/projects/{slug}/judgments",status="200"}"#,
        r#"relabel_http_request_duration_seconds_count{method="POST",route="/api/v1/projects/{slug}/next",status="200"}"#,
        r#"relabel_judgments_total{project="demo"}"#,
        r#"relabel_queue_pairs{project="demo",band="#,
        r#"relabel_scorer_runs{project="demo"}"#,
    ] {
        assert!(answer.contains(series), "{series} missing from\n{answer}");
    }
    drop(a);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_server_finishes_its_submits_and_exits_cleanly() {
    let db = TestDb::sqlite().await;
    let url = db.url.clone();
    relabel::demo_project::install(db.store.as_ref(), 11)
        .await
        .unwrap();
    let mut server = Served::start(&url, &[]);
    // As fast as the server answers, so submits are in flight when the signal comes.
    let args = load_args(vec![server.url()], 6, 0, 4);
    let store = db.store.clone();
    let load = tokio::spawn(async move { relabel::load::run(&store, &args).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let exited = support::within_limit("the shutdown", async {
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(exited.success(), "a graceful exit: {exited}");
    let report = support::within_limit("the load", load).await.unwrap();
    println!("{report}");
    // Requests after the signal find no server; every submit it acknowledged is stored.
    assert_held(&report);
    drop(server);
    db.finish().await;
}

/// Crash cycles per backend: 25 unless `RELABEL_CRASH_CYCLES` says otherwise.
fn crash_cycles() -> usize {
    std::env::var("RELABEL_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
}

/// A project `crash` (k = 2) of `n` judge-only pairs.
async fn crash_project(db: &TestDb, n: usize) {
    use relabel::domain::{NewProject, PairRecord, ScalePreset, TaskKind};
    let project = db
        .store
        .create_project(&NewProject {
            slug: "crash".into(),
            name: "crash".into(),
            scale: ScalePreset::Lore4,
            overlap_k: 2,
            task: TaskKind::Judge,
        })
        .await
        .unwrap();
    let records: Vec<PairRecord> = (0..n)
        .map(|i| PairRecord {
            query_frequency: Some(1 + (i / 4) as i64),
            ..PairRecord::new(
                format!("query {}", i / 4),
                format!("item-{i}"),
                format!("Item {i}"),
            )
        })
        .collect();
    relabel::import::import_records(db.store.as_ref(), &project, &records, "crash test")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_at_random_loses_no_acknowledged_judgment() {
    let cycles = crash_cycles();
    support::each_backend(|db: TestDb| async move {
        use rand::Rng;
        crash_project(&db, 4_000).await;
        let mut acknowledged: Vec<(String, i64)> = Vec::new();
        let mut killed_mid_submit = 0;
        for cycle in 0..cycles {
            let mut server = Served::start(&db.url, &[]);
            // 10 submitters as fast as the server answers, killed with SIGKILL at a
            // random moment of the run.
            let mut args = load_args(vec![server.url()], 10, 0, 3);
            args.project = "crash".into();
            let store = db.store.clone();
            let load =
                tokio::spawn(async move { relabel::load::run(&store, &args).await.unwrap() });
            let at = rand::rng().random_range(500..2_500);
            tokio::time::sleep(Duration::from_millis(at)).await;
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            let report = support::within_limit("a crash cycle", load).await.unwrap();
            assert!(
                report.invariants.ok,
                "{} cycle {cycle}, killed at {at} ms: {report}",
                db.name
            );
            killed_mid_submit += usize::from(report.errors > 0);
            acknowledged.extend(report.acknowledged_keys);
        }
        // Every judgment acknowledged in any cycle is still stored once, under its id,
        // after all the restarts.
        let all = relabel::load::check(&db.store, "crash", &acknowledged)
            .await
            .unwrap();
        assert!(all.ok, "{}: {all:?}", db.name);
        assert!(acknowledged.len() > cycles, "{}: the load ran", db.name);
        if db.name == "sqlite" {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(verdict, "ok");
        }
        println!(
            "{}: {cycles} crash cycles survived (in {killed_mid_submit} the clients saw the \
             server die mid-run), {} acknowledged judgments, 0 lost",
            db.name,
            acknowledged.len()
        );
        db
    })
    .await;
}
