//! The annotator's JSON API over HTTP semantics: login and sessions, role and project
//! checks, next / submit / skip, cross-origin refusal, rate limits, the OpenAPI document.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

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
    let request = relabel::load::json_request(method, uri, cookie, body.as_ref()).unwrap();
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
            task: None,
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
        let id = store
            .create_user(name, &hash, relabel::domain::now_ms())
            .await
            .unwrap();
        store
            .grant_role(id, project_id, role, None, relabel::domain::now_ms())
            .await
            .unwrap();
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
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = bad.json["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("label: \"L9\""), "{message}");

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
    // Attempts are counted in the database: two servers (two states on one store)
    // taking turns share one limit.
    let other_server =
        relabel::web::AppState::new(db.store.clone(), std::path::Path::new("target/site"));
    let mut statuses = Vec::new();
    for i in 0..11 {
        let server = if i % 2 == 0 { &state } else { &other_server };
        statuses.push(
            send(server, "POST", "/api/v1/session", None, Some(wrong.clone()))
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

/// A project whose pairs ask for a label and a ranking of three five-step candidates,
/// with one judge-only pair, and a guideline; logged in as its annotator.
async fn ranking_setup(db: &TestDb) -> (AppState, String, relabel::domain::Project) {
    use relabel::domain::{RuleRecord, TaskKind};
    let store = &db.store;
    let shop = project(store, "rankshop").await;
    let candidate = |label: &str| CotRecord {
        model: "m".into(),
        text: String::new(),
        steps: (1..=5).map(|s| format!("step {s}")).collect(),
        label: Some(label.into()),
    };
    let records: Vec<PairRecord> = (0..30)
        .map(|i| PairRecord {
            query: format!("query {i}"),
            query_frequency: Some(10),
            item: ItemRecord {
                id: format!("sku-{i}"),
                title: format!("Item {i}"),
                category: vec![],
                attributes: Default::default(),
                price: None,
                images: vec![],
                description: None,
            },
            cot: vec![candidate("L4"), candidate("L2"), candidate("L3")],
            gold_label: None,
            tags: vec![],
            task: Some(if i == 0 {
                TaskKind::Judge
            } else {
                TaskKind::JudgeAndRank
            }),
        })
        .collect();
    import_records(store.as_ref(), &shop, &records, "test")
        .await
        .unwrap();
    let rule = RuleRecord {
        key: "R-BRAND-01".into(),
        title: "Brand".into(),
        body: "b".into(),
        capabilities: vec![],
        dimension: Some("brand".into()),
        examples: vec![],
    };
    store
        .publish_guideline(&shop, &[rule], "v1", relabel::domain::now_ms())
        .await
        .unwrap();
    let hash = hash_password(PASSWORD).unwrap();
    let id = store
        .create_user("ranker", &hash, relabel::domain::now_ms())
        .await
        .unwrap();
    store
        .grant_role(
            id,
            Some(shop.id),
            Role::Annotator,
            None,
            relabel::domain::now_ms(),
        )
        .await
        .unwrap();
    let state = AppState::new(store.clone(), std::path::Path::new("target/site"));
    let cookie = support::login_cookie(&state, "ranker", PASSWORD).await;
    (state, cookie, shop)
}

#[tokio::test]
async fn a_ranking_is_validated_field_by_field_and_stored_whole() {
    each_backend(|db: TestDb| async move {
        let (state, cookie, shop) = ranking_setup(&db).await;
        // Take pairs until one that ranks comes up (the judge-only one is kept aside).
        let mut judge_only = None;
        let (pair_id, lease_id) = loop {
            let next = send(&state, "POST", "/api/v1/projects/rankshop/next", Some(&cookie), None).await;
            assert_eq!(next.status, StatusCode::OK, "{}", next.json);
            let pair = &next.json["pair"];
            if pair["task"] == "judge" {
                judge_only = Some(pair["pair_id"].as_i64().unwrap());
                let skip = json!({ "pair_id": pair["pair_id"] });
                send(&state, "POST", "/api/v1/projects/rankshop/skips", Some(&cookie), Some(skip)).await;
                continue;
            }
            assert_eq!(pair["task"], "judge+rank");
            assert_eq!(pair["cot"].as_array().unwrap().len(), 3);
            break (pair["pair_id"].as_i64().unwrap(), next.json["lease_id"].as_i64().unwrap());
        };
        let submit = |extra: Value, key: &str| {
            let mut body = json!({
                "pair_id": pair_id, "lease_id": lease_id, "label": "L2", "idempotency_key": key,
            });
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let (state, cookie) = (state.clone(), cookie.clone());
            async move {
                send(&state, "POST", "/api/v1/projects/rankshop/judgments", Some(&cookie), Some(body)).await
            }
        };
        let refused = [
            (json!({}), "ranking"),
            (json!({ "ranking": [[0], [1]] }), "ranking"),
            (json!({ "ranking": [[0, 1], [1, 2]] }), "ranking[1]"),
            (json!({ "ranking": [[0, 1, 2, 3]] }), "ranking[0]"),
            (json!({ "ranking": [[0, 1, 2]], "step_flags": [{"candidate": 0, "step": 5}] }), "step_flags[0].step"),
            (json!({ "ranking": [[0, 1, 2]], "step_flags": [{"candidate": 1, "step": 0, "rule": "R-NOPE"}] }), "step_flags[0].rule"),
            (json!({ "ranking": [[0, 1, 2]], "corrected_cot": {"steps": []} }), "corrected_cot.steps"),
            (json!({ "step_flags": [{"candidate": 0, "step": 1}] }), "ranking"),
            (json!({ "ranking": [[0, 1, 2]], "rules": [{"id": "R-GONE", "verdict": "applies"}] }), "rules"),
            (json!({ "ranking": [[0, 1, 2]], "label": null }), "label"),
        ];
        for (i, (extra, field)) in refused.into_iter().enumerate() {
            let reply = submit(extra.clone(), &format!("bad-{i}")).await;
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {}", reply.json);
            assert_eq!(reply.json["error"]["code"], "unprocessable");
            let message = reply.json["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(&format!("{field}:")), "{extra}: {message}");
        }
        assert!(db.store.judgments(&shop).await.unwrap().is_empty(), "a refused judgment was stored");

        let good = json!({
            "ranking": [[2], [0, 1]],
            "step_flags": [{"candidate": 0, "step": 3, "rule": "R-BRAND-01", "dimension": "brand"}],
            "corrected_cot": {"steps": ["The query names a brand.", "The item is another brand."], "label": "L2"},
        });
        let stored = submit(good.clone(), "good").await;
        assert_eq!(stored.status, StatusCode::OK, "{}", stored.json);
        let replay = submit(good, "good").await;
        assert_eq!(replay.json["replayed"], true);
        let rows = db.store.judgments(&shop).await.unwrap();
        assert_eq!(rows.len(), 1);
        let parse = |t: &Option<String>| serde_json::from_str::<Value>(t.as_deref().unwrap()).unwrap();
        assert_eq!(rows[0].label.as_deref(), Some("L2"));
        assert_eq!(parse(&rows[0].ranking), json!([[2], [0, 1]]));
        assert_eq!(
            parse(&rows[0].step_flags),
            json!([{"candidate": 0, "step": 3, "rule": "R-BRAND-01", "dimension": "brand"}])
        );
        assert_eq!(parse(&rows[0].corrected_cot)["steps"][1], "The item is another brand.");

        // A judge-only pair takes no ranking.
        let judge_only = match judge_only {
            Some(id) => id,
            None => loop {
                let next = send(&state, "POST", "/api/v1/projects/rankshop/next", Some(&cookie), None).await;
                let pair = &next.json["pair"];
                let id = pair["pair_id"].as_i64().expect("the judge-only pair comes up");
                if pair["task"] == "judge" {
                    break id;
                }
                let skip = json!({ "pair_id": id });
                send(&state, "POST", "/api/v1/projects/rankshop/skips", Some(&cookie), Some(skip)).await;
            },
        };
        let reply = send(
            &state,
            "POST",
            "/api/v1/projects/rankshop/judgments",
            Some(&cookie),
            Some(json!({ "pair_id": judge_only, "label": "L3", "ranking": [[0, 1, 2]], "idempotency_key": "j" })),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.json);
        db
    })
    .await;
}

#[tokio::test]
async fn random_rankings_with_ties_round_trip_through_storage() {
    use rand::{Rng, SeedableRng, seq::SliceRandom};
    use relabel::queue::{self, JudgmentInput};
    use relabel::ranking::RankingInput;
    each_backend(|db: TestDb| async move {
        let (_, _, shop) = ranking_setup(&db).await;
        let user = db.store.user_by_name("ranker").await.unwrap().unwrap().id;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut expected = Vec::new();
        while let Some(claim) = queue::next_pair(db.store.as_ref(), &shop, user)
            .await
            .unwrap()
        {
            let pair = db
                .store
                .pair_view(&shop, claim.pair_id)
                .await
                .unwrap()
                .unwrap();
            let ranking = (pair.task != relabel::domain::TaskKind::Judge).then(|| {
                let mut order: Vec<usize> = (0..pair.cot.len()).collect();
                order.shuffle(&mut rng);
                let mut groups: Vec<Vec<usize>> = Vec::new();
                for c in order {
                    match groups.last_mut() {
                        Some(g) if rng.random_bool(0.4) => g.push(c),
                        _ => groups.push(vec![c]),
                    }
                }
                groups
            });
            let input = JudgmentInput {
                pair_id: claim.pair_id,
                lease_id: Some(claim.lease_id),
                label: Some("L3".into()),
                rules: vec![],
                rationale: None,
                duration_ms: None,
                guideline_version_id: None,
                idempotency_key: format!("rt-{}", claim.pair_id),
                ranking: ranking.clone().map(|ranking| RankingInput {
                    ranking,
                    ..RankingInput::default()
                }),
            };
            queue::submit(db.store.as_ref(), &shop, user, &input, false)
                .await
                .unwrap();
            expected.push((claim.pair_id, ranking));
        }
        assert_eq!(expected.len(), 30);
        let stored: Vec<(i64, Option<Vec<Vec<usize>>>)> = db
            .store
            .judgments(&shop)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.pair_id,
                    r.ranking.map(|t| serde_json::from_str(&t).unwrap()),
                )
            })
            .collect();
        assert_eq!(stored, expected, "{}", db.name);
        db
    })
    .await;
}

