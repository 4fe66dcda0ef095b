//! The `relabel` binary as a user runs it: exit status, messages and `stats --json`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

use std::process::{Command, Output};

use support::{TestDb, each_backend, fixtures};

fn relabel(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_relabel"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RELABEL_LOG", "warn")
        .output()
        .expect("run relabel")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn create_import_and_stats_from_the_command_line() {
    each_backend(|db: TestDb| async move {
        let url = db.url.clone();
        let out = relabel(&url, &["project", "create", "shop", "--overlap", "5"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("created project shop"));

        let again = relabel(&url, &["project", "create", "shop"]);
        assert!(!again.status.success());
        assert!(
            stderr(&again).contains("already exists"),
            "{}",
            stderr(&again)
        );

        let file = fixtures().join("pairs.jsonl");
        let out = relabel(
            &url,
            &[
                "import",
                "pairs",
                "--project",
                "shop",
                file.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("8 new pairs"), "{}", stdout(&out));

        let out = relabel(&url, &["stats", "--project", "shop", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(stats["pairs"], 8);
        assert_eq!(stats["queries"], 5);
        assert_eq!(stats["items"], 8);
        assert_eq!(stats["cot_candidates"], 6);
        assert_eq!(stats["gold_pairs"], 3);
        assert_eq!(stats["bands"]["head"]["pairs"], 2);

        let out = relabel(&url, &["stats", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list["projects"][0]["slug"], "shop");
        assert_eq!(list["projects"][0]["overlap_k"], 5);
        db
    })
    .await;
}

#[tokio::test]
async fn a_rejected_import_names_file_line_and_field_and_fails() {
    each_backend(|db: TestDb| async move {
        let url = db.url.clone();
        assert!(
            relabel(&url, &["project", "create", "shop"])
                .status
                .success()
        );
        let file = fixtures().join("bad/missing-title.jsonl");
        let out = relabel(
            &url,
            &[
                "import",
                "pairs",
                "--project",
                "shop",
                file.to_str().unwrap(),
            ],
        );
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{}:2: item.title: is required", file.display())),
            "{err}"
        );
        assert!(err.contains("nothing was imported"), "{err}");
        let out = relabel(&url, &["stats", "--project", "shop", "--json"]);
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(stats["pairs"], 0);
        db
    })
    .await;
}

#[test]
fn unknown_projects_and_formats_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let out = relabel(&url, &["import", "pairs", "--project", "nope", "x.jsonl"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no project with slug \"nope\""),
        "{}",
        stderr(&out)
    );

    assert!(
        relabel(&url, &["project", "create", "shop"])
            .status
            .success()
    );
    let out = relabel(&url, &["import", "pairs", "--project", "shop", "pairs.txt"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));

    let out = relabel(&url, &["project", "create", "Bad Slug"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("slug"), "{}", stderr(&out));
}

#[test]
fn the_demo_creates_a_project_without_serving() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = relabel(&url, &["demo", "--no-serve", "--seed", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("demo project created"),
        "{}",
        stdout(&out)
    );
    let out = relabel(&url, &["stats", "--project", "demo", "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(stats["pairs"].as_i64().unwrap() >= 3_000);
    let out = relabel(&url, &["demo", "--no-serve", "--seed", "3"]);
    assert!(
        stdout(&out).contains("demo project reused"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn users_are_added_with_roles_and_a_password_from_stdin_or_generated() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    assert!(
        relabel(&url, &["project", "create", "shop"])
            .status
            .success()
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_relabel"))
        .args([
            "users",
            "add",
            "ann",
            "--role",
            "annotator",
            "--project",
            "shop",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("created user ann with annotator in project shop"));
    assert!(
        !stdout(&out).contains("password:"),
        "a given password was echoed"
    );

    let out = relabel(&url, &["users", "add", "boss", "--role", "admin"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(password.len(), 20);

    // An existing user gets another role; a project role needs a project.
    let out = relabel(
        &url,
        &[
            "users",
            "add",
            "ann",
            "--role",
            "reviewer",
            "--project",
            "shop",
        ],
    );
    assert!(
        stdout(&out).contains("ann now holds reviewer"),
        "{}",
        stdout(&out)
    );
    let out = relabel(&url, &["users", "add", "eve", "--role", "annotator"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--project"), "{}", stderr(&out));
    let out = relabel(&url, &["users", "add", "bad name", "--role", "admin"]);
    assert!(!out.status.success());

    // What is stored is an argon2id hash that verifies, never the password.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = relabel::storage::connect(&url).await.unwrap();
        let ann = store.user_by_name("ann").await.unwrap().unwrap();
        assert!(ann.password_hash.starts_with("$argon2id$"));
        assert!(relabel::auth::verify_password(
            "a long enough password",
            &ann.password_hash
        ));
        let boss = store.user_by_name("boss").await.unwrap().unwrap();
        assert!(relabel::auth::verify_password(
            &password,
            &boss.password_hash
        ));
        let roles = store.memberships(ann.id).await.unwrap();
        assert_eq!(roles.len(), 2);
        let boss_roles = store.memberships(boss.id).await.unwrap();
        assert_eq!(boss_roles[0].project_id, None);
        store.close().await;
    });
}

#[test]
fn help_explains_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_relabel"))
        .arg("--help")
        .output()
        .unwrap();
    let help = stdout(&out);
    for command in [
        "serve",
        "import",
        "project",
        "stats",
        "demo",
        "--database-url",
    ] {
        assert!(help.contains(command), "--help lacks {command}: {help}");
    }
}

/// A small fixed project for the exports: k = 2, four pairs, two annotators.
///   - "shoes"  judge+rank, candidates L4 / L2 / L3, both say L4, two rankings, a flag
///     and a corrected CoT;
///   - "=cmd"   (a formula-like query) candidates L3 / L1, labels L3 and L4;
///   - "split"  labels L1 and L4: too far apart, left out;
///   - "nobody" never judged, left out.
async fn export_project(db: &TestDb) {
    use relabel::domain::{CotRecord, ItemRecord, PairRecord, RuleRecord, TaskKind};
    use relabel::queue::{self, JudgmentInput};
    use relabel::ranking::{CorrectedCot, RankingInput, StepFlag};
    let store = &db.store;
    let shop = store
        .create_project(
            &relabel::domain::NewProject {
                slug: "shop".into(),
                name: "Shop".into(),
                scale: relabel::domain::ScalePreset::Lore4,
                overlap_k: 2,
                task: TaskKind::Judge,
            },
            relabel::domain::now_ms(),
        )
        .await
        .unwrap();
    let cand = |label: &str, n: usize| CotRecord {
        model: "m".into(),
        text: String::new(),
        steps: (1..=3)
            .map(|s| format!("{label} candidate {n} step {s}"))
            .collect(),
        label: Some(label.into()),
    };
    let pair = |query: &str, cot: Vec<CotRecord>, task: Option<TaskKind>| PairRecord {
        query: query.into(),
        query_frequency: Some(10),
        item: ItemRecord {
            id: format!("item-{query}"),
            title: format!("Item for {query}"),
            category: vec!["Shoes".into()],
            attributes: [("brand".to_owned(), "Acme".to_owned())].into(),
            price: Some(50.0),
            images: vec![],
            description: None,
        },
        cot,
        gold_label: None,
        tags: vec!["rule-adherence".into()],
        task,
    };
    let records = vec![
        pair(
            "shoes",
            vec![cand("L4", 1), cand("L2", 2), cand("L3", 3)],
            Some(TaskKind::JudgeAndRank),
        ),
        pair("=cmd", vec![cand("L3", 1), cand("L1", 2)], None),
        pair("split", vec![], None),
        pair("nobody", vec![], None),
    ];
    relabel::import::import_records(store.as_ref(), &shop, &records, "test")
        .await
        .unwrap();
    let rule = RuleRecord {
        key: "R-BRAND-01".into(),
        title: "Named brand".into(),
        body: "Another brand is L2.".into(),
        capabilities: vec![],
        dimension: Some("brand".into()),
        examples: vec![],
    };
    store
        .publish_guideline(&shop, &[rule], "v1", relabel::domain::now_ms())
        .await
        .unwrap();
    let version = store
        .latest_guideline(&shop)
        .await
        .unwrap()
        .map(|latest| latest.version_id);
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$bm9sb2dpbg$bm9sb2dpbm5vbG9naW4";
    let a1 = store
        .create_user("a1", hash, relabel::domain::now_ms())
        .await
        .unwrap();
    let a2 = store
        .create_user("a2", hash, relabel::domain::now_ms())
        .await
        .unwrap();
    let by_query = |q: &'static str| {
        let store = store.clone();
        let shop = shop.clone();
        async move {
            let mut after = 0;
            loop {
                let page = store.export_page(&shop, after, 10).await.unwrap();
                if let Some(p) = page.iter().find(|p| p.query == q) {
                    return p.pair_id;
                }
                after = page.last().unwrap().pair_id;
            }
        }
    };
    let judge = |user: i64, q: &'static str, label: &str, ranking: Option<RankingInput>| {
        let (store, shop, label) = (store.clone(), shop.clone(), label.to_owned());
        async move {
            let pair_id = by_query(q).await;
            let input = JudgmentInput {
                pair_id,
                lease_id: None,
                label: Some(label),
                rules: vec![],
                rationale: None,
                duration_ms: Some(1_000),
                guideline_version_id: version,
                idempotency_key: format!("{user}-{q}"),
                ranking,
            };
            queue::submit(store.as_ref(), &shop, user, &input, false)
                .await
                .unwrap();
        }
    };
    judge(
        a1,
        "shoes",
        "L4",
        Some(RankingInput {
            ranking: vec![vec![0], vec![2], vec![1]],
            step_flags: vec![StepFlag {
                candidate: 1,
                step: Some(1),
                rule: Some("R-BRAND-01".into()),
                dimension: Some("brand".into()),
            }],
            corrected_cot: Some(CorrectedCot {
                steps: vec![
                    "The query asks for shoes.".into(),
                    "The item is shoes.".into(),
                ],
                label: Some("L4".into()),
            }),
        }),
    )
    .await;
    judge(
        a2,
        "shoes",
        "L4",
        Some(RankingInput {
            ranking: vec![vec![0], vec![1, 2]],
            ..RankingInput::default()
        }),
    )
    .await;
    judge(a1, "=cmd", "L3", None).await;
    judge(a2, "=cmd", "L4", None).await;
    judge(a1, "split", "L1", None).await;
    judge(a2, "split", "L4", None).await;
}

fn jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn exports_follow_the_final_label_rule_and_the_trl_field_rules() {
    each_backend(|db: TestDb| async move {
        export_project(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let run = |format: &str, file: &str, extra: &[&str]| {
            let out = dir.path().join(file);
            let out_text = out.display().to_string();
            let mut args = vec!["export", "--project", "shop", "--format", format, "--out", &out_text];
            args.extend_from_slice(extra);
            let output = relabel(&db.url, &args);
            assert!(output.status.success(), "{format}: {}", stderr(&output));
            (out, stderr(&output))
        };

        // Labels: only pairs with a final label; formula cells escaped.
        let (labels, summary) = run("labels", "labels.csv", &[]);
        let text = std::fs::read_to_string(&labels).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "pair_id,query,band,item_id,item_title,final_label,relevant,judgments,agreement,labels,guideline_versions");
        assert_eq!(rows.len(), 3, "{text}");
        assert!(rows[1].contains(",shoes,") && rows[1].ends_with(",L4,1,2,1.000,L4|L4,1"), "{}", rows[1]);
        assert!(rows[2].contains(",'=cmd,") && rows[2].ends_with(",L3,1,2,0.000,L3|L4,1"), "{}", rows[2]);
        assert!(summary.contains("left out 1 pair(s): judgments more than one level apart"), "{summary}");
        assert!(summary.contains("left out 1 pair(s): no judgments"), "{summary}");

        // Preference pairs: Borda over the two rankings for "shoes", labels for "=cmd".
        let (prefs, _) = run("preference-pairs", "prefs.jsonl", &[]);
        let prefs = jsonl(&prefs);
        let got: Vec<(i64, i64, f64)> = prefs
            .iter()
            .map(|r| {
                (
                    r["meta"]["chosen_candidate"].as_i64().unwrap(),
                    r["meta"]["rejected_candidate"].as_i64().unwrap(),
                    r["margin"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [(0, 2, 1.0), (0, 1, 2.0), (2, 1, 0.5), (0, 1, 2.0)]);
        for r in &prefs {
            for field in ["prompt", "chosen", "rejected"] {
                assert!(r[field].as_str().is_some_and(|s| !s.is_empty()), "{field}: {r}");
            }
        }
        assert!(prefs[0]["prompt"].as_str().unwrap().contains("Query: shoes"));
        assert!(prefs[0]["prompt"].as_str().unwrap().contains("[R-BRAND-01] Named brand"));
        assert!(prefs[0]["chosen"].as_str().unwrap().ends_with("Label: L4"));

        // SFT, conversational: the corrected CoT first, else the best candidate with the label.
        let (sft, _) = run("sft", "sft.jsonl", &[]);
        let sft = jsonl(&sft);
        assert_eq!(sft.len(), 2);
        for r in &sft {
            let roles: Vec<&str> = r["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
            assert_eq!(roles, ["system", "user", "assistant"]);
            assert!(r["messages"].as_array().unwrap().iter().all(|m| !m["content"].as_str().unwrap().is_empty()));
        }
        assert_eq!(sft[0]["messages"][2]["content"], "The query asks for shoes.\nThe item is shoes.\nLabel: L4");
        assert_eq!(sft[1]["messages"][2]["content"], "L3 candidate 1 step 1\nL3 candidate 1 step 2\nL3 candidate 1 step 3\nLabel: L3");
        assert_eq!(sft[0]["meta"]["annotators"], 2);
        assert_eq!(sft[0]["meta"]["guideline_versions"], serde_json::json!([1]));
        let (standard, _) = run("sft", "sft-standard.jsonl", &["--style", "standard"]);
        let standard = jsonl(&standard);
        assert!(standard[0]["prompt"].is_string() && standard[0]["completion"].is_string());

        // Stepwise: steps up to the first wrong one, that one false.
        let (steps, _) = run("stepwise", "steps.jsonl", &[]);
        let steps = jsonl(&steps);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0]["labels"], serde_json::json!([true, false]));
        assert_eq!(steps[0]["completions"].as_array().unwrap().len(), 2);

        // Benchmark records carry the final label and their subsets.
        let (bench, _) = run("benchmark", "bench.jsonl", &[]);
        let bench = jsonl(&bench);
        assert_eq!(bench.len(), 2);
        assert_eq!(bench[0]["label"], "L4");
        assert_eq!(bench[0]["subsets"], serde_json::json!(["general"]));

        // A split is by query, deterministic for a seed, and can go to two files.
        let (a, _) = run("sft", "a.jsonl", &["--split", "test=0.5", "--seed", "3"]);
        let (b, _) = run("sft", "b.jsonl", &["--split", "test=0.5", "--seed", "3"]);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, same bytes");
        assert!(jsonl(&a).iter().all(|r| r["split"] == "train" || r["split"] == "test"));
        let (folder, _) = run("sft", "split", &["--split", "test=0.5", "--seed", "3", "--split-files"]);
        let train = jsonl(&folder.join("data/train.jsonl"));
        let test = jsonl(&folder.join("data/test.jsonl"));
        assert_eq!((train.len(), test.len()), (1, 1), "two queries: one a split");
        assert!(folder.join("README.md").exists(), "the dataset card");

        // Filters: a band nobody is in leaves nothing; bad options are refused.
        let (none, _) = run("labels", "none.csv", &["--band", "torso", "--min-agreement", "0.5"]);
        assert_eq!(std::fs::read_to_string(none).unwrap().lines().count(), 1);
        let out = relabel(&db.url, &["export", "--project", "shop", "--format", "sft", "--out", "-", "--split", "test=2"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("test=SHARE"), "{}", stderr(&out));
        db
    })
    .await;
}

/// Every format, every style, pinned byte for byte on the small fixed project. Both
/// backends compare against the same snapshot, so they must write identical files.
/// After a deliberate format change:
/// `INSTA_UPDATE=always cargo test --test integration cli::export_snapshots`, then
/// review the diff of `tests/snapshots/` like any other change.
#[tokio::test]
async fn export_snapshots_pin_every_format() {
    each_backend(|db: TestDb| async move {
        export_project(&db).await;
        let dir = tempfile::tempdir().unwrap();
        for (name, args) in [
            ("sft-conversational", &["--format", "sft"][..]),
            ("sft-standard", &["--format", "sft", "--style", "standard"]),
            (
                "preference-pairs-standard",
                &["--format", "preference-pairs"],
            ),
            (
                "preference-pairs-conversational-adjacent",
                &[
                    "--format",
                    "preference-pairs",
                    "--style",
                    "conversational",
                    "--pairs",
                    "adjacent",
                ],
            ),
            (
                "preference-pairs-best-vs-rest",
                &["--format", "preference-pairs", "--pairs", "best-vs-rest"],
            ),
            ("stepwise", &["--format", "stepwise"]),
            ("labels", &["--format", "labels"]),
            ("benchmark", &["--format", "benchmark"]),
            (
                "sft-split",
                &["--format", "sft", "--split", "test=0.5", "--seed", "7"],
            ),
        ] {
            let out = dir.path().join(name).display().to_string();
            let mut all = vec!["export", "--project", "shop", "--out", &out];
            all.extend_from_slice(args);
            let output = relabel(&db.url, &all);
            assert!(output.status.success(), "{name}: {}", stderr(&output));
            let text = std::fs::read_to_string(&out).unwrap();
            insta::assert_snapshot!(name, text, &args.join(" "));
        }
        db
    })
    .await;
}

/// The Python with `datasets` and TRL's data utilities installed: `RELABEL_PYTHON` (set
/// by scripts/dev test), else `python3`; `None` when it cannot import them.
fn python_with_trl() -> Option<String> {
    let python = std::env::var("RELABEL_PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(&python)
        .args(["-c", "import datasets, trl.data_utils"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| python)
}

#[tokio::test]
async fn an_admin_downloads_the_same_export_over_http() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    each_backend(|db: TestDb| async move {
        export_project(&db).await;
        let shop = db.store.project("shop").await.unwrap().unwrap();
        let password = "a long enough password";
        let hash = relabel::auth::hash_password(password).unwrap();
        db.store
            .create_member("boss", &hash, Some(shop.id), relabel::auth::Role::Admin, None, relabel::domain::now_ms())
            .await
            .unwrap();
        db.store
            .create_member("ann", &hash, Some(shop.id), relabel::auth::Role::Annotator, None, relabel::domain::now_ms())
            .await
            .unwrap();
        let state = relabel::web::AppState::new(db.store.clone(), std::path::Path::new("target/site"));
        let get = |uri: &str, cookie: &str| {
            let request = Request::get(uri)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap();
            let state = state.clone();
            async move {
                let response = relabel::web::app(state).oneshot(request).await.unwrap();
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (status, headers, body.to_vec())
            }
        };
        let boss = support::login_cookie(&state, "boss", password).await;
        let uri = "/api/v1/projects/shop/export?format=preference-pairs&style=conversational&split=0.5&seed=3&band=&capability=";
        let (status, headers, body) = get(uri, &boss).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("shop-preference-pairs.jsonl"));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prefs.jsonl").display().to_string();
        let cli = relabel(
            &db.url,
            &["export", "--project", "shop", "--format", "preference-pairs", "--style", "conversational",
              "--split", "test=0.5", "--seed", "3", "--out", &out],
        );
        assert!(cli.status.success(), "{}", stderr(&cli));
        assert_eq!(body, std::fs::read(&out).unwrap(), "the download and the CLI differ");

        let (status, _, body) = get("/api/v1/projects/shop/export?format=parquet", &boss).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&body).contains("format: \\\"parquet\\\""), "{}", String::from_utf8_lossy(&body));
        let ann = support::login_cookie(&state, "ann", password).await;
        let (status, _, _) = get("/api/v1/projects/shop/export?format=labels", &ann).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        db
    })
    .await;
}

/// Whether the scorer's weights are installed; under CI they must be.
fn scorer_weights() -> bool {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/weights/all-MiniLM-L6-v2");
    match relabel_models::encoder::missing_weights(&dir) {
        None => true,
        Some(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must test the scorer: {why}"
            );
            eprintln!("skipped: {why}");
            false
        }
    }
}

/// Each pair's priority and reason, by id.
async fn priorities(db: &TestDb) -> Vec<(i64, Option<f64>, Option<String>)> {
    use sqlx::Connection;
    let sql = "SELECT id, priority, priority_reason FROM pairs ORDER BY id";
    if db.name == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    }
}

#[tokio::test]
async fn the_scorer_trains_on_known_labels_and_fills_the_queues_priorities() {
    if !scorer_weights() {
        return;
    }
    each_backend(|db: TestDb| async move {
        // 60 demo pairs: the first 30 keep their true label as a gold answer (known),
        // the other 30 are open.
        let mut records = relabel::demo::labelled(7);
        records.truncate(60);
        for r in &mut records[30..] {
            r.gold_label = None;
        }
        let shop = support::project(&db.store, "shop").await;
        relabel::import::import_records(db.store.as_ref(), &shop, &records, "test")
            .await
            .unwrap();
        let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models/weights/all-MiniLM-L6-v2");
        let model = model.display().to_string();
        let scorer = |verb: &str| {
            relabel(
                &db.url,
                &["scorer", verb, "--project", "shop", "--model-dir", &model],
            )
        };

        let out = scorer("score");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("no trained head; run `relabel scorer train` first"),
            "{}",
            stderr(&out)
        );

        let out = scorer("train");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("trained run 1 on 30 labels: held-out macro-F1 "),
            "{}",
            stdout(&out)
        );
        assert!(
            priorities(&db).await.iter().all(|(_, p, _)| p.is_none()),
            "training sets no priority"
        );

        let out = scorer("score");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("scored 30 unlabelled pairs with run 1 ("),
            "{}",
            stdout(&out)
        );
        let scored = priorities(&db).await;
        let (known, open) = scored.split_at(30);
        assert!(
            known.iter().all(|(_, p, r)| p.is_none() && r.is_none()),
            "gold pairs keep no priority"
        );
        // The hybrid's next batch (50: here every one of the 30 open pairs) is lifted
        // above 1, in the order k-center greedy picked it, and says so.
        assert!(
            open.iter()
                .all(|(_, p, r)| p.is_some_and(|p| p > 1.0 && p <= 2.0) && r.is_some()),
            "{open:?}"
        );
        let reason = open[0].2.as_deref().unwrap();
        assert!(reason.starts_with("model "), "{reason}");
        assert!(
            reason.contains("in the next batch of 30, spread out among the 30 most uncertain"),
            "{reason}"
        );
        let mut lifted: Vec<f64> = open.iter().map(|(_, p, _)| p.unwrap()).collect();
        lifted.sort_by(f64::total_cmp);
        lifted.dedup();
        assert_eq!(lifted.len(), 30, "each pick has its own place");

        // The queue now serves the open pair with the highest priority first.
        let (best, _, _) = open
            .iter()
            .max_by(|a, b| a.1.unwrap().total_cmp(&b.1.unwrap()).then(b.0.cmp(&a.0)))
            .unwrap();
        let hash = relabel::auth::hash_password("a long enough password").unwrap();
        let ann = db
            .store
            .create_user("ann", &hash, relabel::domain::now_ms())
            .await
            .unwrap();
        let claim = db
            .store
            .next_pair(&shop, ann, false, 60_000, relabel::domain::now_ms())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim.pair_id, *best);
        // The workspace can say why: the pair carries the scorer's reason.
        let view = db
            .store
            .pair_view(&shop, claim.pair_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            view.why.as_deref(),
            open.iter().find(|p| p.0 == *best).unwrap().2.as_deref()
        );

        // Scoring again embeds nothing: every text comes from the cache.
        let out = scorer("score");
        assert!(
            stdout(&out).contains("(0 texts embedded, the rest cached)"),
            "{}",
            stdout(&out)
        );
        assert_eq!(
            priorities(&db).await,
            scored,
            "the same head scores the same"
        );

        // Another strategy, named on the command line: plain scores, no lifted batch.
        let out = relabel(
            &db.url,
            &[
                "scorer",
                "score",
                "--project",
                "shop",
                "--model-dir",
                &model,
                "--strategy",
                "margin",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let margin = priorities(&db).await;
        assert!(
            margin[30..]
                .iter()
                .all(|(_, p, r)| p.is_some_and(|p| (0.0..=1.0).contains(&p))
                    && !r.as_deref().unwrap().contains("next batch")),
            "{margin:?}"
        );

        let out = relabel(&db.url, &["scorer", "status", "--project", "shop"]);
        assert!(
            stdout(&out).starts_with("run 1: 30 labels, held-out macro-F1 "),
            "{}",
            stdout(&out)
        );
        db
    })
    .await;
}

#[tokio::test]
async fn the_background_retrain_follows_newly_completed_pairs() {
    if !scorer_weights() {
        return;
    }
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/weights/all-MiniLM-L6-v2");
    let encoder = std::sync::Arc::new(
        relabel_models::Encoder::load(&model, &relabel_models::Device::Cpu).unwrap(),
    );
    each_backend(|db: TestDb| {
        let encoder = encoder.clone();
        async move {
            use relabel::scorer::retrain_if_due;
            let store = &db.store;
            // 60 demo pairs with no gold answers, one judgment each: a pair is complete
            // once its annotator has judged it.
            let mut records = relabel::demo::labelled(11);
            records.truncate(60);
            let truth: std::collections::HashMap<(String, String), String> = records
                .iter_mut()
                .map(|r| {
                    let label = r.gold_label.take().unwrap();
                    ((r.query.clone(), r.item.id.clone()), label)
                })
                .collect();
            let project = store
                .create_project(
                    &relabel::domain::NewProject {
                        slug: "shop".into(),
                        name: "shop".into(),
                        scale: relabel::domain::ScalePreset::Lore4,
                        overlap_k: 1,
                        task: relabel::domain::TaskKind::Judge,
                    },
                    relabel::domain::now_ms(),
                )
                .await
                .unwrap();
            relabel::import::import_records(store.as_ref(), &project, &records, "test")
                .await
                .unwrap();
            let ann = store
                .create_user("ann", "!", relabel::domain::now_ms())
                .await
                .unwrap();
            let mut judged = 0;
            let mut judge = async |n: usize| {
                for _ in 0..n {
                    let claim = store
                        .next_pair(&project, ann, false, 60_000, relabel::domain::now_ms())
                        .await
                        .unwrap()
                        .unwrap();
                    let view = store
                        .pair_view(&project, claim.pair_id)
                        .await
                        .unwrap()
                        .unwrap();
                    judged += 1;
                    let input = relabel::queue::JudgmentInput {
                        pair_id: claim.pair_id,
                        lease_id: Some(claim.lease_id),
                        label: Some(truth[&(view.query.clone(), view.item.id.clone())].clone()),
                        rules: Vec::new(),
                        rationale: None,
                        duration_ms: Some(1_000),
                        guideline_version_id: None,
                        idempotency_key: format!("k{judged}"),
                        ranking: None,
                    };
                    store
                        .submit_judgment(&project, ann, &input, false, relabel::domain::now_ms())
                        .await
                        .unwrap();
                }
            };

            // Off by default: however many pairs are complete, nothing retrains.
            judge(15).await;
            assert_eq!(project.retrain_every, 0);
            assert!(
                retrain_if_due(store.as_ref(), &project, &encoder)
                    .await
                    .unwrap()
                    .is_none()
            );

            // Every 12 completed pairs: 15 are complete and no run exists, so one is due.
            let mut settings = relabel::domain::ProjectSettings::of(&project);
            settings.retrain_every = 12;
            settings.scorer_strategy = relabel::domain::StrategyKind::Margin;
            let project = store
                .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
                .await
                .unwrap();
            let done = retrain_if_due(store.as_ref(), &project, &encoder)
                .await
                .unwrap()
                .expect("a retrain is due");
            assert_eq!((done.run.labels_used, done.run.complete_pairs), (15, 15));
            assert_eq!(done.scored.scored, 45, "every open pair re-scored");
            // Nothing new: nothing due.
            assert!(
                retrain_if_due(store.as_ref(), &project, &encoder)
                    .await
                    .unwrap()
                    .is_none()
            );
            judge(11).await;
            assert!(
                retrain_if_due(store.as_ref(), &project, &encoder)
                    .await
                    .unwrap()
                    .is_none(),
                "11 new complete pairs are fewer than 12"
            );

            // The twelfth new pair makes one due; `serve`'s loop finds it on its own.
            judge(1).await;
            let looping = tokio::spawn(relabel::scorer::retrain_loop(
                store.clone(),
                encoder.clone(),
                std::time::Duration::from_millis(200),
            ));
            let runs = support::within_limit("the background retrain", async {
                loop {
                    let runs = store.scorer_runs(&project, 10, false).await.unwrap();
                    if runs.len() == 2 {
                        break runs;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            })
            .await;
            looping.abort();
            assert_eq!((runs[0].labels_used, runs[0].complete_pairs), (27, 27));
            db
        }
    })
    .await;
}

#[test]
fn the_server_starts_and_serves_without_the_scorers_weights() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("relabel.db").display());
    let server = support::Served::start(&url, &[]);
    let said = server.before.join("\n");
    assert!(
        said.contains("the relevance scorer is off") && said.contains("scripts/dev setup"),
        "{said}"
    );
    let answer = server.get("/api/v1/health", "");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_guideline_round_trips_through_a_file_and_a_bad_file_changes_nothing() {
    each_backend(|db: TestDb| async move {
        use relabel::storage::VersionRef;
        let url = db.url.clone();
        relabel::demo_project::install(db.store.as_ref(), 3)
            .await
            .unwrap();
        let demo = db.store.project("demo").await.unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("v1.toml");
        let out = relabel(
            &url,
            &[
                "guideline",
                "export",
                "--project",
                "demo",
                "--out",
                first.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&first).unwrap();
        assert!(
            text.contains("[[rules]]") && text.contains("[[rules.examples]]"),
            "{text}"
        );

        // Nothing to publish before an import.
        let out = relabel(
            &url,
            &["guideline", "publish", "--project", "demo", "--note", "x"],
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("no guideline draft"),
            "{}",
            stderr(&out)
        );

        // A bad file is refused whole, naming file, line and field; no draft appears.
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text.replacen("label = \"L", "label = \"X", 1)).unwrap();
        let out = relabel(
            &url,
            &[
                "guideline",
                "import",
                "--project",
                "demo",
                bad.to_str().unwrap(),
            ],
        );
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("bad.toml:") && err.contains(": label: \"X"),
            "{err}"
        );
        assert!(
            db.store
                .guideline_version(&demo, VersionRef::Draft)
                .await
                .unwrap()
                .is_none()
        );

        // Import, publish: version 2 has exactly version 1's rules.
        let out = relabel(
            &url,
            &[
                "guideline",
                "import",
                "--project",
                "demo",
                first.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let v1 = db
            .store
            .guideline_version(&demo, VersionRef::Number(1))
            .await
            .unwrap()
            .unwrap();
        let draft = db
            .store
            .guideline_version(&demo, VersionRef::Draft)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(draft.rules, v1.rules, "{}", db.name);
        let out = relabel(
            &url,
            &[
                "guideline",
                "publish",
                "--project",
                "demo",
                "--note",
                "round trip",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("published version 2"),
            "{}",
            stdout(&out)
        );
        let v2 = db
            .store
            .guideline_version(&demo, VersionRef::Latest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (v2.number, v2.change_note.as_str()),
            (Some(2), "round trip")
        );
        assert_eq!(v2.rules, v1.rules);
        assert!(
            db.store
                .guideline_version(&demo, VersionRef::Draft)
                .await
                .unwrap()
                .is_none()
        );
        let second = dir.path().join("v2.toml");
        let out = relabel(
            &url,
            &[
                "guideline",
                "export",
                "--project",
                "demo",
                "--out",
                second.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let body = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            body(&std::fs::read_to_string(&second).unwrap()),
            body(&text)
        );
        db
    })
    .await;
}

#[test]
fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("relabel.db").display());
    let server = support::Served::start(&url, &[("RELABEL_LOG_FORMAT", "json")]);
    for line in &server.before {
        let _: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    let answer = server.get("/healthz", "x-request-id: trace-me-42\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let entry = loop {
        let line = server
            .lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the request's log line");
        let entry: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if entry["span"]["request_id"] == "trace-me-42" {
            break entry;
        }
    };
    assert_eq!(entry["span"]["path"], "/healthz", "{entry}");
    assert!(entry["level"].is_string(), "{entry}");
}

#[test]
fn the_compose_file_validates_and_runs_two_servers_behind_the_proxy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let compose = |args: &[&str]| {
        Command::new("docker-compose")
            .current_dir(&root)
            .args(["-f", "docker-compose.yml"])
            .args(args)
            .output()
    };
    let out = match compose(&["config", "-q"]) {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must validate docker-compose.yml: docker-compose: {e}"
            );
            eprintln!("skipped: docker-compose is not installed ({e})");
            return;
        }
    };
    assert!(out.status.success(), "{}", stderr(&out));
    let services = compose(&["config", "--services"]).unwrap();
    let mut services: Vec<String> = stdout(&services).lines().map(str::to_owned).collect();
    services.sort();
    assert_eq!(services, ["postgres", "proxy", "relabel-a", "relabel-b"]);
    // Both servers are checked for readiness, and the proxy waits for them.
    let config = stdout(&compose(&["config"]).unwrap());
    assert_eq!(config.matches("/readyz").count(), 2, "{config}");
    assert!(config.contains("condition: service_healthy"), "{config}");
    let proxy = std::fs::read_to_string(root.join("deploy/nginx.conf")).unwrap();
    assert!(proxy.contains("server relabel-a:3000") && proxy.contains("server relabel-b:3000"));
}

/// A POST of JSON to the app as `cookie`: the status and the answer.
async fn post_json(
    state: &relabel::web::AppState,
    uri: &str,
    cookie: &str,
    body: &serde_json::Value,
) -> (axum::http::StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = relabel::load::json_request("POST", uri, Some(cookie), Some(body)).unwrap();
    let response = relabel::web::app(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Issue 23's run, as an ML engineer makes it: candidates with identical texts, judged
/// through the JSON API by clients that send no guideline version, then every export.
#[tokio::test]
async fn every_export_of_an_api_judged_project_is_one_a_training_run_can_trust() {
    use axum::http::StatusCode;
    use serde_json::json;
    each_backend(|db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let created = relabel(
            &db.url,
            &["project", "create", "trust", "--scale", "lore4", "--overlap", "2", "--task", "judge+rank"],
        );
        assert!(created.status.success(), "{}", stderr(&created));
        // Six queries, one pair each; candidates 0 and 1 have the same text (one with
        // an extra space), candidate 2 another.
        let mut lines = String::new();
        for q in 0..6 {
            let same = ["The query asks for running shoes.", "The item is a running shoe."];
            let spaced = ["The query asks for  running shoes.", "The item is a running shoe."];
            let other = ["The query asks for running shoes.", "The item is a sandal."];
            lines.push_str(&json!({
                "query": format!("running shoes {q}"), "query_frequency": 10 + q,
                "item": {"id": format!("sku-{q}"), "title": format!("Runner {q}"),
                         "attributes": {"brand": "Acme"}},
                "tags": ["rule-adherence"],
                "cot": [
                    {"model": "m-a", "steps": same, "label": "L4"},
                    {"model": "m-b", "steps": spaced, "label": "L4"},
                    {"model": "m-c", "steps": other, "label": "L2"},
                ],
            }).to_string());
            lines.push('\n');
        }
        let file = dir.path().join("pairs.jsonl");
        std::fs::write(&file, lines).unwrap();
        let imported = relabel(&db.url, &["import", "pairs", "--project", "trust", &file.display().to_string()]);
        assert!(imported.status.success(), "{}", stderr(&imported));
        assert!(
            stderr(&imported).contains("pairs.jsonl:1: cot[1]: has the same text as cot[0]"),
            "the import warns of identical candidates: {}",
            stderr(&imported)
        );

        let store = &db.store;
        let trust = store.project("trust").await.unwrap().unwrap();
        let rule = |caps: &[&str]| relabel::domain::RuleRecord {
            key: "R-BRAND-01".into(),
            title: "Named brand".into(),
            body: "Another brand is L2.".into(),
            capabilities: caps.iter().map(|c| (*c).to_owned()).collect(),
            dimension: Some("brand".into()),
            examples: vec![],
        };
        store.publish_guideline(&trust, &[rule(&["rule-adherence"])], "v1", relabel::domain::now_ms()).await.unwrap();
        let password = "a long enough password";
        let hash = relabel::auth::hash_password(password).unwrap();
        for name in ["a1", "a2"] {
            store
                .create_member(name, &hash, Some(trust.id), relabel::auth::Role::Annotator, None, relabel::domain::now_ms())
                .await
                .unwrap();
        }
        let state = relabel::web::AppState::new(store.clone(), std::path::Path::new("target/site"));
        let a1 = support::login_cookie(&state, "a1", password).await;
        let a2 = support::login_cookie(&state, "a2", password).await;

        // Each annotator judges three pairs under version 1, then three under version 2.
        // Both rank the identical candidates strictly. On pair `outvoted` a1 says L4
        // where a2 says L3 (the final label is L3) and writes a corrected CoT; each
        // flags a step there, but only a2's flag agrees with the final label.
        let mut served: std::collections::BTreeMap<i64, std::collections::BTreeSet<i64>> = Default::default();
        let mut outvoted = None;
        for round in 0..2 {
            if round == 1 {
                store.publish_guideline(&trust, &[rule(&["rule-adherence", "knowledge"])], "v2", relabel::domain::now_ms()).await.unwrap();
            }
            for (who, cookie) in [("a1", &a1), ("a2", &a2)] {
                for _ in 0..3 {
                    let (status, next) = post_json(&state, "/api/v1/projects/trust/next", cookie, &json!({})).await;
                    assert_eq!(status, StatusCode::OK, "{next}");
                    assert_eq!(next["guideline_version"], round + 1, "next names the version: {next}");
                    let pair_id = next["pair"]["pair_id"].as_i64().unwrap();
                    served.entry(pair_id).or_default().insert(round + 1);
                    let outvoted_pair = *outvoted.get_or_insert(pair_id) == pair_id;
                    let label = if outvoted_pair && who == "a2" { "L3" } else { "L4" };
                    let flags = match (outvoted_pair, who) {
                        (true, "a1") => json!([{"candidate": 2, "step": 1}]),
                        (true, _) => json!([{"candidate": 0, "step": 0}]),
                        _ => json!([]),
                    };
                    let corrected = (outvoted_pair && who == "a2").then(|| {
                        json!({"steps": ["The query asks for running shoes.", "Close, not exact."], "label": "L3"})
                    });
                    let mut body = json!({
                        "pair_id": pair_id, "lease_id": next["lease_id"], "label": label,
                        "rules": [{"id": "R-BRAND-01", "verdict": "applies"}],
                        "ranking": [[0], [1], [2]], "step_flags": flags, "corrected_cot": corrected,
                        "idempotency_key": format!("{who}-{pair_id}"),
                    });
                    // Naming another version than the one served is refused.
                    body["guideline_version_id"] = json!(999_999);
                    let (status, refused) = post_json(&state, "/api/v1/projects/trust/judgments", cookie, &body).await;
                    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
                    assert!(refused["error"]["message"].as_str().unwrap().starts_with("guideline_version_id:"), "{refused}");
                    body.as_object_mut().unwrap().remove("guideline_version_id");
                    let (status, stored) = post_json(&state, "/api/v1/projects/trust/judgments", cookie, &body).await;
                    assert_eq!(status, StatusCode::OK, "{stored}");
                }
            }
        }
        // An off-scale label is refused like every other field: 422, field first.
        let (status, bad) = post_json(
            &state,
            "/api/v1/projects/trust/judgments",
            &a1,
            &json!({"pair_id": 1, "label": "L9", "idempotency_key": "bad"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(bad["error"]["message"].as_str().unwrap().starts_with("label:"), "{bad}");

        let stats = relabel(&db.url, &["stats", "--project", "trust"]);
        assert!(!stdout(&stats).contains("name no guideline version"), "{}", stdout(&stats));

        let out = dir.path().join("exports");
        std::fs::create_dir_all(&out).unwrap();
        let run = |args: &[&str], file: &str| {
            let path = out.join(file).display().to_string();
            let mut all = vec!["export", "--project", "trust", "--out", &path];
            all.extend_from_slice(args);
            let output = relabel(&db.url, &all);
            assert!(output.status.success(), "{args:?}: {}", stderr(&output));
            (jsonl(&out.join(file)), stderr(&output))
        };
        // No preference has two identical sides; the summary says how many were left out.
        for (args, file) in [
            (&["--format", "preference-pairs"][..], "preference-pairs-standard.jsonl"),
            (&["--format", "preference-pairs", "--style", "conversational"][..], "preference-pairs-conversational.jsonl"),
            (&["--format", "preference-pairs", "--pairs", "adjacent"][..], "adjacent.jsonl"),
            (&["--format", "preference-pairs", "--pairs", "best-vs-rest"][..], "best.jsonl"),
        ] {
            let (records, summary) = run(args, file);
            assert!(!records.is_empty(), "{file}");
            for r in &records {
                assert_ne!(r["chosen"], r["rejected"], "{file}: {r}");
                assert_ne!((r["meta"]["chosen_candidate"].as_i64(), r["meta"]["rejected_candidate"].as_i64()), (Some(0), Some(1)), "{r}");
                assert!(r["meta"]["chosen_model"].is_string(), "{r}");
            }
            assert!(summary.contains("record(s): chosen and rejected are the same text"), "{file}: {summary}");
            if file.contains("standard") {
                assert!(records[0]["prompt"].as_str().unwrap().ends_with("\n\nAnswer:\n"), "{}", records[0]["prompt"]);
            }
        }
        // Provenance: source, candidate, model, rules cited, capabilities, versions.
        let (sft, _) = run(&["--format", "sft"], "sft-conversational.jsonl");
        let (_, _) = run(&["--format", "sft", "--style", "standard"], "sft-standard.jsonl");
        assert_eq!(sft.len(), 6);
        for r in &sft {
            let meta = &r["meta"];
            if meta["pair_id"] == json!(outvoted) {
                assert_eq!(meta["source"], "corrected", "{meta}");
                assert!(meta["corrected_by_judgment"].is_i64() && meta["candidate"].is_null(), "{meta}");
            } else {
                assert_eq!(meta["source"], "candidate", "{meta}");
                assert!(meta["candidate"].is_i64() && meta["model"].is_string(), "{meta}");
            }
            assert_eq!(meta["rules_cited"][0]["id"], "R-BRAND-01", "{meta}");
            assert_eq!(meta["rules_cited"][0]["verdict"], "applies", "{meta}");
            assert!(meta["capabilities"].as_array().unwrap().iter().any(|c| c == "rule-adherence"), "{meta}");
            let pair = meta["pair_id"].as_i64().unwrap();
            assert_eq!(meta["guideline_versions"], json!(served[&pair]), "{meta}");
        }
        // --guideline-version N exports exactly what was judged under N.
        for version in [1, 2] {
            let (records, _) = run(&["--format", "sft", "--guideline-version", &version.to_string()], &format!("v{version}.jsonl"));
            let pairs: Vec<i64> = records.iter().map(|r| r["meta"]["pair_id"].as_i64().unwrap()).collect();
            let expected: Vec<i64> = served.iter().filter(|(_, v)| v.len() == 1 && v.contains(&version)).map(|(p, _)| *p).collect();
            assert_eq!(pairs, expected, "version {version}");
        }
        // The outvoted annotator's step flag counts for nothing.
        let (steps, _) = run(&["--format", "stepwise"], "stepwise.jsonl");
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_eq!(steps[0]["meta"]["candidate"], 0);
        assert_eq!(steps[0]["labels"], json!([false]));
        let (_, _) = run(&["--format", "benchmark"], "benchmark.jsonl");
        // --style fits sft and preference pairs only.
        let refused = relabel(&db.url, &["export", "--project", "trust", "--format", "stepwise", "--style", "standard", "--out", "-"]);
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("--style standard: only sft and preference-pairs"), "{}", stderr(&refused));

        // A split gives both sides a query, whatever the seed, and says so.
        for seed in ["0", "1", "7", "17"] {
            let (records, summary) = run(&["--format", "sft", "--split", "test=0.1", "--seed", seed], &format!("split-{seed}.jsonl"));
            let test: std::collections::BTreeSet<&str> = records.iter().filter(|r| r["split"] == "test").map(|r| r["messages"][1]["content"].as_str().unwrap()).collect();
            let train: std::collections::BTreeSet<&str> = records.iter().filter(|r| r["split"] == "train").map(|r| r["messages"][1]["content"].as_str().unwrap()).collect();
            assert!(!test.is_empty() && !train.is_empty(), "seed {seed}: {summary}");
            assert!(test.is_disjoint(&train));
            assert!(summary.contains("query(ies); test:"), "{summary}");
        }
        // The folder a hub upload takes: data/{train,test}.jsonl and a dataset card.
        let card_dir = out.join("card");
        let output = relabel(
            &db.url,
            &["export", "--project", "trust", "--format", "sft", "--split", "test=0.1", "--seed", "1",
              "--split-files", "--license", "cc-by-4.0", "--out", &card_dir.display().to_string(),
              "--database-url", &db.url],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!jsonl(&card_dir.join("data/train.jsonl")).is_empty());
        assert!(!jsonl(&card_dir.join("data/test.jsonl")).is_empty());
        let card = std::fs::read_to_string(card_dir.join("README.md")).unwrap();
        assert!(card.starts_with("---\nlicense: cc-by-4.0\n"), "{card}");
        assert!(card.contains("path: data/test.jsonl") && card.contains("| L4 | 5 |") && card.contains("| L3 | 1 |"), "{card}");
        assert!(!card.contains(&db.url), "the card never names the database");

        // TRL's own data utilities and `datasets` take every file and the folder.
        if let Some(python) = python_with_trl() {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/check_exports.py");
            let checked = Command::new(&python)
                .arg(script)
                .arg(&out)
                .env("HF_DATASETS_OFFLINE", "1")
                .env("HF_HUB_OFFLINE", "1")
                .env("TRANSFORMERS_VERBOSITY", "error")
                .env("HF_HOME", dir.path().join("hf"))
                .output()
                .unwrap();
            assert!(checked.status.success(), "{}\n{}", stdout(&checked), stderr(&checked));
        } else {
            assert!(std::env::var_os("CI").is_none(), "CI must check exports with TRL: set RELABEL_PYTHON");
        }
        db
    })
    .await;
}
