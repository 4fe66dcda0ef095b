//! The app in real headless Chromium: rendered by the server, hydrated from the wasm
//! bundle, logged in through the login form, and labeled with the keyboard alone.
//!
//! Needs Debian's `chromium` and `chromium-driver` and the bundle under `target/site/pkg`
//! (or `RELABEL_SITE_ROOT`); `scripts/dev test` provides all three.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use relabel::auth::Role;
use relabel::web::{AppState, app};
use support::{TestDb, project};

const PASSWORD: &str = "a long enough password";
const ENTER: char = '\u{E007}';

/// A chromedriver process and its browser profile, stopped when dropped.
struct Driver {
    process: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn site_root() -> PathBuf {
    std::env::var_os("RELABEL_SITE_ROOT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"),
        PathBuf::from,
    )
}

/// Serves the app for `db` on a free loopback port.
async fn serve(db: &TestDb) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let bundle = site_root().join("pkg/relabel_bg.wasm");
    assert!(
        bundle.exists(),
        "{} is missing: build it with `scripts/dev build`",
        bundle.display()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(AppState::new(db.store.clone(), &site_root()));
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, server)
}

/// Starts chromedriver and a headless Chromium session.
async fn browser() -> (Client, Driver) {
    let port = free_port();
    let process = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver not found: apt-get install chromium chromium-driver");
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => panic!("cannot reach chromedriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    (
        client,
        Driver {
            process,
            _profile: profile,
        },
    )
}

fn fail(e: fantoccini::error::CmdError) -> String {
    e.to_string()
}

/// Polls `css`'s text (or an attribute) until `ok` holds; what it showed last otherwise.
async fn wait_for(
    client: &Client,
    css: &str,
    attribute: Option<&str>,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            last = match attribute {
                Some(a) => el.attr(a).await.ok().flatten().unwrap_or_default(),
                None => el.text().await.unwrap_or_default(),
            };
            if ok(&last) {
                return Ok(last);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} shows {last:?}"))
}

/// Clicks the element `css` finds, as a person would.
async fn click(client: &Client, css: &str) -> Result<(), String> {
    client
        .find(Locator::Css(css))
        .await
        .map_err(fail)?
        .click()
        .await
        .map_err(fail)
}

/// Presses keys one after the other, as a person typing.
async fn press(client: &Client, keys: &str) -> Result<(), String> {
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    client.perform_actions(actions).await.map_err(fail)
}

/// Logs in through the login form.
async fn log_in(client: &Client, addr: SocketAddr, name: &str) -> Result<(), String> {
    client
        .goto(&format!("http://{addr}/login"))
        .await
        .map_err(fail)?;
    client
        .wait()
        .for_element(Locator::Css("#password"))
        .await
        .map_err(fail)?;
    client
        .find(Locator::Css("#username"))
        .await
        .map_err(fail)?
        .send_keys(name)
        .await
        .map_err(fail)?;
    client
        .find(Locator::Css("#password"))
        .await
        .map_err(fail)?
        .send_keys(&format!("{PASSWORD}{ENTER}"))
        .await
        .map_err(fail)?;
    wait_for(
        client,
        "#project-count",
        None,
        Duration::from_secs(20),
        |t| t.starts_with("Showing"),
    )
    .await
    .map(|_| ())
}

/// On failure, saves what the browser showed and names the file in the error.
async fn keep_screenshot_on_failure<T>(
    client: &Client,
    outcome: Result<T, String>,
) -> Result<T, String> {
    let Err(why) = outcome else { return outcome };
    let path = std::env::temp_dir().join(format!("relabel-browser-{}.png", std::process::id()));
    match client.screenshot().await {
        Ok(png) if std::fs::write(&path, &png).is_ok() => {
            Err(format!("{why} (screenshot: {})", path.display()))
        }
        _ => Err(why),
    }
}

/// Ends a browser test: keeps a screenshot if it failed, closes the browser and its
/// driver, and stops the server; the test's outcome.
async fn shut_down<T>(
    client: Client,
    driver: Driver,
    server: tokio::task::JoinHandle<()>,
    outcome: Result<T, String>,
) -> Result<T, String> {
    let outcome = keep_screenshot_on_failure(&client, outcome).await;
    let _ = client.close().await;
    drop(driver);
    server.abort();
    outcome
}

async fn user_with_roles(db: &TestDb, name: &str, roles: &[(i64, Role)]) -> i64 {
    let hash = relabel::auth::hash_password(PASSWORD).unwrap();
    let id = db
        .store
        .create_user(name, &hash, relabel::domain::now_ms())
        .await
        .unwrap();
    for (project_id, role) in roles {
        db.store
            .grant_role(
                id,
                Some(*project_id),
                *role,
                None,
                relabel::domain::now_ms(),
            )
            .await
            .unwrap();
    }
    id
}

