//! The annotator's JSON API over HTTP semantics: login and sessions, role and project
//! checks, next / submit / skip, cross-origin refusal, rate limits, the OpenAPI document.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relabel::auth::{Role, hash_password};
use relabel::domain::{CotRecord, ItemRecord, PairRecord};
use relabel::import::import_records;
use relabel::web::{AppState, app};
use serde_json::{Value, json};
use support::{TestDb, each_backend, project};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

struct Reply {
    status: StatusCode,
    cookie: Option<String>,
    set_cookie: Option<String>,
    json: Value,
}

async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> Reply {
    support::within_limit("a request", send_inner(state, method, uri, cookie, body)).await
}

async fn send_inner(
    state: &AppState,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
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
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookie = set_cookie
        .as_deref()
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        cookie,
        set_cookie,
        json,
    }
}

async fn login(state: &AppState, name: &str) -> String {
    support::login_cookie(state, name, PASSWORD).await
}

/// A project "shop" with 4 pairs, annotator "ana" in it, reviewer "rev", and "other"
/// who annotates another project.
async fn setup(db: &TestDb) -> AppState {
    let store = &db.store;
    let shop = project(store, "shop").await;
    let elsewhere = project(store, "elsewhere").await;
    let records: Vec<PairRecord> = (0..4)
        .map(|i| PairRecord {
            query: format!("query {i}"),
            query_frequency: Some(10),
            item: ItemRecord {
                id: format!("sku-{i}"),
                title: format!("<b>Item</b> {i}"),
                category: vec!["Shoes".into()],
                attributes: [("brand".to_owned(), "Acme".to_owned())].into(),
                price: Some(9.5),
                images: vec![],
                description: None,
            },
            cot: vec![CotRecord {
                model: "secret-model".into(),
                text: "a\nb".into(),
                steps: vec!["a".into(), "b".into()],
                label: Some("L3".into()),
            }],
            gold_label: (i == 0).then(|| "L4".to_owned()),
            tags: vec![],
        })
        .collect();
    import_records(store.as_ref(), &shop, &records, "test")
        .await
        .unwrap();
    let hash = hash_password(PASSWORD).unwrap();
    for (name, project_id, role) in [
        ("ana", Some(shop.id), Role::Annotator),
        ("rev", Some(shop.id), Role::Reviewer),
        ("other", Some(elsewhere.id), Role::Annotator),
    ] {
        let id = store.create_user(name, &hash).await.unwrap();
        store.grant_role(id, project_id, role, None).await.unwrap();
    }
    AppState::new(store.clone(), std::path::Path::new("target/site"))
}

#[tokio::test]
async fn an_annotator_logs_in_takes_judges_replays_skips_revises_and_logs_out() {
    each_backend(|db: TestDb| async move {
        let state = setup(&db).await;
        let anonymous = send(&state, "POST", "/api/v1/projects/shop/next", None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.json["error"]["code"], "unauthorized");

        let reply = send(
            &state,
            "POST",
            "/api/v1/session",
            None,
            Some(json!({ "username": "ana", "password": PASSWORD })),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        let set_cookie = reply.set_cookie.unwrap();
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        assert_eq!(reply.json["username"], "ana");
        let cookie = reply.cookie.unwrap();

        let next = send(&state, "POST", "/api/v1/projects/shop/next", Some(&cookie), None).await;
        assert_eq!(next.status, StatusCode::OK, "{}", next.json);
        let pair = &next.json["pair"];
        // Item text arrives as text; escaping it is the page's job.
        assert!(pair["item"]["title"].as_str().unwrap().starts_with("<b>Item</b> "));
        assert_eq!(pair["item"]["attributes"], json!([["brand", "Acme"]]));
        assert_eq!(pair["cot"][0]["steps"], json!(["a", "b"]));
        assert!(!next.json.to_string().contains("secret-model"), "the model is named");
        assert!(!next.json.to_string().contains("gold"), "gold is revealed");
        let pair_id = pair["pair_id"].as_i64().unwrap();
        let submit = json!({
            "pair_id": pair_id, "lease_id": next.json["lease_id"], "label": "L3",
            "rules": [{"id": "R-BRAND-01", "verdict": "applies"}],
            "rationale": "same brand", "duration_ms": 3100, "idempotency_key": "ana-1"
        });
        let first = send(&state, "POST", "/api/v1/projects/shop/judgments", Some(&cookie), Some(submit.clone())).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.json);
        assert_eq!(first.json["replayed"], false);
        let again = send(&state, "POST", "/api/v1/projects/shop/judgments", Some(&cookie), Some(submit)).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json["replayed"], true);
        assert_eq!(again.json["judgment_id"], first.json["judgment_id"]);

        let bad = send(
            &state,
            "POST",
            "/api/v1/projects/shop/judgments",
            Some(&cookie),
            Some(json!({ "pair_id": pair_id, "label": "L9", "idempotency_key": "ana-x" })),
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.json["error"]["message"].as_str().unwrap().contains("L9"));

        let revise = send(
            &state,
            "POST",
            "/api/v1/projects/shop/judgments",
            Some(&cookie),
            Some(json!({ "pair_id": pair_id, "label": "L2", "idempotency_key": "ana-2", "revise": true })),
        )
        .await;
        assert_eq!(revise.status, StatusCode::OK, "{}", revise.json);
        assert_eq!(revise.json["revision"], 2);

        let next = send(&state, "POST", "/api/v1/projects/shop/next", Some(&cookie), None).await;
        let skipped = next.json["pair"]["pair_id"].as_i64().unwrap();
        assert_ne!(skipped, pair_id);
        let skip = send(
            &state,
            "POST",
            "/api/v1/projects/shop/skips",
            Some(&cookie),
            Some(json!({ "pair_id": skipped, "reason": "cannot tell" })),
        )
        .await;
        assert_eq!(skip.status, StatusCode::NO_CONTENT);

        let rows = db.store.judgments(&db.store.project("shop").await.unwrap().unwrap()).await.unwrap();
        assert_eq!(rows.len(), 2, "{}", db.name);

        let out = send(&state, "DELETE", "/api/v1/session", Some(&cookie), None).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        let after = send(&state, "GET", "/api/v1/session", Some(&cookie), None).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        db
    })
    .await;
}

