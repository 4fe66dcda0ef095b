//! The work queue on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: leases, overlap k,
//! gold mixing, skips, revisions, idempotent submits, and 32 annotators at once.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use relabel::domain::{CotRecord, ItemRecord, PairRecord, Project, now_ms};
use relabel::import::import_records;
use relabel::queue::{JudgmentInput, QueueError, RuleCitation, RuleVerdict, Submitted};
use relabel::storage::SharedStore;
use support::{TestDb, each_backend};

/// A hash the tests store for users who never log in (hashing is slow in debug builds).
const NO_LOGIN: &str = "$argon2id$v=19$m=19456,t=2,p=1$bm9sb2dpbg$bm9sb2dpbm5vbG9naW4";

const MINUTE: i64 = 60_000;

fn pair(i: usize, gold: bool) -> PairRecord {
    PairRecord {
        query: format!("query {}", i / 3),
        query_frequency: Some(1 + (i / 3) as i64),
        item: ItemRecord {
            id: format!("item-{i}"),
            title: format!("Item {i}"),
            category: vec![],
            attributes: Default::default(),
            price: None,
            images: vec![],
            description: None,
        },
        cot: vec![CotRecord {
            model: "m".into(),
            text: "t".into(),
            steps: vec![],
            label: Some("L2".into()),
        }],
        gold_label: gold.then(|| "L4".to_owned()),
        tags: vec![],
        task: None,
    }
}

async fn project_with_pairs(
    store: &SharedStore,
    k: u32,
    pairs: usize,
    gold_every: usize,
) -> Project {
    let project = store
        .create_project(&relabel::domain::NewProject {
            slug: "queue".into(),
            name: "queue".into(),
            scale: relabel::domain::ScalePreset::Lore4,
            overlap_k: k,
            task: relabel::domain::TaskKind::Judge,
        })
        .await
        .unwrap();
    let records: Vec<PairRecord> = (0..pairs)
        .map(|i| pair(i, gold_every > 0 && i % gold_every == 0))
        .collect();
    import_records(store.as_ref(), &project, &records, "test")
        .await
        .unwrap();
    project
}

async fn user(store: &SharedStore, name: &str) -> i64 {
    store.create_user(name, NO_LOGIN).await.unwrap()
}

fn judgment(pair_id: i64, lease_id: Option<i64>, label: &str, key: &str) -> JudgmentInput {
    JudgmentInput {
        pair_id,
        lease_id,
        label: Some(label.into()),
        rules: vec![RuleCitation {
            id: "R-BRAND-01".into(),
            verdict: RuleVerdict::Violated,
        }],
        rationale: Some("brand differs".into()),
        duration_ms: Some(4_000),
        guideline_version_id: None,
        idempotency_key: key.into(),
        ranking: None,
    }
}

