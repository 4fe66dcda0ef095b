//! Test harness: a fresh database per test, on SQLite always and on PostgreSQL when
//! `TEST_DATABASE_URL` names a server (a new database is created on it per test).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use relabel::domain::{NewProject, Project, ScalePreset, TaskKind};
use relabel::storage::{self, SharedStore};
use sqlx::Connection;

/// One fresh database for one test.
pub struct TestDb {
    /// The store on it.
    pub store: SharedStore,
    /// Its URL, for running the CLI against it.
    pub url: String,
    /// Which backend, for assertion messages.
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite file in a temporary folder.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("relabel.db").display());
        let store = storage::connect(&url).await.expect("open sqlite");
        TestDb {
            store,
            url,
            name: "sqlite",
            _dir: Some(dir),
            drop_pg: None,
        }
    }

    /// A new database on the PostgreSQL server of `TEST_DATABASE_URL`, if set.
    pub async fn postgres() -> Option<TestDb> {
        let admin = std::env::var("TEST_DATABASE_URL").ok()?;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "relabel_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let store = storage::connect(&url).await.expect("open postgres");
        Some(TestDb {
            store,
            url,
            name: "postgres",
            _dir: None,
            drop_pg: Some((admin, name)),
        })
    }

    /// Closes the store and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.drop_pg
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// How long one backend's run of a test may take before it counts as hung.
const HANG: std::time::Duration = std::time::Duration::from_secs(180);

/// Awaits `fut`, failing the test if it takes longer than [`HANG`]: a hang must fail
/// CI quickly, not hold it until its time limit.
pub async fn within_limit<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {} s", HANG.as_secs()),
    }
}

/// Prints a figure that docs/RELIABILITY.md quotes (crash cycles survived, model cases,
/// requests fuzzed). Test output is captured unless a test fails, so when
/// `RELABEL_FIGURES` names a file the line is appended there too; `scripts/dev test`
/// prints that file when the suite passes, and CI's log carries the figures.
pub fn figure(line: impl std::fmt::Display) {
    println!("{line}");
    if let Some(path) = std::env::var_os("RELABEL_FIGURES") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("RELABEL_FIGURES {}: {e}", path.display()));
        writeln!(file, "{line}").unwrap();
    }
}

/// Runs `test` on a fresh SQLite database, then on a fresh PostgreSQL one when configured.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let db = within_limit("the test on SQLite", test(TestDb::sqlite().await)).await;
    db.finish().await;
    if let Some(pg) = TestDb::postgres().await {
        let db = within_limit("the test on PostgreSQL", test(pg)).await;
        db.finish().await;
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must run the suite on PostgreSQL too: set TEST_DATABASE_URL");
    }
}

/// [`each_backend`], with both backends' runs at the same time: for a test that spends
/// most of its time waiting on the wall clock (a lease's minute to expire), so the suite
/// waits once, not once a backend. The runs share nothing but the machine.
pub async fn both_backends_at_once<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let sqlite = async { within_limit("the test on SQLite", test(TestDb::sqlite().await)).await };
    let postgres = async {
        match TestDb::postgres().await {
            Some(pg) => Some(within_limit("the test on PostgreSQL", test(pg)).await),
            None => None,
        }
    };
    let (sqlite, postgres) = tokio::join!(sqlite, postgres);
    sqlite.finish().await;
    if let Some(db) = postgres {
        db.finish().await;
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must run the suite on PostgreSQL too: set TEST_DATABASE_URL");
    }
}

/// Creates a LORE-scale project.
pub async fn project(store: &SharedStore, slug: &str) -> Project {
    store
        .create_project(
            &NewProject {
                slug: slug.into(),
                name: format!("Project {slug}"),
                scale: ScalePreset::Lore4,
                overlap_k: 3,
                task: TaskKind::Judge,
            },
            relabel::domain::now_ms(),
        )
        .await
        .expect("create project")
}

/// A checksum of what a project holds: its counts, and every pair with its query, item,
/// candidates, gold label, tags, judgments and decision. Equal before and after means a
/// refused import changed nothing.
pub async fn project_checksum(store: &SharedStore, project: &Project) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    format!("{:?}", store.stats(project).await.expect("stats")).hash(&mut hasher);
    let mut after = 0;
    loop {
        let page = store
            .export_page(project, after, 500)
            .await
            .expect("a page of pairs");
        let Some(last) = page.last() else { break };
        after = last.pair_id;
        format!("{page:?}").hash(&mut hasher);
    }
    hasher.finish()
}

