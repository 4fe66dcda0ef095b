//! Storage, import, frequency bands and the demo, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

use std::io::Write;

use relabel::demo_project;
use relabel::import::{ImportError, ImportOptions, import_file};
use relabel::storage::{ProjectStats, StoreError};
use support::{TestDb, each_backend, fixtures, project};

fn band(stats: &ProjectStats, name: &str) -> (i64, i64, i64) {
    let b = &stats.bands[name];
    (b.queries, b.pairs, b.cot_candidates)
}

#[tokio::test]
async fn projects_are_created_listed_and_unique() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let a = project(store, "shoes").await;
        project(store, "headphones").await;
        assert_eq!(a.scale_labels, ["L1", "L2", "L3", "L4"]);
        let dup = store
            .create_project(
                &relabel::domain::NewProject {
                    slug: "shoes".into(),
                    name: "again".into(),
                    scale: relabel::domain::ScalePreset::Esci,
                    overlap_k: 1,
                    task: relabel::domain::TaskKind::Rank,
                },
                relabel::domain::now_ms(),
            )
            .await;
        assert!(
            matches!(&dup, Err(StoreError::Conflict(m)) if m.contains("shoes")),
            "{}: {dup:?}",
            db.name
        );
        let slugs: Vec<String> = store
            .list_projects()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.summary.slug)
            .collect();
        assert_eq!(slugs, ["headphones", "shoes"], "{}", db.name);
        assert_eq!(store.project("shoes").await.unwrap(), Some(a));
        assert_eq!(store.project("nope").await.unwrap(), None);
        db
    })
    .await;
}

#[tokio::test]
async fn jsonl_import_counts_bands_and_reimport_adds_nothing() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let p = project(store, "shop").await;
        let path = fixtures().join("pairs.jsonl");
        let report = import_file(store.as_ref(), &p, &path, &ImportOptions::default())
            .await
            .expect("import");
        assert_eq!(report.lines, 8);
        assert_eq!(report.counts.pairs_added, 8);
        assert_eq!(report.counts.queries_added, 5);
        assert_eq!(report.counts.items_added, 8);
        assert_eq!(report.counts.cot_added, 6);
        assert_eq!(report.counts.gold_added, 3);

        let stats = store.stats(&p).await.unwrap();
        assert_eq!(
            (
                stats.queries,
                stats.items,
                stats.pairs,
                stats.cot_candidates,
                stats.gold_pairs
            ),
            (5, 8, 8, 6, 3),
            "{}",
            db.name
        );
        // 20,245 searches in all: the 15,230 of "wireless earbuds" are head, the next
        // 4,100 torso (they start at 75% of traffic), the rest tail.
        assert_eq!(band(&stats, "head"), (1, 2, 3), "{}", db.name);
        assert_eq!(band(&stats, "torso"), (1, 2, 3), "{}", db.name);
        assert_eq!(band(&stats, "tail"), (3, 4, 0), "{}", db.name);

        let again = import_file(store.as_ref(), &p, &path, &ImportOptions::default())
            .await
            .expect("re-import");
        assert_eq!(again.counts.pairs_added, 0);
        assert_eq!(again.counts.pairs_existing, 8);
        assert_eq!(again.counts.queries_added + again.counts.items_added, 0);
        assert_eq!(store.stats(&p).await.unwrap(), stats, "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn csv_import_shares_queries_and_items_with_jsonl() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let p = project(store, "shop").await;
        let csv = import_file(
            store.as_ref(),
            &p,
            &fixtures().join("pairs.csv"),
            &ImportOptions::default(),
        )
        .await
        .expect("csv import");
        assert_eq!(csv.lines, 4);
        assert_eq!(csv.counts.pairs_added, 4);
        assert_eq!(csv.counts.gold_added, 2);
        let jsonl = import_file(
            store.as_ref(),
            &p,
            &fixtures().join("pairs.jsonl"),
            &ImportOptions::default(),
        )
        .await
        .expect("jsonl import");
        // Three of the CSV's pairs (earbuds, skillet, dress) are in the JSONL too; the
        // CSV's "iphone 15 case, clear" is another query than the JSONL's "iphone 15 case".
        assert_eq!(jsonl.counts.pairs_existing, 3, "{}", db.name);
        assert_eq!(jsonl.counts.pairs_added, 5, "{}", db.name);
        assert_eq!(jsonl.counts.queries_added, 2, "{}", db.name);
        let stats = store.stats(&p).await.unwrap();
        assert_eq!(
            (stats.queries, stats.items, stats.pairs),
            (6, 8, 9),
            "{}",
            db.name
        );
        // The JSONL's candidates reach the pairs the CSV created without any.
        assert_eq!(stats.cot_candidates, 6, "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_frequency_given_on_a_later_line_of_a_query_is_kept() {
    each_backend(|db: TestDb| async move {
        let p = project(&db.store, "shop").await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"query": "a", "item": {"id": "1", "title": "one"}}"#,
                "\n",
                r#"{"query": "b", "query_frequency": 1, "item": {"id": "2", "title": "two"}}"#,
                "\n",
                r#"{"query": "a", "query_frequency": 1000, "item": {"id": "3", "title": "three"}}"#,
                "\n",
            ),
        )
        .unwrap();
        import_file(db.store.as_ref(), &p, &path, &ImportOptions::default())
            .await
            .expect("import");
        let stats = db.store.stats(&p).await.unwrap();
        // "a" carries 1000 of 1001 searches: head, with both its pairs.
        assert_eq!(band(&stats, "head"), (1, 2, 0), "{}", db.name);
        assert_eq!(band(&stats, "tail"), (1, 1, 0), "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_bom_at_the_start_of_a_file_is_ignored() {
    each_backend(|db: TestDb| async move {
        let p = project(&db.store, "shop").await;
        let report = import_file(
            db.store.as_ref(),
            &p,
            &fixtures().join("bom.jsonl"),
            &ImportOptions::default(),
        )
        .await
        .expect("import");
        assert_eq!(report.counts.pairs_added, 1);
        db
    })
    .await;
}

#[tokio::test]
async fn every_kind_of_bad_file_is_rejected_naming_line_and_field_and_changes_nothing() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let p = project(store, "shop").await;
        import_file(
            store.as_ref(),
            &p,
            &fixtures().join("pairs.jsonl"),
            &ImportOptions::default(),
        )
        .await
        .expect("good import");
        let before = support::project_checksum(store, &p).await;
        let mut wrong = Vec::new();
        for (file, line, field) in support::BAD_FILES {
            let path = fixtures().join("bad").join(file);
            let result = import_file(store.as_ref(), &p, &path, &ImportOptions::default()).await;
            let Err(ImportError::Rejected { errors, .. }) = &result else {
                wrong.push(format!("{file} was not rejected: {result:?}"));
                continue;
            };
            let first = &errors[0];
            let prefix = format!("{}:{line}: {field}: ", path.display());
            if !first.to_string().starts_with(&prefix) {
                wrong.push(format!("{file}: expected {prefix}..., got {first}"));
            }
            if support::project_checksum(store, &p).await != before {
                wrong.push(format!("{file} changed the project"));
                break;
            }
        }
        assert!(wrong.is_empty(), "{}:\n{}", db.name, wrong.join("\n"));
        db
    })
    .await;
}