#[tokio::test]
async fn leases_overlap_skips_revisions_and_replays() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let project = project_with_pairs(store, 2, 3, 0).await;
        let (a, b, c) = (
            user(store, "a").await,
            user(store, "b").await,
            user(store, "c").await,
        );
        let t0 = now_ms();

        // A claim is held: asking again returns the same pair and lease.
        let first = store
            .next_pair(&project, a, false, MINUTE, t0)
            .await
            .unwrap()
            .unwrap();
        let again = store
            .next_pair(&project, a, false, MINUTE, t0 + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first, again, "{}", db.name);

        // Submit, then the same key again: one judgment, the same answer.
        let input = judgment(first.pair_id, Some(first.lease_id), "L3", "a-1");
        let stored = store
            .submit_judgment(&project, a, &input, false, t0 + 2)
            .await
            .unwrap();
        let replay = store
            .submit_judgment(&project, a, &input, false, t0 + 3)
            .await
            .unwrap();
        assert_eq!(
            replay,
            Submitted {
                replayed: true,
                ..stored
            },
            "{}",
            db.name
        );
        // A second first-judgment of the same pair is refused; a revision is a new row.
        let dup = store
            .submit_judgment(
                &project,
                a,
                &judgment(first.pair_id, None, "L2", "a-2"),
                false,
                t0 + 4,
            )
            .await;
        assert!(
            matches!(dup, Err(QueueError::AlreadyJudged)),
            "{}: {dup:?}",
            db.name
        );
        let revised = store
            .submit_judgment(
                &project,
                a,
                &judgment(first.pair_id, None, "L2", "a-3"),
                true,
                t0 + 5,
            )
            .await
            .unwrap();
        assert_eq!(revised.revision, 2);
        // The key of a judgment cannot be reused for another pair.
        let other = store
            .next_pair(&project, a, false, MINUTE, t0 + 6)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(
            other.pair_id, first.pair_id,
            "{}: a judged pair came back",
            db.name
        );
        let reused = store
            .submit_judgment(
                &project,
                a,
                &judgment(other.pair_id, None, "L1", "a-1"),
                false,
                t0 + 7,
            )
            .await;
        assert!(
            matches!(reused, Err(QueueError::KeyReused)),
            "{}: {reused:?}",
            db.name
        );

        // a skips its second pair: it never comes back to a.
        store
            .skip_pair(&project, a, other.pair_id, Some("unsure"), t0 + 8)
            .await
            .unwrap();
        let third = store
            .next_pair(&project, a, false, MINUTE, t0 + 9)
            .await
            .unwrap()
            .unwrap();
        assert!(third.pair_id != other.pair_id && third.pair_id != first.pair_id);
        store
            .skip_pair(&project, a, third.pair_id, None, t0 + 10)
            .await
            .unwrap();
        assert_eq!(
            store
                .next_pair(&project, a, false, MINUTE, t0 + 11)
                .await
                .unwrap(),
            None
        );

        // k = 2: the first pair has a's judgment; once b leases it, it is full for c.
        loop {
            let claim = store
                .next_pair(&project, b, false, MINUTE, t0 + 12)
                .await
                .unwrap()
                .unwrap();
            if claim.pair_id == first.pair_id {
                break;
            }
            store
                .skip_pair(&project, b, claim.pair_id, None, t0 + 12)
                .await
                .unwrap();
        }
        let mut seen_by_c = Vec::new();
        while let Some(claim) = store
            .next_pair(&project, c, false, MINUTE, t0 + 13)
            .await
            .unwrap()
        {
            seen_by_c.push(claim.pair_id);
            store
                .skip_pair(&project, c, claim.pair_id, None, t0 + 13)
                .await
                .unwrap();
        }
        assert_eq!(seen_by_c.len(), 2, "{}: {seen_by_c:?}", db.name);
        assert!(
            !seen_by_c.contains(&first.pair_id),
            "{}: k exceeded",
            db.name
        );
        db
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_frees_the_pair_and_a_late_submit_is_refused_when_full() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let project = project_with_pairs(store, 1, 1, 0).await;
        let (a, b) = (user(store, "a").await, user(store, "b").await);
        let t0 = now_ms();
        let claim_a = store
            .next_pair(&project, a, false, MINUTE, t0)
            .await
            .unwrap()
            .unwrap();
        // While a holds the only slot (k = 1), b gets nothing.
        assert_eq!(
            store
                .next_pair(&project, b, false, MINUTE, t0 + 1)
                .await
                .unwrap(),
            None
        );
        // After a's lease expires, b gets the pair and judges it.
        let later = t0 + MINUTE + 1;
        let claim_b = store
            .next_pair(&project, b, false, MINUTE, later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim_b.pair_id, claim_a.pair_id);
        store
            .submit_judgment(
                &project,
                b,
                &judgment(claim_b.pair_id, Some(claim_b.lease_id), "L4", "b"),
                false,
                later + 1,
            )
            .await
            .unwrap();
        // a comes back late: the pair is full, the judgment is refused, k holds.
        let late = store
            .submit_judgment(
                &project,
                a,
                &judgment(claim_a.pair_id, Some(claim_a.lease_id), "L1", "a"),
                false,
                later + 2,
            )
            .await;
        assert!(
            matches!(late, Err(QueueError::LeaseExpired)),
            "{}: {late:?}",
            db.name
        );
        assert_eq!(store.judgments(&project).await.unwrap().len(), 1);
        db
    })
    .await;
}

