//! Several servers on one database: the load harness (`relabel bench load`) against two
//! `relabel serve` processes at once, one killed mid-load; graceful shutdown; and
//! `/metrics` scraped from a served binary.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

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
        sql(
            &db,
            &format!("SELECT COUNT(*) FROM judgments WHERE created_at > {killed_at}")
        )
        .await
            > 0,
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

/// A project `crash` (k = 2) of `n` judge-only pairs; the project as created.
async fn crash_project(db: &TestDb, n: usize) -> relabel::domain::Project {
    use relabel::domain::{NewProject, PairRecord, ScalePreset, TaskKind};
    let project = db
        .store
        .create_project(
            &NewProject {
                slug: "crash".into(),
                name: "crash".into(),
                scale: ScalePreset::Lore4,
                overlap_k: 2,
                task: TaskKind::Judge,
            },
            relabel::domain::now_ms(),
        )
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
    project
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
        support::figure(format!(
            "{}: {cycles} crash cycles survived (in {killed_mid_submit} the clients saw the \
             server die mid-run), {} acknowledged judgments, 0 lost",
            db.name,
            acknowledged.len()
        ));
        db
    })
    .await;
}

/// One number from the test database, straight from SQL (what the store's API does not
/// show: a lease's end, the write-ahead log's position).
async fn sql(db: &TestDb, query: &str) -> i64 {
    use sqlx::Connection;
    if db.name == "sqlite" {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_held_by_a_killed_servers_clients_come_back_once_they_expire() {
    // A minute is waited out for real on each backend: both wait at once.
    support::both_backends_at_once(|db: TestDb| async move {
        use rand::Rng;
        let project = crash_project(&db, 60).await;
        // The shortest lease a project allows, waited out for real below.
        let mut settings = relabel::domain::ProjectSettings::of(&project);
        settings.lease_seconds = 60;
        let project = db
            .store
            .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
            .await
            .unwrap();
        // Annotators who think for 400 ms of every 500 hold a lease most of the time:
        // killing the server strands those leases with no client left to submit them.
        let server = Served::start(&db.url, &[]);
        let mut args = load_args(vec![server.url()], 10, 500, 4);
        args.project = "crash".into();
        let store = db.store.clone();
        let first = args.clone();
        let load = tokio::spawn(async move { relabel::load::run(&store, &first).await.unwrap() });
        let at = rand::rng().random_range(800..2_000);
        tokio::time::sleep(Duration::from_millis(at)).await;
        drop(server);
        let report = support::within_limit("the first load", load).await.unwrap();
        assert!(report.invariants.ok, "{}: {report}", db.name);
        let now = relabel::domain::now_ms();
        let stranded = sql(
            &db,
            &format!("SELECT COUNT(*) FROM leases WHERE expires_at > {now}"),
        )
        .await;
        assert!(stranded > 0, "{}: the kill stranded no lease", db.name);

        // The leases' minute passes on the clock: nothing in the database is moved.
        let last = sql(&db, "SELECT MAX(expires_at) FROM leases").await;
        assert!(last - now <= 60_000, "{}: leases of a minute", db.name);
        let waited = Duration::from_millis(u64::try_from(last - now).unwrap() + 100);
        tokio::time::sleep(waited).await;
        let server = Served::start(&db.url, &[]);
        args.urls = vec![server.url()];
        args.pace_ms = 0;
        args.seconds = 60;
        let report = support::within_limit("the second load", relabel::load::run(&db.store, &args))
            .await
            .unwrap();
        assert!(report.invariants.ok, "{}: {report}", db.name);
        assert_eq!(report.queue_emptied, 10, "{}: {report}", db.name);
        // Every pair got its k judgments: none stayed blocked by a dead client's lease.
        for depth in db.store.queue_depth(&project).await.unwrap() {
            assert_eq!(
                depth.complete, depth.pairs,
                "{}: band {:?}",
                db.name, depth.band
            );
        }
        support::figure(format!(
            "{}: {stranded} leases stranded by the kill at {at} ms came back after a wait of \
             {:.1} s",
            db.name,
            waited.as_secs_f64()
        ));
        drop(server);
        db
    })
    .await;
}

/// Where the database's write-ahead log stands now: PostgreSQL's WAL position (SQLite's
/// log file starts empty at each checkpoint, so its size needs no mark).
async fn log_mark(db: &TestDb) -> String {
    if db.name == "sqlite" {
        return String::new();
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Bytes written to the write-ahead log since `mark`: how far an open transaction has
/// got, though nothing of it is visible to readers.
async fn log_bytes_since(db: &TestDb, mark: &str) -> i64 {
    if db.name == "sqlite" {
        let path = format!("{}-wal", db.url.trim_start_matches("sqlite://"));
        return std::fs::metadata(path).map_or(0, |m| i64::try_from(m.len()).unwrap());
    }
    sql(
        db,
        &format!("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{mark}')::bigint"),
    )
    .await
}

/// Writes `n` distinct pair lines, each with a CoT candidate.
fn write_big_import(path: &std::path::Path, n: usize) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(
            out,
            r#"{{"query": "query {}", "query_frequency": {}, "item": {{"id": "sku-{i}", "title": "Item {i} in blue", "category": ["Shoes", "Running"]}}, "cot": [{{"model": "m", "text": "step one\nstep two", "label": "L3"}}], "tags": ["attribute"]}}"#,
            i / 5,
            1 + i / 5
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_midway_leaves_all_of_it_or_none() {
    const LINES: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.jsonl");
    write_big_import(&file, LINES);
    support::each_backend(|db: TestDb| {
        let file = file.clone();
        async move {
            use rand::Rng;
            let project = crash_project(&db, 10).await;
            let before = db.store.stats(&project).await.unwrap();
            let checksum = support::project_checksum(&db.store, &project).await;
            let mark = log_mark(&db).await;
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relabel"))
                .args(["import", "pairs", "--project", "crash"])
                .arg(&file)
                .env("DATABASE_URL", &db.url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Killed once the import's transaction has written 4 MB to the database's
            // log, then at a random moment of the next second.
            let started = std::time::Instant::now();
            while log_bytes_since(&db, &mark).await < 4 << 20 {
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "{}: the import ended before writing 4 MB",
                    db.name
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..1_000))).await;
            let at = started.elapsed().as_millis();
            let finished = child.try_wait().unwrap().is_some();
            child.kill().unwrap();
            child.wait().unwrap();
            assert!(!finished, "{}: the import ended within {at} ms", db.name);

            // Nothing of the file is in: the whole import was one transaction.
            assert_eq!(
                support::project_checksum(&db.store, &project).await,
                checksum,
                "{}",
                db.name
            );
            if db.name == "sqlite" {
                let mut conn =
                    <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
                        .await
                        .unwrap();
                let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(verdict, "ok");
            }
            // And the same file imports whole afterwards.
            let done = std::process::Command::new(env!("CARGO_BIN_EXE_relabel"))
                .args(["import", "pairs", "--project", "crash"])
                .arg(&file)
                .env("DATABASE_URL", &db.url)
                .output()
                .unwrap();
            assert!(done.status.success(), "{}: {done:?}", db.name);
            let after = db.store.stats(&project).await.unwrap();
            assert_eq!(
                after.pairs,
                before.pairs + LINES as i64,
                "{}: all of it after a retry",
                db.name
            );
            support::figure(format!(
                "{}: an import of {LINES} lines killed at {at} ms left nothing; the retry stored all",
                db.name
            ));
            db
        }
    })
    .await;
}

/// One password guess at `addr` from 127.0.0.2 (another client than the annotators'
/// 127.0.0.1): the answer's status code.
async fn guess(addr: std::net::SocketAddr, n: u32) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.2:0".parse().map_err(std::io::Error::other)?)?;
    let mut stream = socket.connect(addr).await?;
    // Real accounts and made-up ones alike.
    let body = format!(
        r#"{{"username": "{}", "password": "guess {n}"}}"#,
        ["admin", "load-annotator-0", "nobody", "root"][n as usize % 4]
    );
    let request = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: relabel\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {answer:?}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_refused_with_429_while_other_annotators_keep_submitting() {
    support::each_backend(|db: TestDb| async move {
        crash_project(&db, 4_000).await;
        let server = Served::start(&db.url, &[]);
        let addr: std::net::SocketAddr = server.addr.parse().unwrap();
        let mut args = load_args(vec![server.url()], 4, 200, 5);
        args.project = "crash".into();
        let quiet = relabel::load::run(&db.store, &args).await.unwrap();
        assert!(quiet.invariants.ok && quiet.errors == 0, "{quiet}");

        // Four clients at another address guess passwords as fast as the server answers, for
        // as long as the annotators work.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flood: Vec<_> = (0..4u32)
            .map(|t| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut answers = std::collections::BTreeMap::<u16, u32>::new();
                    let mut n = t;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        n += 4;
                        let status = guess(addr, n).await.unwrap();
                        *answers.entry(status).or_default() += 1;
                    }
                    answers
                })
            })
            .collect();
        let busy = relabel::load::run(&db.store, &args).await.unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut answers = std::collections::BTreeMap::<u16, u32>::new();
        for task in flood {
            for (status, n) in task.await.unwrap() {
                *answers.entry(status).or_default() += n;
            }
        }
        println!("quiet: {quiet}\nduring the flood: {busy}\nflood answers: {answers:?}");
        let attempts: u32 = answers.values().sum();
        let limited = answers.get(&429).copied().unwrap_or(0);
        support::figure(format!(
            "{}: login flood of {attempts} guesses in {} s, {limited} answered 429; submits p50 \
             {:.1} ms, p99 {:.1} ms (without the flood {:.1} ms, {:.1} ms)",
            db.name,
            args.seconds,
            busy.submit.p50_ms,
            busy.submit.p99_ms,
            quiet.submit.p50_ms,
            quiet.submit.p99_ms
        ));
        // Past the address's limit (30 a minute) every guess is refused before any password
        // is checked.
        assert!(limited + 30 >= attempts, "{answers:?}");
        assert!(attempts > 100, "the flood ran: {answers:?}");
        // The annotators, at their own address, logged in and worked throughout.
        assert!(busy.invariants.ok && busy.errors == 0, "{busy}");
        // Their submits keep their pace: the median stays within a few times the quiet one
        // (the flood shares the 2 cores) and the 99th percentile under the 250 ms budget.
        assert!(
            busy.submit.p50_ms <= 4.0 * quiet.submit.p50_ms + 20.0 && busy.submit.p99_ms < 250.0,
            "submits slowed: quiet {:?}, during the flood {:?}",
            quiet.submit,
            busy.submit
        );
        drop(server);
        db
    })
    .await;
}