#[tokio::test]
async fn a_line_over_ten_megabytes_is_refused_by_number_and_the_rest_still_checked() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let p = project(store, "shop").await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.jsonl");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let good =
            |i: usize| format!(r#"{{"query": "q{i}", "item": {{"id": "I{i}", "title": "t"}}}}"#);
        writeln!(out, "{}", good(1)).unwrap();
        let title = "a".repeat(relabel::import::MAX_LINE_BYTES + 1);
        writeln!(
            out,
            r#"{{"query": "q", "item": {{"id": "X", "title": "{title}"}}}}"#
        )
        .unwrap();
        writeln!(out, r#"{{"query": "q3", "item": {{"id": "I3"}}}}"#).unwrap();
        drop(out);
        let result = import_file(store.as_ref(), &p, &path, &ImportOptions::default()).await;
        let Err(ImportError::Rejected { errors, .. }) = result else {
            panic!("{}: not rejected: {result:?}", db.name);
        };
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let at = |line: usize, field: &str| format!("{}:{line}: {field}: ", path.display());
        assert!(said[0].starts_with(&at(2, "line")), "{said:?}");
        assert!(said[0].contains("longer than 10 MiB"), "{said:?}");
        // Reading goes on past the long line: line 3's own problem is reported too.
        assert!(said[1].starts_with(&at(3, "item.title")), "{said:?}");
        assert_eq!(store.stats(&p).await.unwrap().pairs, 0, "{}", db.name);
        db
    })
    .await;
}