#[tokio::test]
async fn gold_pairs_are_served_when_asked_for_and_otherwise_last() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        // Pairs 0, 5, 10 are gold.
        let project = project_with_pairs(store, 1, 15, 5).await;
        let a = user(store, "a").await;
        let t0 = now_ms();
        let gold_ids: HashSet<i64> = {
            let mut ids = HashSet::new();
            for i in 0..3 {
                let claim = store
                    .next_pair(&project, a, true, MINUTE, t0 + i)
                    .await
                    .unwrap()
                    .unwrap();
                store
                    .skip_pair(&project, a, claim.pair_id, None, t0 + i)
                    .await
                    .unwrap();
                ids.insert(claim.pair_id);
            }
            ids
        };
        assert_eq!(gold_ids.len(), 3);
        let b = user(store, "b").await;
        let mut order = Vec::new();
        while let Some(claim) = store
            .next_pair(&project, b, false, MINUTE, t0 + 10)
            .await
            .unwrap()
        {
            order.push(gold_ids.contains(&claim.pair_id));
            store
                .skip_pair(&project, b, claim.pair_id, None, t0 + 10)
                .await
                .unwrap();
        }
        // Asked for non-gold, b gets the 12 others first; gold only when nothing else is left.
        assert_eq!(order.len(), 15, "{}", db.name);
        assert!(
            order[..12].iter().all(|g| !g) && order[12..].iter().all(|g| *g),
            "{order:?}"
        );
        db
    })
    .await;
}