/// Exports `format` of `project` to a string.
async fn export_text(
    db: &TestDb,
    project: &relabel::domain::Project,
    format: relabel::export::ExportFormat,
) -> String {
    let mut out: Vec<u8> = Vec::new();
    relabel::export::export(
        db.store.as_ref(),
        project,
        &relabel::export::ExportOptions::new(format),
        relabel::export::Output::One(&mut out),
    )
    .await
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_reviewer_decides_a_split_pair_and_the_exports_use_the_decision() {
    use relabel::export::ExportFormat;
    use relabel::queue::{self, JudgmentInput};
    each_backend(|db: TestDb| async move {
        let state = setup(&db).await;
        let store = &db.store;
        let shop = store.project("shop").await.unwrap().unwrap();
        // A pair whose three CoT candidates reach L1, L3 and L4, judged L1, L3 and L4.
        let candidate = |label: &str| CotRecord {
            model: "secret-model".into(),
            text: format!("so {label}"),
            steps: vec![format!("so {label}")],
            label: Some(label.into()),
        };
        let record = PairRecord {
            query: "split query".into(),
            query_frequency: Some(5),
            item: ItemRecord {
                id: "sku-split".into(),
                title: "Split Item".into(),
                category: vec![],
                attributes: Default::default(),
                price: None,
                images: vec![],
                description: None,
            },
            cot: vec![candidate("L1"), candidate("L3"), candidate("L4")],
            gold_label: None,
            tags: vec![],
            task: None,
        };
        import_records(store.as_ref(), &shop, &[record], "test")
            .await
            .unwrap();
        let mut split = None;
        for (i, label) in ["L1", "L3", "L4"].into_iter().enumerate() {
            let user = store
                .create_user(
                    &format!("judge{i}"),
                    "$argon2id$unused",
                    relabel::domain::now_ms(),
                )
                .await
                .unwrap();
            let claim = loop {
                let claim = queue::next_pair(store.as_ref(), &shop, user)
                    .await
                    .unwrap()
                    .unwrap();
                let view = store
                    .pair_view(&shop, claim.pair_id)
                    .await
                    .unwrap()
                    .unwrap();
                if view.query == "split query" {
                    break claim;
                }
                store
                    .skip_pair(&shop, user, claim.pair_id, None, relabel::domain::now_ms())
                    .await
                    .unwrap();
            };
            split = Some(claim.pair_id);
            let input = JudgmentInput {
                pair_id: claim.pair_id,
                lease_id: Some(claim.lease_id),
                label: Some(label.into()),
                rules: vec![],
                rationale: Some(format!("judge {i} says {label}")),
                duration_ms: Some(1_000),
                guideline_version_id: None,
                idempotency_key: format!("split-{i}"),
                ranking: None,
            };
            queue::submit(store.as_ref(), &shop, user, &input, false)
                .await
                .unwrap();
        }
        let pair_id = split.unwrap();
        let labels = export_text(&db, &shop, ExportFormat::Labels).await;
        assert!(
            !labels
                .lines()
                .any(|l| l.starts_with(&format!("{pair_id},"))),
            "a split pair has no final label yet: {labels}"
        );

        // Annotators cannot see the queue; the reviewer can, with the reasons.
        let ana = login(&state, "ana").await;
        let rev = login(&state, "rev").await;
        let refused = send(
            &state,
            "GET",
            "/api/v1/projects/shop/review",
            Some(&ana),
            None,
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let queue_now = send(
            &state,
            "GET",
            "/api/v1/projects/shop/review",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(queue_now.status, StatusCode::OK, "{}", queue_now.json);
        assert_eq!(queue_now.json["total"], 1, "{}", queue_now.json);
        let entry = &queue_now.json["pairs"][0];
        assert_eq!(entry["pair_id"], pair_id);
        assert_eq!(entry["labels"], json!(["L1", "L3", "L4"]));
        assert_eq!(entry["item_title"], "Split Item");
        assert_eq!(entry["query"], "split query");
        let kinds: Vec<&str> = entry["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"spread"), "{kinds:?}");
        let bad = send(
            &state,
            "GET",
            "/api/v1/projects/shop/review?limit=0",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        // The pair as the reviewer sees it: every judgment with its rationale, the CoT
        // candidates with their models named.
        let uri = format!("/api/v1/projects/shop/review/{pair_id}");
        let shown = send(&state, "GET", &uri, Some(&rev), None).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.json);
        let judgments = shown.json["judgments"].as_array().unwrap();
        assert_eq!(judgments.len(), 3);
        assert_eq!(judgments[1]["rationale"], "judge 1 says L3");
        assert_eq!(shown.json["pair"]["cot"][0]["model"], "secret-model");
        assert_eq!(shown.json["decisions"], json!([]));

        // A label off the scale is refused and names the field; a good one is stored.
        let off = send(
            &state,
            "POST",
            &uri,
            Some(&rev),
            Some(json!({ "label": "L9" })),
        )
        .await;
        assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            off.json["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("label:")
        );
        let unknown = send(
            &state,
            "POST",
            "/api/v1/projects/shop/review/999999",
            Some(&rev),
            Some(json!({ "label": "L3" })),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let decided = send(
            &state,
            "POST",
            &uri,
            Some(&rev),
            Some(json!({ "label": "L3", "note": "the brand matches" })),
        )
        .await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.json);
        let shown = send(&state, "GET", &uri, Some(&rev), None).await;
        assert_eq!(shown.json["decisions"][0]["label"], "L3");
        assert_eq!(shown.json["decisions"][0]["reviewer"], "rev");
        assert_eq!(shown.json["reasons"], json!([]));
        let queue_now = send(
            &state,
            "GET",
            "/api/v1/projects/shop/review",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(queue_now.json["total"], 0, "{}", queue_now.json);
        let report = send(
            &state,
            "GET",
            "/api/v1/projects/shop/quality",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(report.status, StatusCode::OK);
        assert_eq!(report.json["review_queue"], 0);

        // The decision is the final label in the labels table and the preference pairs.
        let labels = export_text(&db, &shop, ExportFormat::Labels).await;
        let row = labels
            .lines()
            .find(|l| l.starts_with(&format!("{pair_id},")))
            .unwrap_or_else(|| panic!("no row for pair {pair_id}: {labels}"));
        assert!(row.contains(",L3,"), "{row}");
        let pairs = export_text(&db, &shop, ExportFormat::PreferencePairs).await;
        let decided_pairs: Vec<Value> = pairs
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["meta"]["pair_id"] == pair_id)
            .collect();
        assert!(!decided_pairs.is_empty(), "{pairs}");
        for record in &decided_pairs {
            assert_eq!(record["meta"]["final_label_source"], "adjudicated");
        }
        db
    })
    .await;
}

#[tokio::test]
async fn a_changed_rule_sends_its_judgments_to_re_review_and_the_decision_is_a_new_judgment() {
    use relabel::domain::{RuleExample, RuleRecord};
    use relabel::queue::{self, JudgmentInput, RuleCitation, RuleVerdict};
    each_backend(|db: TestDb| async move {
        let state = setup(&db).await;
        let store = &db.store;
        let shop = store.project("shop").await.unwrap().unwrap();
        let rule = |key: &str, body: &str| RuleRecord {
            key: key.into(),
            title: format!("Rule {key}"),
            body: body.into(),
            capabilities: vec!["rule-adherence".into()],
            dimension: None,
            examples: vec![RuleExample {
                query: "q".into(),
                item_title: "t".into(),
                label: "L2".into(),
                why: "w".into(),
            }],
        };
        store
            .publish_guideline(
                &shop,
                &[
                    rule("R-BRAND-01", "Another brand is L2."),
                    rule("R-COLOR-01", "Colour must match."),
                ],
                "first",
                relabel::domain::now_ms(),
            )
            .await
            .unwrap();
        let v1 = store
            .guideline_version(&shop, relabel::storage::VersionRef::Latest)
            .await
            .unwrap()
            .unwrap();
        // ana judges every pair under version 1: three cite the brand rule, one colour.
        let ana = store.user_by_name("ana").await.unwrap().unwrap().id;
        let mut brand_pairs = Vec::new();
        while let Some(claim) = queue::next_pair(store.as_ref(), &shop, ana).await.unwrap() {
            let cites = if brand_pairs.len() < 3 {
                "R-BRAND-01"
            } else {
                "R-COLOR-01"
            };
            if cites == "R-BRAND-01" {
                brand_pairs.push(claim.pair_id);
            }
            let input = JudgmentInput {
                pair_id: claim.pair_id,
                lease_id: Some(claim.lease_id),
                label: Some("L3".into()),
                rules: vec![RuleCitation {
                    id: cites.into(),
                    verdict: RuleVerdict::Applies,
                }],
                rationale: None,
                duration_ms: None,
                guideline_version_id: Some(v1.id),
                idempotency_key: format!("v1-{}", claim.pair_id),
                ranking: None,
            };
            queue::submit(store.as_ref(), &shop, ana, &input, false)
                .await
                .unwrap();
        }
        assert_eq!(brand_pairs.len(), 3);

        // An editor changes the brand rule through the API and publishes version 2.
        let hash = hash_password(PASSWORD).unwrap();
        let ed = store
            .create_user("ed", &hash, relabel::domain::now_ms())
            .await
            .unwrap();
        store
            .grant_role(
                ed,
                Some(shop.id),
                Role::GuidelineEditor,
                None,
                relabel::domain::now_ms(),
            )
            .await
            .unwrap();
        let ed = login(&state, "ed").await;
        let ana_cookie = login(&state, "ana").await;
        let draft = json!({ "rules": [
            { "id": "R-BRAND-01", "title": "Rule R-BRAND-01", "capabilities": ["rule-adherence"],
              "body": "Another brand is L1, unless it is a sub-brand.",
              "examples": [{ "query": "q", "item_title": "t", "label": "L2", "why": "w" }] },
            { "id": "R-COLOR-01", "title": "Rule R-COLOR-01", "capabilities": ["rule-adherence"],
              "body": "Colour must match.",
              "examples": [{ "query": "q", "item_title": "t", "label": "L2", "why": "w" }] }
        ]});
        let refused = send(
            &state,
            "PUT",
            "/api/v1/projects/shop/guideline/draft",
            Some(&ana_cookie),
            Some(draft.clone()),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "an annotator edits no guideline"
        );
        let bad = json!({ "rules": [{ "id": "R 1", "title": "" }] });
        let reply = send(
            &state,
            "PUT",
            "/api/v1/projects/shop/guideline/draft",
            Some(&ed),
            Some(bad),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = reply.json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("rules[0]: id:") && message.contains("rules[0]: title:"),
            "{message}"
        );
        let reply = send(
            &state,
            "PUT",
            "/api/v1/projects/shop/guideline/draft",
            Some(&ed),
            Some(draft),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        let reply = send(
            &state,
            "POST",
            "/api/v1/projects/shop/guideline/publish",
            Some(&ed),
            Some(json!({ "note": "sub-brands" })),
        )
        .await;
        assert_eq!(reply.json["number"], 2, "{}", reply.json);

        // The diff and what it touches: the brand rule, cited by three judgments.
        let diff = send(
            &state,
            "GET",
            "/api/v1/projects/shop/guideline/diff?from=1&to=2",
            Some(&ana_cookie),
            None,
        )
        .await;
        assert_eq!(diff.status, StatusCode::OK);
        assert_eq!(diff.json["changed"][0]["id"], "R-BRAND-01");
        assert_eq!(diff.json["unchanged"], 1);
        let spans = diff.json["changed"][0]["body"].as_array().unwrap();
        assert!(
            spans
                .iter()
                .any(|s| s["op"] == "removed" && s["text"].as_str().unwrap().contains("L2"))
        );
        assert!(
            spans
                .iter()
                .any(|s| s["op"] == "added" && s["text"].as_str().unwrap().contains("sub-brand"))
        );
        let impact = send(
            &state,
            "GET",
            "/api/v1/projects/shop/guideline/versions/2/impact",
            Some(&ed),
            None,
        )
        .await;
        assert_eq!(impact.status, StatusCode::OK, "{}", impact.json);
        assert_eq!(
            impact.json["rules"],
            json!([{ "rule": "R-BRAND-01", "change": "changed", "judgments": 3 }])
        );
        let sent = send(
            &state,
            "POST",
            "/api/v1/projects/shop/guideline/versions/2/rereview",
            Some(&ed),
            None,
        )
        .await;
        assert_eq!(sent.json["sent"], 3, "{}", sent.json);
        let again = send(
            &state,
            "POST",
            "/api/v1/projects/shop/guideline/versions/2/rereview",
            Some(&ed),
            None,
        )
        .await;
        assert_eq!(again.json["sent"], 0, "sending twice adds nothing");

        // The reviewer sees them, with the rule then and now, and decides one.
        let rev = login(&state, "rev").await;
        let queue_now = send(
            &state,
            "GET",
            "/api/v1/projects/shop/review",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(queue_now.json["total"], 3, "{}", queue_now.json);
        assert_eq!(queue_now.json["pairs"][0]["reasons"][0]["kind"], "rereview");
        let pair_id = brand_pairs[0];
        let uri = format!("/api/v1/projects/shop/review/{pair_id}");
        let shown = send(&state, "GET", &uri, Some(&rev), None).await;
        let open = &shown.json["rereviews"][0];
        assert_eq!(open["annotator"], "ana");
        assert_eq!(open["label"], "L3");
        assert_eq!(open["rule_before"]["body"], "Another brand is L2.");
        assert_eq!(
            open["rule_after"]["body"],
            "Another brand is L1, unless it is a sub-brand."
        );
        let uri = format!("/api/v1/projects/shop/rereview/{pair_id}");
        let off = send(
            &state,
            "POST",
            &uri,
            Some(&rev),
            Some(json!({ "label": "L7" })),
        )
        .await;
        assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY);
        let decided = send(
            &state,
            "POST",
            &uri,
            Some(&rev),
            Some(json!({ "label": "L1", "note": "another brand" })),
        )
        .await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.json);
        let judgment_id = decided.json["judgment_id"].as_i64().unwrap();
        let again = send(
            &state,
            "POST",
            &uri,
            Some(&rev),
            Some(json!({ "label": "L1" })),
        )
        .await;
        assert_eq!(
            again.status,
            StatusCode::NOT_FOUND,
            "resolved: nothing open"
        );

        // The decision is a new judgment by the reviewer, under version 2.
        let v2 = store
            .guideline_version(&shop, relabel::storage::VersionRef::Latest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v2.number, Some(2));
        let rows = store.pair_judgments(&shop, pair_id).await.unwrap();
        let new = rows.iter().find(|j| j.id == judgment_id).unwrap();
        assert_eq!(
            (new.annotator.as_str(), new.label.as_deref()),
            ("rev", Some("L1"))
        );
        assert_eq!(new.guideline_version, Some(2));
        assert_eq!(new.rationale.as_deref(), Some("another brand"));
        // ...and the pair's final label: the judgment under the old rule no longer decides.
        let decisions = store.decisions(&shop, pair_id).await.unwrap();
        assert_eq!(decisions.last().map(|d| d.label.as_str()), Some("L1"));
        let queue_now = send(
            &state,
            "GET",
            "/api/v1/projects/shop/review",
            Some(&rev),
            None,
        )
        .await;
        assert_eq!(queue_now.json["total"], 2, "{}", queue_now.json);
        db
    })
    .await;
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_logout_ends_this_one() {
    each_backend(|db: TestDb| async move {
        let state = setup(&db).await;
        let whoami = |cookie: String| {
            let state = state.clone();
            async move {
                send(&state, "GET", "/api/v1/session", Some(&cookie), None)
                    .await
                    .status
            }
        };
        let change = |cookie: String, current: &'static str, new: &'static str| {
            let state = state.clone();
            async move {
                send(
                    &state,
                    "PUT",
                    "/api/v1/session/password",
                    Some(&cookie),
                    Some(json!({ "current_password": current, "new_password": new })),
                )
                .await
            }
        };
        let here = login(&state, "ana").await;
        let elsewhere = login(&state, "ana").await;
        // Refused changes change nothing.
        let short = change(here.clone(), PASSWORD, "short").await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            short.json.to_string().contains("new_password"),
            "{}",
            short.json
        );
        let wrong = change(here.clone(), "not the password", "a brand new password").await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            wrong.json.to_string().contains("current_password"),
            "{}",
            wrong.json
        );
        assert_eq!(whoami(elsewhere.clone()).await, StatusCode::OK);

        let done = change(here.clone(), PASSWORD, "a brand new password").await;
        assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", db.name);
        let here_now = done.cookie.expect("a new session id for this session");
        assert_ne!(here_now, here);
        assert_eq!(
            whoami(here_now.clone()).await,
            StatusCode::OK,
            "{}",
            db.name
        );
        assert_eq!(
            whoami(elsewhere).await,
            StatusCode::UNAUTHORIZED,
            "{}",
            db.name
        );
        assert_eq!(whoami(here).await, StatusCode::UNAUTHORIZED, "{}", db.name);
        let with = |password: &'static str| {
            let state = state.clone();
            async move {
                send(
                    &state,
                    "POST",
                    "/api/v1/session",
                    None,
                    Some(json!({ "username": "ana", "password": password })),
                )
                .await
            }
        };
        assert_eq!(with(PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        let fresh = with("a brand new password").await;
        assert_eq!(fresh.status, StatusCode::OK);
        // The session cookie is HttpOnly, SameSite=Lax and scoped to the whole site.
        let flags = fresh.set_cookie.unwrap();
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(flags.contains(flag), "{flags}");
        }
        // Plain HTTP by default (a local install); `--secure-cookies` adds Secure, so
        // behind TLS the cookie never travels unencrypted.
        assert!(!flags.contains("Secure"), "{flags}");
        let tls = AppState {
            secure_cookies: true,
            ..state.clone()
        };
        let secure = send(
            &tls,
            "POST",
            "/api/v1/session",
            None,
            Some(json!({ "username": "ana", "password": "a brand new password" })),
        )
        .await;
        assert_eq!(secure.status, StatusCode::OK, "{}", secure.json);
        let flags = secure.set_cookie.unwrap();
        assert!(flags.contains("Secure"), "{flags}");
        // Logging out ends the session for good.
        let out = send(&state, "DELETE", "/api/v1/session", Some(&here_now), None).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        assert_eq!(whoami(here_now).await, StatusCode::UNAUTHORIZED);
        db
    })
    .await;
}

/// POSTs `body` as a file to the import endpoint.
async fn upload(state: &AppState, cookie: &str, query: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/projects/shop/imports?{query}"))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .unwrap();
    let response = support::within_limit("an upload", app(state.clone()).oneshot(request))
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_bad_file_uploaded_answers_422_with_its_line_and_field_and_changes_nothing() {
    each_backend(|db: TestDb| async move {
        let state = setup(&db).await;
        let store = &db.store;
        let boss = store
            .create_user(
                "boss",
                &hash_password(PASSWORD).unwrap(),
                relabel::domain::now_ms(),
            )
            .await
            .unwrap();
        store
            .grant_role(boss, None, Role::Admin, None, relabel::domain::now_ms())
            .await
            .unwrap();
        let admin = login(&state, "boss").await;
        let shop = store.project("shop").await.unwrap().unwrap();

        // Annotators and reviewers cannot import.
        for who in ["ana", "rev"] {
            let cookie = login(&state, who).await;
            let good = std::fs::read(support::fixtures().join("pairs.jsonl")).unwrap();
            let (status, _) = upload(&state, &cookie, "format=jsonl", good).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{}: {who}", db.name);
        }

        let good = std::fs::read(support::fixtures().join("pairs.jsonl")).unwrap();
        let (status, report) = upload(&state, &admin, "name=pairs.jsonl", good).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {report}", db.name);
        assert!(
            report["counts"]["pairs_added"].as_u64().unwrap() > 0,
            "{report}"
        );
        assert_eq!(report["file"], "pairs.jsonl");

        let before = support::project_checksum(store, &shop).await;
        let mut wrong = Vec::new();
        for (file, line, field) in support::BAD_FILES {
            let bytes = std::fs::read(support::fixtures().join("bad").join(file)).unwrap();
            let (status, answer) = upload(&state, &admin, &format!("name={file}"), bytes).await;
            let first = &answer["error"]["lines"][0];
            if status != StatusCode::UNPROCESSABLE_ENTITY
                || first["line"] != json!(line)
                || first["field"] != json!(field)
                || first["message"].as_str().is_none_or(str::is_empty)
            {
                wrong.push(format!(
                    "{file}: expected 422 at {line} {field}, got {status} {answer}"
                ));
            }
            if support::project_checksum(store, &shop).await != before {
                wrong.push(format!("{file} changed the project"));
                break;
            }
        }
        assert!(wrong.is_empty(), "{}:\n{}", db.name, wrong.join("\n"));

        // A line over 10 MiB is refused by number, and the request is not cut off.
        let mut long = br#"{"query": "q1", "item": {"id": "I1", "title": "t"}}"#.to_vec();
        long.extend_from_slice(b"\n{\"query\": \"q\", \"item\": {\"id\": \"X\", \"title\": \"");
        long.resize(long.len() + relabel::import::MAX_LINE_BYTES + 1, b'a');
        long.extend_from_slice(b"\"}}\n");
        let (status, answer) = upload(&state, &admin, "format=jsonl", long).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", db.name);
        assert_eq!(answer["error"]["lines"][0]["line"], 2, "{answer}");

        // Without a format the name must tell it; an unknown one is named.
        let (status, answer) = upload(&state, &admin, "name=pairs.txt", b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("format")
        );
        let (status, _) = upload(&state, &admin, "format=xml", b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            support::project_checksum(store, &shop).await,
            before,
            "{}",
            db.name
        );
        db
    })
    .await;
}

#[tokio::test]
async fn the_per_address_login_limit_believes_forwarded_addresses_only_from_a_trusted_proxy() {
    each_backend(|db: TestDb| async move {
        let proxied = AppState {
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()].into(),
            ..setup(&db).await
        };
        let direct = AppState {
            trusted_proxies: Vec::new().into(),
            ..proxied.clone()
        };
        // One wrong login for a fresh name (so the per-account limit stays out of it),
        // from the peer 127.0.0.1 saying it forwards for `client`.
        let guess = |state: &AppState, n: usize, client: &str| {
            let mut request = relabel::load::json_request(
                "POST",
                "/api/v1/session",
                None,
                Some(&json!({ "username": format!("nobody-{n}"), "password": "x" })),
            )
            .unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from(([127, 0, 0, 1], 40_000)),
            ));
            request
                .headers_mut()
                .insert("x-forwarded-for", client.parse().unwrap());
            let app = app(state.clone());
            async move { app.oneshot(request).await.unwrap().status() }
        };
        // Behind the trusted proxy, each annotator has their own 30 a minute.
        for n in 0..30 {
            assert_eq!(
                guess(&proxied, n, "198.51.100.1").await,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            guess(&proxied, 30, "198.51.100.1").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            guess(&proxied, 31, "198.51.100.2").await,
            StatusCode::UNAUTHORIZED
        );
        // Without a trusted proxy the header is ignored: a client claiming a new address
        // each time is still limited as the peer it is.
        for n in 32..62 {
            let claimed = format!("203.0.113.{n}");
            assert_eq!(guess(&direct, n, &claimed).await, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            guess(&direct, 62, "203.0.113.99").await,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            db.name
        );
        db
    })
    .await;
}
