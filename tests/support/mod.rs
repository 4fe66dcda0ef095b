//! Test harness: a fresh database per test, on SQLite always and on PostgreSQL when
//! `TEST_DATABASE_URL` names a server (a new database is created on it per test).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

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

/// Creates a LORE-scale project.
pub async fn project(store: &SharedStore, slug: &str) -> Project {
    store
        .create_project(&NewProject {
            slug: slug.into(),
            name: format!("Project {slug}"),
            scale: ScalePreset::Lore4,
            overlap_k: 3,
            task: TaskKind::Judge,
        })
        .await
        .expect("create project")
}

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