/// What one simulated annotator saw acknowledged.
#[derive(Default)]
struct Acks {
    stored: Vec<i64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_annotators_fill_every_pair_to_k_and_never_past_it() {
    each_backend(|db: TestDb| async move {
        const ANNOTATORS: usize = 32;
        const PAIRS: usize = 60;
        const K: i64 = 3;
        let store = db.store.clone();
        let project = Arc::new(project_with_pairs(&store, 3, PAIRS, 10).await);
        let mut users = Vec::new();
        for i in 0..ANNOTATORS {
            users.push(user(&store, &format!("annotator{i}")).await);
        }
        // Short leases, so abandoned pairs come back within the test.
        let lease_ms = 300;
        let mut acknowledged: Vec<i64> = Vec::new();
        let mut abandoned = 0usize;
        let mut replays = 0usize;
        for round in 0..20 {
            let mut tasks = Vec::new();
            for (n, &user_id) in users.iter().enumerate() {
                let store = store.clone();
                let project = project.clone();
                tasks.push(tokio::spawn(async move {
                    let mut rng = rand::rngs::StdRng::seed_from_u64((round * 1000 + n) as u64);
                    let mut acks = Acks::default();
                    let (mut abandoned, mut replays) = (0, 0);
                    loop {
                        let claim = store
                            .next_pair(&project, user_id, rng.random_bool(0.1), lease_ms, now_ms())
                            .await
                            .unwrap();
                        let Some(claim) = claim else { break };
                        if rng.random_bool(0.05) {
                            // Walk away holding the lease; it must expire and free the pair.
                            abandoned += 1;
                            break;
                        }
                        let key = format!("{user_id}-{}-{round}", claim.pair_id);
                        let input = judgment(claim.pair_id, Some(claim.lease_id), "L3", &key);
                        if rng.random_bool(0.2) {
                            // The same submit twice at once (a double click, a retry).
                            let (x, y) = tokio::join!(
                                store.submit_judgment(&project, user_id, &input, false, now_ms()),
                                store.submit_judgment(&project, user_id, &input, false, now_ms())
                            );
                            for outcome in [x, y] {
                                match outcome {
                                    Ok(s) if s.replayed => replays += 1,
                                    Ok(s) => acks.stored.push(s.judgment_id),
                                    Err(QueueError::LeaseExpired) => {}
                                    Err(e) => panic!("submit failed: {e}"),
                                }
                            }
                        } else {
                            match store
                                .submit_judgment(&project, user_id, &input, false, now_ms())
                                .await
                            {
                                Ok(s) => acks.stored.push(s.judgment_id),
                                Err(QueueError::LeaseExpired) => {}
                                Err(e) => panic!("submit failed: {e}"),
                            }
                        }
                    }
                    (acks, abandoned, replays)
                }));
            }
            for task in tasks {
                let (acks, a, r) = task.await.unwrap();
                acknowledged.extend(acks.stored);
                abandoned += a;
                replays += r;
            }
            let rows = store.judgments(&project).await.unwrap();
            if rows.len() == PAIRS * K as usize {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(lease_ms as u64 + 50)).await;
        }

        let rows = store.judgments(&project).await.unwrap();
        let mut per_pair: HashMap<i64, HashSet<i64>> = HashMap::new();
        let mut per_key: HashMap<&str, usize> = HashMap::new();
        for row in &rows {
            assert_eq!(row.revision, 1);
            assert!(
                per_pair.entry(row.pair_id).or_default().insert(row.user_id),
                "{}: annotator {} judged pair {} twice",
                db.name,
                row.user_id,
                row.pair_id
            );
            *per_key.entry(row.idempotency_key.as_str()).or_default() += 1;
        }
        assert!(
            per_key.values().all(|&n| n == 1),
            "{}: a key stored twice",
            db.name
        );
        assert_eq!(
            per_pair.len(),
            PAIRS,
            "{}: some pair got no judgment",
            db.name
        );
        for (pair, users) in &per_pair {
            assert_eq!(
                users.len() as i64,
                K,
                "{}: pair {pair} has {} judgments",
                db.name,
                users.len()
            );
        }
        // Every acknowledged submit is stored exactly once, and nothing else is.
        let stored: HashSet<i64> = rows.iter().map(|r| r.id).collect();
        let acked: HashSet<i64> = acknowledged.iter().copied().collect();
        assert_eq!(
            acked.len(),
            acknowledged.len(),
            "{}: one id acknowledged twice",
            db.name
        );
        assert_eq!(acked, stored, "{}", db.name);
        assert!(
            replays > 0 && abandoned > 0,
            "{}: the run exercised neither replays nor abandons",
            db.name
        );
        db
    })
    .await;
}

#[tokio::test]
async fn a_full_pair_leaves_the_claim_and_raising_k_brings_it_back() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let project = project_with_pairs(store, 1, 1, 0).await;
        let (a, b) = (user(store, "a").await, user(store, "b").await);
        let t0 = now_ms();
        let claim = store
            .next_pair(&project, a, false, MINUTE, t0)
            .await
            .unwrap()
            .unwrap();
        store
            .submit_judgment(
                &project,
                a,
                &judgment(claim.pair_id, Some(claim.lease_id), "L2", "full-1"),
                false,
                t0 + 1,
            )
            .await
            .unwrap();
        assert!(
            store
                .next_pair(&project, b, false, MINUTE, t0 + 2)
                .await
                .unwrap()
                .is_none(),
            "{}: k = 1 and the only pair is judged",
            db.name
        );
        let mut settings = relabel::domain::ProjectSettings::of(&project);
        settings.overlap_k = 2;
        let project = store
            .update_project_settings(&project, &settings, None)
            .await
            .unwrap();
        let again = store
            .next_pair(&project, b, false, MINUTE, t0 + 3)
            .await
            .unwrap()
            .expect("k = 2 opens the pair again");
        assert_eq!(again.pair_id, claim.pair_id, "{}", db.name);
        // Lowering k back fills it again, for someone who has not judged it.
        let c = user(store, "c").await;
        settings.overlap_k = 1;
        let project = store
            .update_project_settings(&project, &settings, None)
            .await
            .unwrap();
        assert!(
            store
                .next_pair(&project, c, false, MINUTE, t0 + 4)
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.name
        );
        db
    })
    .await;
}
