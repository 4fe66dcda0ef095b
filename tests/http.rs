//! The HTTP surface through `app(state)`: the server-rendered project list, the JSON
//! API and its error shape, the stylesheet and the server function.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relabel::web::{AppState, app};
use support::{TestDb, each_backend, project};
use tower::ServiceExt;

async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, String, String) {
    support::within_limit("a request", call_inner(state, request)).await
}

async fn call_inner(state: &AppState, request: Request<Body>) -> (StatusCode, String, String) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn state(db: &TestDb) -> AppState {
    AppState::new(db.store.clone(), std::path::Path::new("target/site"))
}

const PASSWORD: &str = "a long enough password";

/// Creates a site admin and logs in; the session cookie to send.
async fn admin_cookie(db: &TestDb, st: &AppState) -> String {
    let hash = relabel::auth::hash_password(PASSWORD).unwrap();
    let id = db.store.create_user("boss", &hash).await.unwrap();
    db.store
        .grant_role(id, None, relabel::auth::Role::Admin)
        .await
        .unwrap();
    support::login_cookie(st, "boss", PASSWORD).await
}

fn get_as(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_project_list_is_rendered_on_the_server_from_the_database() {
    each_backend(|db: TestDb| async move {
        project(&db.store, "running-shoes").await;
        project(&db.store, "headphones").await;
        let st = state(&db);
        let cookie = admin_cookie(&db, &st).await;
        let (status, content_type, html) = call(&st, get_as("/", &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        // Rows come from the database, in slug order, before any script runs.
        let a = html
            .find(r#"data-slug="headphones""#)
            .expect("headphones row");
        let b = html
            .find(r#"data-slug="running-shoes""#)
            .expect("running-shoes row");
        assert!(a < b, "rows out of order");
        assert!(html.contains("Showing 2 of 2 projects"), "{html}");
        // The page loads the wasm bundle that hydrates it, and the stylesheet.
        assert!(html.contains("/pkg/relabel.js"), "no hydration script");
        assert!(html.contains("/pkg/relabel_bg.wasm"), "no wasm preload");
        assert!(html.contains("/style/main.css"), "no stylesheet");
        db
    })
    .await;
}

#[tokio::test]
async fn anonymous_visitors_are_asked_to_log_in_and_see_no_projects() {
    let db = TestDb::sqlite().await;
    project(&db.store, "secret-project").await;
    let (status, _, html) = call(&state(&db), get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("to see your projects"), "{html}");
    assert!(html.contains(r#"href="/login""#));
    assert!(
        !html.contains("secret-project"),
        "a project leaked to an anonymous visitor"
    );
    let (status, _, html) = call(&state(&db), get("/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"type="password""#), "{html}");
    db.finish().await;
}

#[tokio::test]
async fn an_empty_installation_says_how_to_start() {
    let db = TestDb::sqlite().await;
    let st = state(&db);
    let cookie = admin_cookie(&db, &st).await;
    let (status, _, html) = call(&st, get_as("/", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No projects yet"), "{html}");
    assert!(html.contains("relabel demo"));
    db.finish().await;
}

#[tokio::test]
async fn project_names_are_escaped_not_rendered_as_html() {
    let db = TestDb::sqlite().await;
    db.store
        .create_project(&relabel::domain::NewProject {
            slug: "xss".into(),
            name: "<script>alert(1)</script>".into(),
            scale: relabel::domain::ScalePreset::Lore4,
            overlap_k: 3,
            task: relabel::domain::TaskKind::Judge,
        })
        .await
        .unwrap();
    let st = state(&db);
    let cookie = admin_cookie(&db, &st).await;
    let (_, _, html) = call(&st, get_as("/", &cookie)).await;
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "name rendered as HTML"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    db.finish().await;
}

#[tokio::test]
async fn the_api_answers_health_and_errors_have_one_shape() {
    each_backend(|db: TestDb| async move {
        let st = state(&db);
        let (status, content_type, body) = call(&st, get("/api/v1/health")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("application/json"));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["backend"], db.name);

        let (status, _, body) = call(&st, get("/api/v1/nothing-here")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "not_found");
        assert!(json["error"]["message"].is_string());
        db
    })
    .await;
}

#[tokio::test]
async fn the_server_function_answers_posts_from_logged_in_users_only() {
    let db = TestDb::sqlite().await;
    project(&db.store, "shoes").await;
    let st = state(&db);
    let post = |cookie: Option<&str>| {
        let mut request = Request::post("/rpc/projects/list")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            request = request.header(header::COOKIE, c);
        }
        request.body(Body::empty()).unwrap()
    };
    let (status, _, body) = call(&st, post(None)).await;
    assert_ne!(status, StatusCode::OK, "anonymous call answered: {body}");
    assert!(body.contains("Unauthorized"), "{body}");
    let cookie = admin_cookie(&db, &st).await;
    let (status, _, body) = call(&st, post(Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json[0]["slug"], "shoes");
    let (status, _, _) = call(&st, get_as("/rpc/projects/list", &cookie)).await;
    assert_ne!(status, StatusCode::OK, "a GET reached the server function");
    db.finish().await;
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page_with_a_way_back() {
    let db = TestDb::sqlite().await;
    let (status, content_type, html) = call(&state(&db), get("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains(r#"href="/""#));
    db.finish().await;
}

#[tokio::test]
async fn the_stylesheet_is_served() {
    let db = TestDb::sqlite().await;
    let (status, content_type, css) = call(&state(&db), get("/style/main.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/css"));
    assert!(css.contains("--accent"), "not the relabel stylesheet");
    db.finish().await;
}