#[tokio::test]
async fn roles_and_projects_are_checked_on_every_annotator_route() {
    each_backend(|db: TestDb| async move {
        let state = setup(&db).await;
        let other = login(&state, "other").await;
        let rev = login(&state, "rev").await;
        for (cookie, who) in [(&other, "annotator of another project"), (&rev, "reviewer")] {
            for (uri, body) in [
                ("/api/v1/projects/shop/next", None),
                (
                    "/api/v1/projects/shop/judgments",
                    Some(json!({"pair_id": 1, "label": "L1", "idempotency_key": "k"})),
                ),
                ("/api/v1/projects/shop/skips", Some(json!({"pair_id": 1}))),
                ("/api/v1/projects/nonexistent/next", None),
            ] {
                let reply = send(&state, "POST", uri, Some(cookie), body).await;
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{}: {who} on {uri}",
                    db.name
                );
                assert_eq!(reply.json["error"]["code"], "forbidden");
            }
        }
        // Each sees only their own projects.
        let list = send(&state, "GET", "/api/v1/projects", Some(&other), None).await;
        let slugs: Vec<&str> = list.json["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["elsewhere"], "{}", db.name);
        let anonymous = send(&state, "GET", "/api/v1/projects", None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        // Taking a pair changes state: it is never a GET.
        let get = send(
            &state,
            "GET",
            "/api/v1/projects/shop/next",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
        db
    })
    .await;
}

#[tokio::test]
async fn login_cycles_the_session_id_and_wrong_passwords_get_401_then_429() {
    let db = TestDb::sqlite().await;
    let state = setup(&db).await;
    let first = login(&state, "ana").await;
    // Logging in again on the same session issues a new id; the old one is dead.
    let reply = send(
        &state,
        "POST",
        "/api/v1/session",
        Some(&first),
        Some(json!({ "username": "ana", "password": PASSWORD })),
    )
    .await;
    let second = reply.cookie.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        send(&state, "GET", "/api/v1/session", Some(&first), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&state, "GET", "/api/v1/session", Some(&second), None)
            .await
            .status,
        StatusCode::OK
    );

    let wrong = json!({ "username": "rev", "password": "not the password" });
    let nobody = send(
        &state,
        "POST",
        "/api/v1/session",
        None,
        Some(json!({ "username": "ghost", "password": "x" })),
    )
    .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(
            send(&state, "POST", "/api/v1/session", None, Some(wrong.clone()))
                .await
                .status,
        );
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    db.finish().await;
}

#[tokio::test]
async fn cross_origin_writes_are_refused() {
    let db = TestDb::sqlite().await;
    let state = setup(&db).await;
    let request = Request::post("/api/v1/session")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "username": "ana", "password": PASSWORD }).to_string(),
        ))
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "a foreign page logged in"
    );
    let same = Request::post("/api/v1/session")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "username": "ana", "password": PASSWORD }).to_string(),
        ))
        .unwrap();
    assert_eq!(
        app(state).oneshot(same).await.unwrap().status(),
        StatusCode::OK
    );
    db.finish().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let db = TestDb::sqlite().await;
    let state = AppState::new(db.store.clone(), std::path::Path::new("target/site"));
    let reply = send(&state, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let paths = reply.json["paths"].as_object().unwrap();
    for path in [
        "/api/v1/session",
        "/api/v1/projects",
        "/api/v1/projects/{slug}/next",
        "/api/v1/projects/{slug}/judgments",
        "/api/v1/projects/{slug}/skips",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(paths["/api/v1/projects/{slug}/next"].get("post").is_some());
    assert!(
        reply.json["components"]["schemas"]
            .get("SubmitRequest")
            .is_some()
    );
    db.finish().await;
}