#[tokio::test]
async fn logging_in_shows_my_projects_and_the_hydrated_filter_responds() {
    let db = TestDb::sqlite().await;
    let shoes = project(&db.store, "running-shoes").await;
    let headphones = project(&db.store, "headphones").await;
    project(&db.store, "cookware").await;
    // ana annotates two of the three projects: the third must not be listed for her.
    user_with_roles(
        &db,
        "ana",
        &[
            (shoes.id, Role::Annotator),
            (headphones.id, Role::Annotator),
        ],
    )
    .await;
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;

    let outcome: Result<(), String> = async {
        client
            .goto(&format!("http://{addr}/"))
            .await
            .map_err(fail)?;
        // Anonymous: asked to log in, nothing listed.
        client
            .find(Locator::Css("#log-in-first a"))
            .await
            .map_err(fail)?;
        log_in(&client, addr, "ana").await?;
        wait_for(
            &client,
            "#project-count",
            None,
            Duration::from_secs(20),
            |t| t == "Showing 2 of 2 projects",
        )
        .await?;
        // Typing changes the list only once the wasm bundle has hydrated the page;
        // keep typing until it responds (hydration may still be loading).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let input = client
                .find(Locator::Css("#project-filter"))
                .await
                .map_err(fail)?;
            input.clear().await.map_err(fail)?;
            input.send_keys("head").await.map_err(fail)?;
            if wait_for(
                &client,
                "#project-count",
                None,
                Duration::from_secs(2),
                |t| t == "Showing 1 of 2 projects",
            )
            .await
            .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err("the filter never responded: the page did not hydrate".into());
            }
        }
        let rows = client
            .find_all(Locator::Css("tr.project-row"))
            .await
            .map_err(fail)?;
        let mut slugs = Vec::new();
        for row in rows {
            slugs.push(row.attr("data-slug").await.map_err(fail)?);
        }
        if slugs != [Some("headphones".to_owned())] {
            return Err(format!("rows after filtering: {slugs:?}"));
        }
        Ok(())
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    db.finish().await;
    outcome.unwrap();
}

/// A fresh SQLite database holding the demo project, and a connection to adjust it.
async fn demo_db() -> (TestDb, relabel::domain::Project, sqlx::SqliteConnection) {
    let db = TestDb::sqlite().await;
    relabel::demo_project::install(db.store.as_ref(), 7)
        .await
        .unwrap();
    let demo = db.store.project("demo").await.unwrap().unwrap();
    let conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    (db, demo, conn)
}

#[tokio::test]
async fn an_annotator_judges_skips_and_revises_with_the_keyboard_alone() {
    let (db, demo, mut conn) = demo_db().await;
    // This test is about judging; the demo's judge+rank pairs have their own test.
    sqlx::query("UPDATE pairs SET task = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    let other = project(&db.store, "other").await;
    let ana = user_with_roles(&db, "ana", &[(demo.id, Role::Annotator)]).await;
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;

    let pair_now = || async {
        wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(20),
            |v| !v.is_empty(),
        )
        .await
    };
    let next_pair_after = |before: String| {
        let client = &client;
        async move {
            wait_for(
                client,
                "#pair",
                Some("data-pair-id"),
                Duration::from_secs(20),
                move |v| !v.is_empty() && v != before,
            )
            .await
        }
    };

    let outcome: Result<Vec<i64>, String> = async {
        log_in(&client, addr, "ana").await?;
        client
            .goto(&format!("http://{addr}/p/demo/annotate"))
            .await
            .map_err(fail)?;
        let p1 = pair_now().await?;
        wait_for(&client, ".rules", None, Duration::from_secs(20), |t| {
            t.contains("R-BRAND-01")
        })
        .await?;
        // Each rule carries its worked examples, folded until opened.
        click(&client, r#"li[data-rule="R-BRAND-01"] .examples summary"#).await?;
        wait_for(
            &client,
            r#"li[data-rule="R-BRAND-01"] .examples"#,
            None,
            Duration::from_secs(10),
            |t| t.contains("Examples (2)") && t.contains("Adidas makes this shoe"),
        )
        .await?;
        press(&client, &format!("3{ENTER}")).await?;
        let p2 = next_pair_after(p1.clone()).await?;
        // Cite a rule by typing its id in the guideline search, then label and submit.
        press(&client, "/").await?;
        press(&client, &format!("R-BRAND-01{ENTER}")).await?;
        wait_for(&client, "#cited", None, Duration::from_secs(10), |t| {
            t.contains("R-BRAND-01")
        })
        .await?;
        // R opens the rationale; Esc hands the keys back to the workspace.
        press(&client, "r").await?;
        press(&client, "brand differs\u{E00C}").await?;
        press(&client, &format!("2{ENTER}")).await?;
        let p3 = next_pair_after(p2.clone()).await?;
        press(&client, &format!("4{ENTER}")).await?;
        let p4 = next_pair_after(p3.clone()).await?;
        press(&client, "s").await?;
        let p5 = next_pair_after(p4.clone()).await?;
        // U brings back the last judged pair; 1 then Enter stores a revision.
        press(&client, "u").await?;
        wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(10),
            |v| v == p3,
        )
        .await?;
        press(&client, &format!("1{ENTER}")).await?;
        wait_for(&client, "#message", None, Duration::from_secs(10), |t| {
            t == "Revised."
        })
        .await?;
        // Back on the pair in hand.
        wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(10),
            |v| v == p5,
        )
        .await?;
        // Another project's pairs stay closed.
        client
            .goto(&format!("http://{addr}/p/other/annotate"))
            .await
            .map_err(fail)?;
        wait_for(&client, "#message", None, Duration::from_secs(20), |t| {
            t.contains("no access")
        })
        .await?;
        if client.find(Locator::Css("#pair")).await.is_ok() {
            return Err("a pair of another project was shown".into());
        }
        // On a phone-sized screen the workspace fits the width: nothing scrolls sideways
        // and the label buttons and Submit are on screen.
        client.set_window_size(390, 844).await.map_err(fail)?;
        client
            .goto(&format!("http://{addr}/p/demo/annotate"))
            .await
            .map_err(fail)?;
        pair_now().await?;
        wait_for(&client, ".labels", None, Duration::from_secs(20), |t| {
            t.contains("L4")
        })
        .await?;
        let layout = client
            .execute(
                "const w = document.documentElement.clientWidth;
                 const inside = (el) => { const r = el.getBoundingClientRect();
                                          return r.left >= 0 && r.right <= w + 1; };
                 return [document.documentElement.scrollWidth, w,
                         [...document.querySelectorAll('.labels button, #submit')].every(inside)];",
                vec![],
            )
            .await
            .map_err(fail)?;
        let (scroll, width, inside) = (layout[0].as_i64(), layout[1].as_i64(), layout[2].as_bool());
        if scroll > width || inside != Some(true) {
            return Err(format!(
                "narrow screen: scroll width {scroll:?} > {width:?} or buttons off screen ({inside:?})"
            ));
        }
        [p1, p2, p3, p4]
            .iter()
            .map(|p| p.parse::<i64>().map_err(|e| e.to_string()))
            .collect()
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    let pairs = outcome.unwrap();
    let (p1, p2, p3, p4) = (pairs[0], pairs[1], pairs[2], pairs[3]);
    let rows = db.store.judgments(&demo).await.unwrap();
    let got: Vec<(i64, i64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.pair_id,
                r.revision,
                r.label.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(p1, 1, "L3"), (p2, 1, "L2"), (p3, 1, "L4"), (p3, 2, "L1")]
    );
    assert!(rows.iter().all(|r| r.user_id == ana));
    assert!(
        rows[1].rules_cited.contains("R-BRAND-01"),
        "{}",
        rows[1].rules_cited
    );
    assert_eq!(rows[0].rules_cited, "[]");
    let skipped: Vec<(i64, i64)> = sqlx::query_as("SELECT pair_id, user_id FROM skips")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(skipped, [(p4, ana)]);
    let extra: Vec<(Option<String>, Option<i64>, String)> = sqlx::query_as(
        "SELECT rationale, guideline_version_id, idempotency_key FROM judgments ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(extra[1].0.as_deref(), Some("brand differs"));
    assert_eq!(extra[0].0, None, "an empty rationale is stored as none");
    assert!(extra.iter().all(|(_, version, _)| version.is_some()));
    // Keys carry a random part, so a reused lease id cannot collide with an old key.
    assert!(
        extra
            .iter()
            .all(|(_, _, key)| key.rsplit('-').next().is_some_and(|n| n.len() == 12)),
        "{extra:?}"
    );
    let _ = other;
    db.finish().await;
}