/// Every bad fixture, the line and the field its first error must name.
pub const BAD_FILES: &[(&str, u64, &str)] = &[
    ("bad-json.jsonl", 2, "line"),
    ("missing-title.jsonl", 2, "item.title"),
    ("wrong-type-price.jsonl", 1, "item.price"),
    ("unknown-label.jsonl", 2, "gold_label"),
    ("cot-bad-label.jsonl", 1, "cot[1].label"),
    ("negative-frequency.jsonl", 1, "query_frequency"),
    ("too-many-cot.jsonl", 1, "cot"),
    ("localhost-image.jsonl", 1, "item.images[0]"),
    ("file-path-image.jsonl", 1, "item.images[0]"),
    ("conflicting-item.jsonl", 3, "item"),
    ("conflicting-frequency.jsonl", 2, "query_frequency"),
    ("unknown-field.jsonl", 1, "qeury"),
    ("empty-query.jsonl", 1, "query"),
    ("nul-in-title.jsonl", 1, "item.title"),
    ("empty.jsonl", 1, "file"),
    ("duplicate-pair-different.jsonl", 2, "item.id"),
    ("trailing-garbage.jsonl", 1, "line"),
    ("deep-nesting.jsonl", 1, "tags[0]"),
    ("not-an-object.jsonl", 2, "line"),
    ("task-unknown.jsonl", 1, "task"),
    ("task-rank-one-candidate.jsonl", 2, "task"),
    ("bad-utf8.jsonl", 3, "line"),
    ("csv-unknown-column.csv", 1, "header column 3"),
    ("csv-missing-column.csv", 1, "header"),
    ("csv-field-count.csv", 3, "row"),
    ("csv-bad-price.csv", 3, "item_price"),
    ("csv-bad-attributes.csv", 2, "item_attributes"),
    ("csv-bad-label.csv", 2, "gold_label"),
    ("csv-bad-utf8.csv", 3, "item_title"),
    ("bom.jsonl", 2, "line"),
    ("wrong-type-query.jsonl", 2, "query"),
    ("wrong-type-tags.jsonl", 1, "tags"),
    ("missing-item.jsonl", 2, "item"),
    ("missing-query.jsonl", 1, "query"),
    ("cot-missing-text.jsonl", 1, "cot[0].text"),
    ("gold-label-wrong-type.jsonl", 1, "gold_label"),
    ("metadata-ip-image.jsonl", 1, "item.images[0]"),
    ("ftp-image.jsonl", 1, "item.images[0]"),
    ("private-ip-image.jsonl", 1, "item.images[0]"),
    ("huge-frequency.jsonl", 1, "query_frequency"),
    ("nul-in-query.jsonl", 1, "query"),
    ("negative-price.jsonl", 1, "item.price"),
    ("csv-unterminated-quote.csv", 3, "row"),
    ("csv-duplicate-different.csv", 3, "item"),
    ("csv-negative-frequency.csv", 2, "query_frequency"),
];

/// The repository's `tests/fixtures` folder.
pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Logs `name` in through `POST /api/v1/session`; the session cookie to send back.
pub async fn login_cookie(state: &relabel::web::AppState, name: &str, password: &str) -> String {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;
    let request = Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({ "username": name, "password": password }).to_string(),
        ))
        .expect("login request");
    let response = relabel::web::app(state.clone())
        .oneshot(request)
        .await
        .expect("login response");
    assert_eq!(response.status(), StatusCode::OK, "login {name}");
    response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie text")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_owned()
}

/// A `relabel serve` process on a free loopback port, killed when dropped.
pub struct Served {
    /// The process.
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Its log lines from before it said where it serves.
    pub before: Vec<String>,
    /// Its log lines from then on.
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Served {
    /// Starts the binary on `database_url` (without the scorer's weights) with `envs`,
    /// and waits until it says where it serves.
    pub fn start(database_url: &str, envs: &[(&str, &str)]) -> Served {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_relabel"));
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("RELABEL_MODEL_DIR", "/nonexistent/relabel-test-no-model")
            .env("RELABEL_LOG", "info")
            .stderr(std::process::Stdio::piped());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start relabel serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut before = Vec::new();
        let addr = loop {
            let Ok(line) = lines.recv_timeout(std::time::Duration::from_secs(60)) else {
                let _ = child.kill();
                panic!("the server did not start: {before:#?}");
            };
            if let Some(rest) = line.split("serving on http://").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .expect("an address")
                    .to_owned();
            }
            before.push(line);
        };
        Served {
            child,
            addr,
            before,
            lines,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A plain HTTP/1.1 GET from this machine: the whole answer, head and body.
    pub fn get(&self, path: &str, headers: &str) -> String {
        self.send("GET", path, headers, "")
    }

    /// A plain HTTP/1.1 request from this machine, with a JSON `body` unless it is
    /// empty: the whole answer, head and body.
    pub fn send(&self, method: &str, path: &str, headers: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        let content = if body.is_empty() {
            String::new()
        } else {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        };
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: relabel\r\n{headers}{content}Connection: close\r\n\r\n{body}"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    }

    /// Logs `name` in over HTTP; the session cookie (`relabel_session=...`).
    pub fn log_in(&self, name: &str, password: &str) -> String {
        let body = serde_json::json!({ "username": name, "password": password }).to_string();
        let answer = self.send("POST", "/api/v1/session", "", &body);
        answer
            .lines()
            .find_map(|l| {
                let (key, value) = l.split_once(':')?;
                key.eq_ignore_ascii_case("set-cookie").then(|| {
                    value
                        .trim()
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
            })
            .unwrap_or_else(|| panic!("no session cookie for {name}: {answer}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
