//! The page in real headless Chromium: rendered by the server, then hydrated from the
//! wasm bundle, proven by a control that only responds once hydrated.
//!
//! Needs Debian's `chromium` and `chromium-driver` and the bundle under `target/site/pkg`
//! (or `RELABEL_SITE_ROOT`); `scripts/dev test` provides all three.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use relabel::web::{AppState, app};
use support::{TestDb, project};

const PASSWORD: &str = "a long enough password";

/// A chromedriver process, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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

async fn wait_for_text(
    client: &fantoccini::Client,
    css: &str,
    want: &str,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            last = el.text().await.unwrap_or_default();
            if last == want {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} shows {last:?}, expected {want:?}"))
}

#[tokio::test]
async fn logging_in_shows_my_projects_and_the_hydrated_filter_responds() {
    let bundle = site_root().join("pkg/relabel_bg.wasm");
    assert!(
        bundle.exists(),
        "{} is missing: build it with `scripts/dev build`",
        bundle.display()
    );

    let db = TestDb::sqlite().await;
    let shoes = project(&db.store, "running-shoes").await;
    let headphones = project(&db.store, "headphones").await;
    project(&db.store, "cookware").await;
    // ana annotates two of the three projects: the third must not be listed for her.
    let hash = relabel::auth::hash_password(PASSWORD).unwrap();
    let ana = db.store.create_user("ana", &hash).await.unwrap();
    for p in [&shoes, &headphones] {
        db.store
            .grant_role(ana, Some(p.id), relabel::auth::Role::Annotator)
            .await
            .unwrap();
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(AppState::new(db.store.clone(), &site_root()));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver not found: apt-get install chromium chromium-driver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
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

    let outcome: Result<(), String> = async {
        let fail = |e: fantoccini::error::CmdError| e.to_string();
        client
            .goto(&format!("http://{addr}/"))
            .await
            .map_err(fail)?;
        // Anonymous: asked to log in, nothing listed.
        client
            .find(Locator::Css("#log-in-first a"))
            .await
            .map_err(fail)?
            .click()
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
            .send_keys("ana")
            .await
            .map_err(fail)?;
        client
            .find(Locator::Css("#password"))
            .await
            .map_err(fail)?
            .send_keys(&format!("{PASSWORD}\n"))
            .await
            .map_err(fail)?;
        wait_for_text(
            &client,
            "#project-count",
            "Showing 2 of 2 projects",
            Duration::from_secs(20),
        )
        .await?;
        // Typing changes the list only once the wasm bundle has hydrated the page;
        // keep typing until it responds (hydration may still be loading).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let input = client
                .find(Locator::Css("#project-filter"))
                .await
                .map_err(|e| e.to_string())?;
            input.clear().await.map_err(|e| e.to_string())?;
            input.send_keys("head").await.map_err(|e| e.to_string())?;
            if wait_for_text(
                &client,
                "#project-count",
                "Showing 1 of 2 projects",
                Duration::from_secs(2),
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
            .map_err(|e| e.to_string())?;
        let mut slugs = Vec::new();
        for row in rows {
            slugs.push(row.attr("data-slug").await.map_err(|e| e.to_string())?);
        }
        if slugs != [Some("headphones".to_owned())] {
            return Err(format!("rows after filtering: {slugs:?}"));
        }
        Ok(())
    }
    .await;

    let _ = client.close().await;
    drop(driver);
    server.abort();
    db.finish().await;
    outcome.unwrap();
}