#[tokio::test]
async fn only_a_project_admin_manages_members_from_the_members_page() {
    let db = TestDb::sqlite().await;
    let shop = project(&db.store, "shop").await;
    user_with_roles(&db, "lead", &[(shop.id, Role::Admin)]).await;
    user_with_roles(&db, "ana", &[(shop.id, Role::Annotator)]).await;
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;

    let outcome: Result<String, String> = async {
        // An annotator is told the page is not theirs, and sees no member.
        log_in(&client, addr, "ana").await?;
        if client.find(Locator::Css("a.open-members")).await.is_ok() {
            return Err("an annotator was offered the members page".into());
        }
        client
            .goto(&format!("http://{addr}/p/shop/members"))
            .await
            .map_err(fail)?;
        wait_for(
            &client,
            "#members-denied",
            None,
            Duration::from_secs(20),
            |t| t.contains("Only this project's admins"),
        )
        .await?;
        if client.find(Locator::Css("tr.member")).await.is_ok() {
            return Err("members were listed to an annotator".into());
        }
        click(&client, "#log-out").await?;

        // The admin follows the link from the project list, adds a user, and sees the
        // generated password once.
        log_in(&client, addr, "lead").await?;
        click(&client, "a.open-members").await?;
        wait_for(
            &client,
            r#"tr[data-user="ana"]"#,
            None,
            Duration::from_secs(20),
            |t| t.contains("Annotator"),
        )
        .await?;
        client
            .find(Locator::Css("#member-name"))
            .await
            .map_err(fail)?
            .send_keys("rev")
            .await
            .map_err(fail)?;
        click(&client, r#"#member-role option[value="reviewer"]"#).await?;
        click(&client, "#add-member").await?;
        let shown = wait_for(
            &client,
            "#member-password-shown",
            None,
            Duration::from_secs(20),
            |t| t.len() == 20,
        )
        .await?;
        wait_for(
            &client,
            r#"tr[data-user="rev"]"#,
            None,
            Duration::from_secs(20),
            |t| t.contains("Reviewer"),
        )
        .await?;
        // Take ana's annotator role away with its button.
        click(&client, r#"tr[data-user="ana"] button.revoke-role"#).await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while client
            .find(Locator::Css(r#"tr[data-user="ana"]"#))
            .await
            .is_ok()
        {
            if Instant::now() > deadline {
                return Err("ana still listed after her only role was taken".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(shown)
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    let shown = outcome.unwrap();
    let rev = db.store.user_by_name("rev").await.unwrap().unwrap();
    assert!(relabel::auth::verify_password(&shown, &rev.password_hash));
    let roles = db.store.memberships(rev.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].role, Role::Reviewer);
    assert_eq!(roles[0].project_id, Some(shop.id));
    let ana = db.store.user_by_name("ana").await.unwrap().unwrap();
    assert!(db.store.memberships(ana.id).await.unwrap().is_empty());
    db.finish().await;
}

/// Presses Enter to submit; when the page asks to confirm the order (a candidate with
/// another label ranked above one with the chosen label), presses it again.
async fn submit_confirming(client: &Client, pair: &str) -> Result<(), String> {
    press(client, &ENTER.to_string()).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = client
            .find(Locator::Css("#pair"))
            .await
            .ok()
            .map(|el| async move { el.attr("data-pair-id").await.ok().flatten() });
        let now = match shown {
            Some(f) => f.await,
            None => None,
        };
        if now.as_deref() != Some(pair) {
            return Ok(());
        }
        if let Ok(el) = client.find(Locator::Css("#message")).await
            && el
                .text()
                .await
                .unwrap_or_default()
                .contains("Press Enter again")
        {
            press(client, &ENTER.to_string()).await?;
        }
        if Instant::now() > deadline {
            return Err(format!("pair {pair} was not submitted"));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn an_annotator_ranks_by_keyboard_with_a_tie_flag_and_correction_then_by_dragging() {
    use fantoccini::actions::{MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    let (db, demo, mut conn) = demo_db().await;
    // Two judge+rank pairs of the demo, served first.
    let ranked: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM pairs WHERE task = 'judge+rank' ORDER BY id LIMIT 2")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for (pair, priority) in ranked.iter().zip([2.0, 1.0]) {
        sqlx::query("UPDATE pairs SET priority = $1 WHERE id = $2")
            .bind(priority)
            .bind(pair)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE projects SET gold_rate = 0")
        .execute(&mut conn)
        .await
        .unwrap();
    let ana = user_with_roles(&db, "ana", &[(demo.id, Role::Annotator)]).await;
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;
    let (first, second) = (ranked[0].to_string(), ranked[1].to_string());
    let card = |c: usize| format!(r#".candidate-card[data-candidate="{c}"]"#);

    let outcome: Result<(), String> = async {
        log_in(&client, addr, "ana").await?;
        client
            .goto(&format!("http://{addr}/p/demo/annotate"))
            .await
            .map_err(fail)?;
        wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(20),
            |v| v == first,
        )
        .await?;
        wait_for(&client, ".rules", None, Duration::from_secs(20), |t| {
            t.contains("R-BRAND-01")
        })
        .await?;
        client.find(Locator::Css("#ranking")).await.map_err(fail)?;
        // Label first; then the numbers drive the ranking.
        press(&client, "2").await?;
        wait_for(&client, "#phase", None, Duration::from_secs(10), |t| {
            t.starts_with("Ranking")
        })
        .await?;
        // Candidate 3 to the top, candidate 2 tied with candidate 1 below it.
        press(&client, "3kk").await?;
        wait_for(
            &client,
            r#".candidate-card[data-place="1"]"#,
            Some("data-candidate"),
            Duration::from_secs(10),
            |v| v == "2",
        )
        .await?;
        press(&client, "2=").await?;
        wait_for(
            &client,
            &card(1),
            Some("data-place"),
            Duration::from_secs(10),
            |v| v == "2",
        )
        .await?;
        // Candidate 1's first wrong step is its 4th, against R-BRAND-01.
        press(&client, "1w4").await?;
        wait_for(
            &client,
            &format!("{} .flag", card(0)),
            None,
            Duration::from_secs(10),
            |t| t.contains("First wrong step: 4"),
        )
        .await?;
        press(&client, "/").await?;
        press(&client, &format!("R-BRAND-01{ENTER}")).await?;
        // A corrected reasoning, starting from the best candidate's steps.
        press(&client, "c").await?;
        client
            .wait()
            .for_element(Locator::Css(".correction-step"))
            .await
            .map_err(fail)?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        press(&client, " Corrected.\u{E00C}").await?;
        submit_confirming(&client, &first).await?;

        // The second pair, ranked by dragging candidate 3 onto candidate 1.
        wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(20),
            |v| v == second,
        )
        .await?;
        press(&client, "3").await?;
        wait_for(&client, "#phase", None, Duration::from_secs(10), |t| {
            t.starts_with("Ranking")
        })
        .await?;
        // Room for every candidate on screen, as a person would scroll to see them.
        client.set_window_size(1280, 1800).await.map_err(fail)?;
        client
            .execute(
                "document.getElementById('ranking').scrollIntoView({block: 'start'});",
                vec![],
            )
            .await
            .map_err(fail)?;
        let handle = client
            .find(Locator::Css(&format!("{} .drag-handle", card(2))))
            .await
            .map_err(fail)?;
        let target = client.find(Locator::Css(&card(0))).await.map_err(fail)?;
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: handle,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveToElement {
                element: target.clone(),
                duration: Some(Duration::from_millis(200)),
                x: 0.0,
                y: -10.0,
            })
            .then(PointerAction::MoveToElement {
                element: target,
                duration: Some(Duration::from_millis(100)),
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        client.perform_actions(drag).await.map_err(fail)?;
        wait_for(
            &client,
            r#".candidate-card[data-place="1"]"#,
            Some("data-candidate"),
            Duration::from_secs(10),
            |v| v == "2",
        )
        .await?;
        submit_confirming(&client, &second).await?;
        Ok(())
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    outcome.unwrap();
    let rows = db.store.judgments(&demo).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.user_id == ana));
    let json = |t: &Option<String>| {
        serde_json::from_str::<serde_json::Value>(t.as_deref().unwrap()).unwrap()
    };
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!(
        (a.pair_id.to_string(), a.label.as_deref()),
        (first.clone(), Some("L2"))
    );
    assert_eq!(json(&a.ranking), serde_json::json!([[2], [0, 1]]));
    assert_eq!(
        json(&a.step_flags),
        serde_json::json!([{"candidate": 0, "step": 3, "rule": "R-BRAND-01", "dimension": "brand"}])
    );
    let corrected = json(&a.corrected_cot);
    assert_eq!(corrected["label"], "L2");
    let steps = corrected["steps"].as_array().unwrap();
    assert!(
        steps
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .ends_with(" Corrected."),
        "{corrected}"
    );
    // The correction starts from the best-ranked candidate's steps.
    let best = db.store.pair_view(&demo, a.pair_id).await.unwrap().unwrap();
    assert_eq!(steps.len(), best.cot[2].steps.len());
    assert_eq!(steps[0], best.cot[2].steps[0].trim());
    assert_eq!(
        (b.pair_id.to_string(), b.label.as_deref()),
        (second, Some("L3"))
    );
    assert_eq!(json(&b.ranking), serde_json::json!([[2], [0], [1]]));
    assert_eq!(json(&b.step_flags), serde_json::json!([]));
    assert!(b.corrected_cot.is_none());
    db.finish().await;
}

/// Where tests leave files for people to look at (screenshots): `RELABEL_ARTIFACTS`, or
/// `target/test-artifacts`.
fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("RELABEL_ARTIFACTS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Three annotators judge `pairs` pairs of the demo each (seeded): mostly the label the
/// CoT candidates agree on, sometimes one level off, now and then anything.
async fn simulate_judgments(db: &TestDb, demo: &relabel::domain::Project, pairs: usize) {
    use rand::{Rng, SeedableRng};
    use relabel::queue::{self, JudgmentInput};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let scale = demo.scale_labels.clone();
    for (n, name) in ["sim-a", "sim-b", "sim-c"].into_iter().enumerate() {
        let user = user_with_roles(db, name, &[(demo.id, Role::Annotator)]).await;
        for i in 0..pairs {
            let Some(claim) = queue::next_pair(db.store.as_ref(), demo, user)
                .await
                .unwrap()
            else {
                break;
            };
            let pair = db
                .store
                .pair_view(demo, claim.pair_id)
                .await
                .unwrap()
                .unwrap();
            let said = pair.cot.iter().filter_map(|c| c.label.as_deref());
            let base = said
                .filter_map(|l| scale.iter().position(|s| s == l))
                .max()
                .unwrap_or(2);
            let level = match rng.random_range(0..10) {
                0..=6 => base,
                7 | 8 => base.saturating_sub(1),
                _ => rng.random_range(0..scale.len()),
            };
            let input = JudgmentInput {
                pair_id: claim.pair_id,
                lease_id: Some(claim.lease_id),
                label: Some(scale[level].clone()),
                rules: vec![],
                rationale: None,
                duration_ms: Some(2_000 + 500 * n as i64 + (i as i64 % 7) * 300),
                guideline_version_id: None,
                idempotency_key: format!("{name}-{i}"),
                ranking: None,
            };
            queue::submit(db.store.as_ref(), demo, user, &input, false)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_reviewer_reads_the_quality_dashboard_decides_a_split_pair_and_an_annotator_cannot() {
    let (db, demo, mut conn) = demo_db().await;
    // Judging only: the demo's judge+rank pairs would also want a ranking.
    sqlx::query("UPDATE pairs SET task = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    simulate_judgments(&db, &demo, 40).await;
    let waiting = relabel::quality::review_queue(db.store.as_ref(), &demo)
        .await
        .unwrap();
    assert!(!waiting.is_empty(), "the simulation split no pair");
    let to_decide = waiting[0].pair_id;
    user_with_roles(&db, "rev", &[(demo.id, Role::Reviewer)]).await;
    user_with_roles(&db, "ana", &[(demo.id, Role::Annotator)]).await;
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;
    let charts = [
        "labels-by-band",
        "labels-by-capability",
        "judgments-per-day",
        "alpha-over-time",
        "leaderboard",
        "queue-depth",
        "confusion",
    ];
    let shot = artifacts_dir().join("quality-dashboard.png");
    let _ = std::fs::remove_file(&shot);

    let outcome: Result<(), String> = async {
        // An annotator gets no link and is refused at the address.
        log_in(&client, addr, "ana").await?;
        if client.find(Locator::Css("a.open-quality")).await.is_ok() {
            return Err("an annotator was offered the quality dashboard".into());
        }
        client
            .goto(&format!("http://{addr}/p/demo/quality"))
            .await
            .map_err(fail)?;
        wait_for(
            &client,
            "#dashboard-denied",
            None,
            Duration::from_secs(20),
            |t| t.contains("Only this project's reviewers and admins"),
        )
        .await?;
        if client.find(Locator::Css("figure.chart")).await.is_ok() {
            return Err("a chart was shown to an annotator".into());
        }
        click(&client, "#log-out").await?;

        // The reviewer follows the link and finds every chart, drawn, with its table.
        log_in(&client, addr, "rev").await?;
        click(&client, "a.open-quality").await?;
        wait_for(
            &client,
            "#quality-alpha",
            None,
            Duration::from_secs(20),
            |t| t.parse::<f64>().is_ok(),
        )
        .await?;
        for id in charts {
            let figure = format!("#chart-{id}");
            client
                .find(Locator::Css(&format!("{figure} svg.chart-svg")))
                .await
                .map_err(|e| format!("{figure} has no drawing: {e}"))?;
            let rows = client
                .find_all(Locator::Css(&format!("#table-{id} tbody tr")))
                .await
                .map_err(fail)?;
            if rows.is_empty() {
                return Err(format!("the table of {id} is empty"));
            }
            let href = client
                .find(Locator::Css(&format!("{figure} a.csv")))
                .await
                .map_err(fail)?
                .attr("href")
                .await
                .map_err(fail)?
                .unwrap_or_default();
            if href != format!("/api/v1/projects/demo/quality/charts/{id}") {
                return Err(format!("{id}'s CSV link is {href:?}"));
            }
        }
        // Bars are drawn from the data: the band chart has some.
        let bars = client
            .find_all(Locator::Css("#chart-labels-by-band rect.bar"))
            .await
            .map_err(fail)?;
        if bars.is_empty() {
            return Err("the band chart drew no bars".into());
        }
        // Opening a table shows its numbers.
        click(&client, "#chart-leaderboard details summary").await?;
        wait_for(
            &client,
            "#table-leaderboard",
            None,
            Duration::from_secs(5),
            |t| t.to_lowercase().contains("sim-a"),
        )
        .await?;
        client.set_window_size(1280, 3600).await.map_err(fail)?;
        let png = client.screenshot().await.map_err(fail)?;
        std::fs::write(&shot, &png).map_err(|e| e.to_string())?;
        client.set_window_size(1280, 900).await.map_err(fail)?;

        // The review queue lists the split pair; the reviewer reads its judgments and
        // records the final label with a note.
        client
            .goto(&format!("http://{addr}/p/demo/review"))
            .await
            .map_err(fail)?;
        wait_for(
            &client,
            "#review-count",
            None,
            Duration::from_secs(20),
            |t| t.contains("await review"),
        )
        .await?;
        click(&client, &format!(r#"tr[data-pair="{to_decide}"] a"#)).await?;
        wait_for(
            &client,
            "#review-judgments",
            None,
            Duration::from_secs(20),
            |t| {
                let t = t.to_lowercase();
                t.contains("sim-a") && t.contains("sim-b")
            },
        )
        .await?;
        click(&client, r#"#decision-label option[value="L2"]"#).await?;
        client
            .find(Locator::Css("#decision-note"))
            .await
            .map_err(fail)?
            .send_keys("the colour is off by a shade")
            .await
            .map_err(fail)?;
        click(&client, "#decide").await?;
        wait_for(
            &client,
            "#review-decisions",
            None,
            Duration::from_secs(20),
            |t| t.contains("rev: L2") && t.contains("off by a shade"),
        )
        .await?;
        Ok(())
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    outcome.unwrap();
    let decisions = db.store.decisions(&demo, to_decide).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].label, "L2");
    assert_eq!(decisions[0].note, "the colour is off by a shade");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    println!("dashboard screenshot: {}", shot.display());
    db.finish().await;
}

/// Polls an input's current value (its property, which typing changes) until `ok` holds.
async fn wait_for_value(
    client: &Client,
    css: &str,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            last = el.prop("value").await.ok().flatten().unwrap_or_default();
            if ok(&last) {
                return Ok(last);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} holds {last:?}"))
}

/// Clicks `css` once it appears.
async fn click_when_there(client: &Client, css: &str) -> Result<(), String> {
    wait_for(client, css, None, Duration::from_secs(20), |_| true).await?;
    click(client, css).await
}

/// Types into the field `css`.
async fn type_into(client: &Client, css: &str, text: &str) -> Result<(), String> {
    client
        .find(Locator::Css(css))
        .await
        .map_err(fail)?
        .send_keys(text)
        .await
        .map_err(fail)
}

#[tokio::test]
async fn a_guideline_editor_publishes_an_edit_that_the_next_judgment_is_made_under() {
    let (db, demo, mut conn) = demo_db().await;
    sqlx::query("UPDATE pairs SET task = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    user_with_roles(&db, "ed", &[(demo.id, Role::GuidelineEditor)]).await;
    user_with_roles(&db, "ana", &[(demo.id, Role::Annotator)]).await;
    // The example will be picked from this pair by searching for its query.
    let picked = db.store.pair_view(&demo, 1).await.unwrap().unwrap();
    let v1_order: Vec<String> = db
        .store
        .guideline_version(&demo, relabel::storage::VersionRef::Latest)
        .await
        .unwrap()
        .unwrap()
        .rules
        .iter()
        .map(|r| r.key.clone())
        .collect();
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;

    let outcome: Result<String, String> = async {
        // An annotator is offered no editor and is refused at its address.
        log_in(&client, addr, "ana").await?;
        if client.find(Locator::Css("a.open-editor")).await.is_ok() {
            return Err("an annotator was offered the guideline editor".into());
        }
        client
            .goto(&format!("http://{addr}/p/demo/guideline/edit"))
            .await
            .map_err(fail)?;
        wait_for(
            &client,
            "#editor-denied",
            None,
            Duration::from_secs(20),
            |t| t.contains("Only this project's guideline editors"),
        )
        .await?;
        if client.find(Locator::Css("#rule-body")).await.is_ok() {
            return Err("the editor was shown to an annotator".into());
        }
        click(&client, "#log-out").await?;

        // The editor edits the brand rule's body (the preview follows), adds an example,
        // and publishes with a note.
        log_in(&client, addr, "ed").await?;
        click(&client, "a.open-editor").await?;
        wait_for(
            &client,
            "#editor-status",
            None,
            Duration::from_secs(20),
            |t| t.contains("version 1"),
        )
        .await?;
        // Dragging the first rule onto the second swaps them.
        client
            .execute(
                "const items = document.querySelectorAll('#editor-rules li');
                 const data = new DataTransfer();
                 items[0].dispatchEvent(new DragEvent('dragstart', { bubbles: true, dataTransfer: data }));
                 items[1].dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: data }));
                 items[1].dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }));",
                vec![],
            )
            .await
            .map_err(fail)?;
        let second = format!("#editor-rules li:nth-child(2)[data-rule=\"{}\"]", v1_order[0]);
        wait_for(&client, &second, None, Duration::from_secs(10), |_| true).await?;
        click(&client, r#"li[data-rule="R-BRAND-01"] .pick-rule"#).await?;
        wait_for_value(&client, "#rule-id", Duration::from_secs(10), |v| {
            v == "R-BRAND-01"
        })
        .await?;
        type_into(
            &client,
            "#rule-body",
            " The EDITED-MARKER applies to **sub-brands** too.",
        )
        .await?;
        wait_for(
            &client,
            "#rule-preview",
            None,
            Duration::from_secs(10),
            |t| t.contains("EDITED-MARKER applies to sub-brands too"),
        )
        .await?;
        // The example is picked from the project's pairs by searching them.
        type_into(&client, "#example-search", &picked.query).await?;
        click(&client, "#search-pairs").await?;
        click_when_there(&client, r#"#pair-hits .pick-pair[data-pair="1"]"#).await?;
        wait_for_value(&client, "#example-query", Duration::from_secs(10), |v| v == picked.query).await?;
        wait_for_value(&client, "#example-item", Duration::from_secs(10), |v| v == picked.item.title).await?;
        click(&client, r#"#example-label option[value="L3"]"#).await?;
        type_into(&client, "#example-why", "a sub-brand of the brand asked for").await?;
        click(&client, "#add-example").await?;
        let shown = format!("{} → {}: L3", picked.query, picked.item.title);
        wait_for(&client, "#rule-examples", None, Duration::from_secs(10), |t| t.contains(&shown)).await?;
        type_into(&client, "#publish-note", "brand rule: sub-brands count").await?;
        click(&client, "#publish").await?;
        wait_for(
            &client,
            "#editor-status",
            None,
            Duration::from_secs(20),
            |t| t.contains("Published version 2"),
        )
        .await?;
        click(&client, "#log-out").await?;

        // The annotator's next pair shows the new text, and the judgment records it.
        log_in(&client, addr, "ana").await?;
        client
            .goto(&format!("http://{addr}/p/demo/annotate"))
            .await
            .map_err(fail)?;
        let pair = wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(20),
            |v| !v.is_empty(),
        )
        .await?;
        wait_for(&client, ".rules", None, Duration::from_secs(20), |t| {
            t.contains("EDITED-MARKER applies to sub-brands too")
        })
        .await?;
        press(&client, &format!("3{ENTER}")).await?;
        wait_for(
            &client,
            "#pair",
            Some("data-pair-id"),
            Duration::from_secs(20),
            |v| !v.is_empty() && v != pair,
        )
        .await?;
        Ok(pair)
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    let pair: i64 = outcome.unwrap().parse().unwrap();
    let latest = db
        .store
        .guideline_version(&demo, relabel::storage::VersionRef::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.number, Some(2));
    assert_eq!(latest.change_note, "brand rule: sub-brands count");
    let brand = latest.rules.iter().find(|r| r.key == "R-BRAND-01").unwrap();
    assert!(
        brand
            .body
            .ends_with("The EDITED-MARKER applies to **sub-brands** too."),
        "{}",
        brand.body
    );
    assert!(
        brand.examples.iter().any(|e| e.query == picked.query
            && e.item_title == picked.item.title
            && e.label == "L3")
    );
    assert_eq!(latest.rules[1].key, v1_order[0], "the dragged rule moved");
    assert_eq!(latest.rules[0].key, v1_order[1]);
    let judged = db.store.pair_judgments(&demo, pair).await.unwrap();
    assert_eq!(judged.len(), 1);
    assert_eq!(judged[0].annotator, "ana");
    assert_eq!(
        judged[0].guideline_version,
        Some(2),
        "the judgment records version 2"
    );
    db.finish().await;
}

/// Markup an attacker could put in an imported file or a rationale: if any of it ran or
/// became an element, `window.__pwned` would be set or `#injected` would exist.
const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b id="injected">bold</b>"#;

/// What the page's DOM says about [`HOSTILE`]: `[ran, elements made, text of css]`.
async fn markup_check(client: &Client, css: &str) -> Result<serde_json::Value, String> {
    client
        .execute(
            "return [window.__pwned !== undefined, \
                     document.querySelectorAll('#injected, img[src=\"x\"]').length, \
                     [...document.querySelectorAll(arguments[0])].map(e => e.textContent)];",
            vec![serde_json::json!(css)],
        )
        .await
        .map_err(fail)
}

/// Waits for `css` to exist, then checks every element it finds shows [`HOSTILE`] as
/// text and that none of it ran or became an element anywhere on the page.
async fn shows_as_text(client: &Client, css: &str) -> Result<(), String> {
    wait_for(client, css, None, Duration::from_secs(20), |_| true).await?;
    let found = markup_check(client, css).await?;
    let texts = found[2].as_array().cloned().unwrap_or_default();
    if found[0] != serde_json::json!(false)
        || found[1] != serde_json::json!(0)
        || texts.is_empty()
        || !texts
            .iter()
            .all(|t| t.as_str().is_some_and(|t| t.contains(HOSTILE)))
    {
        return Err(format!("{css}: markup was not shown as text: {found}"));
    }
    Ok(())
}

#[tokio::test]
async fn markup_in_items_cot_rules_and_rationales_is_shown_as_text_everywhere() {
    use relabel::domain::{CotRecord, PairRecord};
    let db = TestDb::sqlite().await;
    let shop = project(&db.store, "shop").await;
    let mut record = PairRecord::new(
        format!("boots {HOSTILE}"),
        "sku-1",
        format!("Boot {HOSTILE}"),
    );
    record.item.description = Some(format!("Warm. {HOSTILE}"));
    record.item.attributes = [("brand".to_owned(), HOSTILE.to_owned())].into();
    record.cot = vec![CotRecord {
        model: "m".into(),
        text: format!("The query asks for boots.\n{HOSTILE}"),
        steps: vec!["The query asks for boots.".into(), HOSTILE.into()],
        label: Some("L3".into()),
    }];
    relabel::import::import_records(db.store.as_ref(), &shop, &[record], "markup")
        .await
        .unwrap();
    let pair_id = db.store.export_page(&shop, 0, 1).await.unwrap()[0].pair_id;
    // A published rule whose title and markdown body carry it.
    let rule = relabel::domain::RuleRecord {
        key: "R-MARKUP-01".into(),
        title: format!("Markup {HOSTILE}"),
        body: HOSTILE.into(),
        capabilities: vec![],
        dimension: None,
        examples: vec![],
    };
    db.store
        .save_draft(&shop, &[rule], None, relabel::domain::now_ms())
        .await
        .unwrap();
    db.store
        .publish_draft(&shop, "markup", None, relabel::domain::now_ms())
        .await
        .unwrap();
    // An earlier annotator's rationale carries the markup too.
    let writer = user_with_roles(&db, "writer", &[(shop.id, Role::Annotator)]).await;
    let input = relabel::queue::JudgmentInput {
        pair_id,
        lease_id: None,
        label: Some("L2".into()),
        rules: vec![],
        rationale: Some(HOSTILE.into()),
        duration_ms: Some(1_000),
        guideline_version_id: None,
        idempotency_key: "markup-1".into(),
        ranking: None,
    };
    relabel::queue::submit(db.store.as_ref(), &shop, writer, &input, false)
        .await
        .unwrap();
    user_with_roles(&db, "ana", &[(shop.id, Role::Annotator)]).await;
    user_with_roles(&db, "rev", &[(shop.id, Role::Reviewer)]).await;
    let (addr, server) = serve(&db).await;
    let (client, driver) = browser().await;

    let outcome: Result<(), String> = async {
        // The annotator's workspace: query, title, attribute, description, CoT steps.
        log_in(&client, addr, "ana").await?;
        client
            .goto(&format!("http://{addr}/p/shop/annotate"))
            .await
            .map_err(fail)?;
        click_when_there(&client, "details.cot summary").await?;
        // Past hydration too: markup the browser's own render made would show now.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for css in [
            r#"li[data-rule="R-MARKUP-01"] strong"#,
            r#"li[data-rule="R-MARKUP-01"] .rule-body"#,
            "#pair-query",
            ".item-title",
            ".attributes td",
            ".description",
            ".candidate li:nth-child(2)",
        ] {
            shows_as_text(&client, css).await?;
        }
        click(&client, "#log-out").await?;

        // The reviewer's page of the pair: the item, the rationale, the CoT steps.
        log_in(&client, addr, "rev").await?;
        client
            .goto(&format!("http://{addr}/p/shop/review/{pair_id}"))
            .await
            .map_err(fail)?;
        wait_for(
            &client,
            "#review-judgments",
            None,
            Duration::from_secs(20),
            |_| true,
        )
        .await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        for css in [
            "#review-query",
            "#review-item",
            "#review-judgments .rationale",
            ".review-candidate .steps li:nth-child(2)",
        ] {
            shows_as_text(&client, css).await?;
        }
        Ok(())
    }
    .await;

    let outcome = shut_down(client, driver, server, outcome).await;
    db.finish().await;
    outcome.unwrap();
}