/// Writes `n` valid pair lines, with `bad_line` (1-based) broken if given.
fn write_pairs(path: &std::path::Path, n: usize, bad_line: Option<usize>) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 1..=n {
        if Some(i) == bad_line {
            writeln!(
                out,
                r#"{{"query": "query {i}", "item": {{"id": "item-{i}"}}}}"#
            )
            .unwrap();
            continue;
        }
        writeln!(
            out,
            r#"{{"query": "query {}", "query_frequency": {}, "item": {{"id": "item-{i}", "title": "Item {i}", "price": 9.5}}, "cot": [{{"model": "m", "text": "because", "label": "L{}"}}], "tags": ["t{}"]}}"#,
            i % 997,
            1 + 100_000 / (1 + i % 997),
            1 + i % 4,
            i % 3
        )
        .unwrap();
    }
}

#[tokio::test]
async fn one_bad_line_after_many_good_batches_rolls_back_everything() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let p = project(store, "big").await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.jsonl");
        write_pairs(&path, 5_000, Some(4_321));
        let options = ImportOptions {
            batch_size: 500,
            ..ImportOptions::default()
        };
        let result = import_file(store.as_ref(), &p, &path, &options).await;
        let Err(ImportError::Rejected {
            errors, bad_lines, ..
        }) = result
        else {
            panic!("{}: not rejected: {result:?}", db.name);
        };
        assert_eq!(bad_lines, 1);
        assert_eq!(
            (errors[0].line, errors[0].field.as_str()),
            (4_321, "item.title")
        );
        let stats = store.stats(&p).await.unwrap();
        assert_eq!(
            (stats.pairs, stats.queries, stats.items),
            (0, 0, 0),
            "{}",
            db.name
        );

        write_pairs(&path, 5_000, None);
        let report = import_file(store.as_ref(), &p, &path, &options)
            .await
            .expect("good import");
        assert_eq!(report.counts.pairs_added, 5_000);
        let stats = store.stats(&p).await.unwrap();
        assert_eq!(
            (stats.pairs, stats.queries, stats.items),
            (5_000, 997, 5_000),
            "{}",
            db.name
        );
        assert_eq!(stats.cot_candidates, 5_000);
        let banded: i64 = stats.bands.values().map(|b| b.pairs).sum();
        assert_eq!(banded, 5_000);
        assert!(
            stats.bands.values().all(|b| b.queries > 0),
            "{:?}",
            stats.bands
        );
        db
    })
    .await;
}

#[tokio::test]
async fn errors_are_listed_up_to_the_limit_and_all_counted() {
    let db = TestDb::sqlite().await;
    let p = project(&db.store, "big").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pairs.jsonl");
    let mut out = std::fs::File::create(&path).unwrap();
    for i in 0..30 {
        writeln!(
            out,
            r#"{{"query": "q{i}", "item": {{"id": "x", "title": ""}}}}"#
        )
        .unwrap();
    }
    let options = ImportOptions {
        max_errors: 5,
        ..ImportOptions::default()
    };
    let result = import_file(db.store.as_ref(), &p, &path, &options).await;
    let Err(ImportError::Rejected {
        errors, bad_lines, ..
    }) = result
    else {
        panic!("not rejected: {result:?}");
    };
    assert_eq!(errors.len(), 5);
    assert_eq!(bad_lines, 30);
    assert_eq!(
        errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    db.finish().await;
}

#[tokio::test]
async fn the_demo_installs_once_and_is_reused() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let first = demo_project::install(store.as_ref(), 7)
            .await
            .expect("demo");
        assert!(first.created);
        assert_eq!(first.guideline_version, 1);
        assert!(first.generated_pairs >= 3_000);
        assert_eq!(first.counts.pairs_added as usize, first.generated_pairs);
        assert_eq!(first.counts.cot_added as usize, 3 * first.generated_pairs);

        let p = store.project("demo").await.unwrap().expect("demo project");
        let stats = store.stats(&p).await.unwrap();
        assert_eq!(stats.pairs as usize, first.generated_pairs, "{}", db.name);
        assert!(stats.gold_pairs > 0);
        for (name, b) in &stats.bands {
            assert!(
                b.queries > 0 && b.pairs > 0,
                "{}: band {name} is empty",
                db.name
            );
        }

        let second = demo_project::install(store.as_ref(), 7)
            .await
            .expect("demo again");
        assert!(!second.created);
        assert_eq!(second.guideline_version, 1);
        assert_eq!(second.counts.pairs_added, 0);
        assert_eq!(store.stats(&p).await.unwrap(), stats, "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_published_guideline_keeps_its_rules_examples_in_order() {
    use relabel::domain::{RuleExample, RuleRecord};
    each_backend(|db: TestDb| async move {
        let shop = project(&db.store, "shop").await;
        let example = |query: &str, label: &str| RuleExample {
            query: query.into(),
            item_title: format!("item for {query}"),
            label: label.into(),
            why: format!("why {query}"),
        };
        let rule = |key: &str, examples: Vec<RuleExample>| RuleRecord {
            key: key.into(),
            title: format!("title {key}"),
            body: "body".into(),
            capabilities: vec!["rule-adherence".into()],
            dimension: Some("brand".into()),
            examples,
        };
        let rules = vec![
            rule(
                "R-B",
                vec![example("nike shoes", "L2"), example("shoes", "L4")],
            ),
            rule("R-A", Vec::new()),
        ];
        assert_eq!(
            db.store
                .publish_guideline(&shop, &rules, "v1", relabel::domain::now_ms())
                .await
                .unwrap(),
            1
        );
        let latest = db.store.latest_guideline(&shop).await.unwrap().unwrap();
        assert_eq!(latest.version, 1);
        assert_eq!(latest.rules, rules, "{}", db.name);

        // An example whose label is not on the scale refuses the whole version.
        let bad = vec![rule("R-C", vec![example("x", "L9")])];
        let err = db
            .store
            .publish_guideline(&shop, &bad, "v2", relabel::domain::now_ms())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref m) if m.contains("L9")),
            "{err}"
        );
        let latest = db.store.latest_guideline(&shop).await.unwrap().unwrap();
        assert_eq!(
            latest.version, 1,
            "nothing of the refused version may remain"
        );
        db
    })
    .await;
}

