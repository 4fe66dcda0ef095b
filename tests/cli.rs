//! The `relabel` binary as a user runs it: exit status, messages and `stats --json`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

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