#[tokio::test]
async fn a_reimport_that_changes_a_stored_pair_is_rejected_naming_the_line() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let p = project(store, "shop").await;
        let original = fixtures().join("pairs.jsonl");
        import_file(store.as_ref(), &p, &original, &ImportOptions::default())
            .await
            .expect("first import");
        let before = store.stats(&p).await.unwrap();

        // The same file with the first pair's candidates changed, one new pair at the end.
        let text = std::fs::read_to_string(&original).unwrap();
        let changed = text.replacen("\"label\": \"L3\"", "\"label\": \"L2\"", 1);
        assert_ne!(changed, text);
        let mut file = tempfile::Builder::new()
            .suffix(".jsonl")
            .tempfile()
            .unwrap();
        write!(file, "{changed}").unwrap();
        writeln!(
            file,
            r#"{{"query": "new query", "item": {{"id": "NEW-1", "title": "New item"}}}}"#
        )
        .unwrap();
        let err = import_file(store.as_ref(), &p, file.path(), &ImportOptions::default())
            .await
            .unwrap_err();
        let ImportError::Rejected {
            errors, bad_lines, ..
        } = err
        else {
            panic!("not rejected: {err}");
        };
        assert_eq!(bad_lines, 1, "{errors:?}");
        assert_eq!((errors[0].line, errors[0].field.as_str()), (1, "cot"));
        assert!(
            errors[0].message.contains("already in the project"),
            "{}",
            errors[0]
        );
        assert_eq!(
            store.stats(&p).await.unwrap(),
            before,
            "{}: nothing may change",
            db.name
        );
        db
    })
    .await;
}

#[tokio::test]
async fn pairs_are_found_by_query_or_title_with_wildcards_taken_literally() {
    use relabel::domain::PairRecord;
    each_backend(|db: TestDb| async move {
        let shop = project(&db.store, "shop").await;
        let record = |query: &str, title: &str, id: &str| PairRecord::new(query, id, title);
        let records = [
            record("Nike Air Max", "Running shoe", "a"),
            record("adidas samba", "100% leather sneaker", "b"),
            record("puma", "Suede_classic", "c"),
        ];
        relabel::import::import_records(db.store.as_ref(), &shop, &records, "t")
            .await
            .unwrap();
        let found = |text: &'static str| {
            let store = db.store.clone();
            let shop = shop.clone();
            async move {
                store
                    .search_pairs(&shop, text, 20)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|hit| hit.query)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(found("air max").await, ["Nike Air Max"], "{}", db.name);
        assert_eq!(found("LEATHER").await, ["adidas samba"]);
        assert_eq!(found("100%").await, ["adidas samba"]);
        assert_eq!(found("e_c").await, ["puma"]);
        assert!(
            found("%").await.len() == 1,
            "% is a character, not a wildcard"
        );
        assert!(
            found("_").await.len() == 1,
            "_ is a character, not a wildcard"
        );
        db
    })
    .await;
}
