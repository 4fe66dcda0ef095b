//! The work queue on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: leases, overlap k,
//! gold mixing, skips, revisions, idempotent submits, and 32 annotators at once.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

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
        .create_project(
            &relabel::domain::NewProject {
                slug: "queue".into(),
                name: "queue".into(),
                scale: relabel::domain::ScalePreset::Lore4,
                overlap_k: k,
                task: relabel::domain::TaskKind::Judge,
            },
            relabel::domain::now_ms(),
        )
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
    store
        .create_user(name, NO_LOGIN, relabel::domain::now_ms())
        .await
        .unwrap()
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
            .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
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
            .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
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

/// The model-based queue test: random sequences of claims, submits, replays, revisions,
/// skips, waits past lease expiry and reviewer decisions by several annotators, run
/// against a real database and a plain in-memory model of the queue's rules
/// (docs/ARCHITECTURE.md, "The work queue"). After every step the store's answer must be the model's, the stored
/// judgments must be the model's, and the store's own invariant checks must find nothing.
mod model {
    use std::collections::{HashMap, HashSet};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;
    use proptest::sample::Index;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    use relabel::domain::Project;
    use relabel::queue::{QueueError, Submitted};
    use relabel::storage::{QueueInvariants, SharedStore};

    use super::{NO_LOGIN, judgment, user};

    const USERS: usize = 3;
    const PAIRS: usize = 5;
    const K: u32 = 2;
    const LEASE_MS: i64 = 10_000;
    const LABELS: [&str; 4] = ["L1", "L2", "L3", "L4"];

    #[derive(Debug, Clone)]
    pub enum Op {
        /// Ask for the next pair.
        Claim(usize),
        /// Submit the pair held under a live lease (nothing when none is held).
        SubmitHeld(usize),
        /// Submit a first judgment of any pair, with no lease.
        Submit(usize, usize),
        /// Send an earlier submit's idempotency key again, as this annotator.
        Replay(usize, Index),
        /// Revise one's judgment.
        Revise(usize, usize),
        Skip(usize, usize),
        /// Let the clock run (past a lease, sometimes).
        Wait(i64),
        /// A reviewer's final label.
        Decide(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let u = 0..USERS;
        let p = 0..PAIRS;
        prop_oneof![
            3 => u.clone().prop_map(Op::Claim),
            3 => u.clone().prop_map(Op::SubmitHeld),
            2 => (u.clone(), p.clone()).prop_map(|(u, p)| Op::Submit(u, p)),
            1 => (u.clone(), any::<Index>()).prop_map(|(u, i)| Op::Replay(u, i)),
            1 => (u.clone(), p.clone()).prop_map(|(u, p)| Op::Revise(u, p)),
            1 => (u.clone(), p.clone()).prop_map(|(u, p)| Op::Skip(u, p)),
            1 => prop_oneof![1i64..2_000, Just(LEASE_MS), LEASE_MS + 1..3 * LEASE_MS]
                .prop_map(Op::Wait),
            1 => (p, 0..LABELS.len()).prop_map(|(p, l)| Op::Decide(p, l)),
        ]
    }

    /// What must be true, kept in memory.
    struct Model {
        now: i64,
        /// Per pair: annotator to their latest revision.
        judged: Vec<HashMap<usize, i64>>,
        skipped: Vec<HashSet<usize>>,
        /// (pair, annotator) to when the lease ends.
        leases: HashMap<(usize, usize), i64>,
        /// Every stored submit: key, annotator, pair, and what it answered.
        keys: Vec<(String, usize, usize, Submitted)>,
        decisions: Vec<usize>,
        gold: Vec<bool>,
    }

    impl Model {
        fn live(&self, pair: usize, user: usize) -> bool {
            self.leases
                .get(&(pair, user))
                .is_some_and(|&end| end > self.now)
        }

        fn held(&self, user: usize) -> Option<usize> {
            (0..PAIRS).find(|&p| self.live(p, user))
        }

        fn live_others(&self, pair: usize, user: usize) -> usize {
            (0..USERS)
                .filter(|&o| o != user && self.live(pair, o))
                .count()
        }

        /// The pairs a claim by `user` may hand out (ungolden first, as `prefer_gold`
        /// is false).
        fn claimable(&self, user: usize) -> Vec<usize> {
            let open: Vec<usize> = (0..PAIRS)
                .filter(|&p| {
                    let count = self.judged[p].len();
                    !self.judged[p].contains_key(&user)
                        && !self.skipped[p].contains(&user)
                        && count < K as usize
                        && count + self.live_others(p, user) < K as usize
                })
                .collect();
            let plain: Vec<usize> = open.iter().copied().filter(|&p| !self.gold[p]).collect();
            if plain.is_empty() { open } else { plain }
        }

        /// What a first judgment (or with `revise` a revision) by `user` of `pair` gets:
        /// its revision number, or the refusal's name.
        fn predict(&self, user: usize, pair: usize, revise: bool) -> Result<i64, String> {
            let mine = self.judged[pair].get(&user);
            match (revise, mine) {
                (true, None) => Err("NothingToRevise".to_owned()),
                (true, Some(&r)) => Ok(r + 1),
                (false, Some(_)) => Err("AlreadyJudged".to_owned()),
                (false, None)
                    if self.judged[pair].len() + self.live_others(pair, user) >= K as usize =>
                {
                    Err("LeaseExpired".to_owned())
                }
                (false, None) => Ok(1),
            }
        }

        fn rows(&self) -> Vec<(usize, usize, i64)> {
            let mut rows = Vec::new();
            for (p, by) in self.judged.iter().enumerate() {
                for (&u, &last) in by {
                    rows.extend((1..=last).map(|r| (p, u, r)));
                }
            }
            rows.sort_unstable();
            rows
        }
    }

    /// One case's fixture: a fresh project of `PAIRS` pairs (the last one gold), its
    /// annotators and a reviewer.
    struct Case {
        project: Project,
        users: Vec<i64>,
        reviewer: i64,
        pair_ids: Vec<i64>,
    }

    static CASES: AtomicUsize = AtomicUsize::new(0);

    async fn case(store: &SharedStore) -> Case {
        let n = CASES.fetch_add(1, Ordering::SeqCst);
        let project = store
            .create_project(
                &relabel::domain::NewProject {
                    slug: format!("model-{n}"),
                    name: format!("model {n}"),
                    scale: relabel::domain::ScalePreset::Lore4,
                    overlap_k: K,
                    task: relabel::domain::TaskKind::Judge,
                },
                relabel::domain::now_ms(),
            )
            .await
            .unwrap();
        let records: Vec<_> = (0..PAIRS).map(|i| super::pair(i, i == PAIRS - 1)).collect();
        relabel::import::import_records(store.as_ref(), &project, &records, "model")
            .await
            .unwrap();
        let mut pair_ids = vec![0; PAIRS];
        for pair in store.export_page(&project, 0, 100).await.unwrap() {
            let i: usize = pair.item_id.trim_start_matches("item-").parse().unwrap();
            pair_ids[i] = pair.pair_id;
        }
        let mut users = Vec::new();
        for u in 0..USERS {
            users.push(user(store, &format!("m{n}-a{u}")).await);
        }
        let reviewer = store
            .create_user(&format!("m{n}-rev"), NO_LOGIN, relabel::domain::now_ms())
            .await
            .unwrap();
        Case {
            project,
            users,
            reviewer,
            pair_ids,
        }
    }

    fn same(step: usize, op: &Op, got: String, want: String) -> Result<(), TestCaseError> {
        if got == want {
            Ok(())
        } else {
            Err(TestCaseError::fail(format!(
                "step {step} {op:?}: the store answered {got}, the model says {want}"
            )))
        }
    }

    fn answer(result: &Result<Submitted, QueueError>) -> String {
        match result {
            Ok(s) => format!("Ok(revision {}, replayed {})", s.revision, s.replayed),
            Err(e) => format!("Err({e:?})"),
        }
    }

    async fn run(store: &SharedStore, ops: &[Op]) -> Result<(), TestCaseError> {
        let c = case(store).await;
        let project = &c.project;
        let mut m = Model {
            now: relabel::domain::now_ms(),
            judged: vec![HashMap::new(); PAIRS],
            skipped: vec![HashSet::new(); PAIRS],
            leases: HashMap::new(),
            keys: Vec::new(),
            decisions: vec![0; PAIRS],
            gold: (0..PAIRS).map(|p| p == PAIRS - 1).collect(),
        };
        for (step, op) in ops.iter().enumerate() {
            let key = format!("{}-{step}", project.slug);
            match *op {
                Op::Claim(u) => {
                    let got = store
                        .next_pair(project, c.users[u], false, LEASE_MS, m.now)
                        .await
                        .map_err(|e| TestCaseError::fail(format!("step {step}: {e}")))?;
                    let got_pair = got.map(|g| c.pair_ids.iter().position(|&id| id == g.pair_id));
                    match (m.held(u), got_pair) {
                        (Some(p), Some(Some(q))) if p == q => {}
                        (None, None) if m.claimable(u).is_empty() => {}
                        (None, Some(Some(q))) if m.claimable(u).contains(&q) => {
                            if got.map(|g| g.expires_at) != Some(m.now + LEASE_MS) {
                                return Err(TestCaseError::fail(format!(
                                    "step {step}: lease ends at {got:?}"
                                )));
                            }
                            m.leases.insert((q, u), m.now + LEASE_MS);
                        }
                        (held, got) => {
                            return Err(TestCaseError::fail(format!(
                                "step {step} {op:?}: got pair {got:?}; the model holds {held:?} \
                                 and could hand out {:?}",
                                m.claimable(u)
                            )));
                        }
                    }
                }
                Op::SubmitHeld(u) | Op::Submit(u, _) | Op::Revise(u, _) => {
                    let (p, revise) = match *op {
                        Op::SubmitHeld(_) => match m.held(u) {
                            Some(p) => (p, false),
                            None => continue,
                        },
                        Op::Submit(_, p) => (p, false),
                        _ => match *op {
                            Op::Revise(_, p) => (p, true),
                            _ => unreachable!(),
                        },
                    };
                    let want = m.predict(u, p, revise);
                    let input = judgment(c.pair_ids[p], None, "L3", &key);
                    let got = store
                        .submit_judgment(project, c.users[u], &input, revise, m.now)
                        .await;
                    let want_text = match &want {
                        Ok(r) => format!("Ok(revision {r}, replayed false)"),
                        Err(e) => format!("Err({e})"),
                    };
                    same(step, op, answer(&got), want_text)?;
                    if let (Ok(r), Ok(stored)) = (want, got) {
                        m.judged[p].insert(u, r);
                        if !revise {
                            m.leases.remove(&(p, u));
                        }
                        m.keys.push((key, u, p, stored));
                    }
                }
                Op::Replay(u, index) => {
                    if m.keys.is_empty() {
                        continue;
                    }
                    let (key, by, p, stored) = m.keys[index.index(m.keys.len())].clone();
                    let input = judgment(c.pair_ids[p], None, "L1", &key);
                    let got = store
                        .submit_judgment(project, c.users[u], &input, false, m.now)
                        .await;
                    let want = if by == u {
                        Ok(Submitted {
                            replayed: true,
                            ..stored
                        })
                    } else {
                        Err(QueueError::KeyReused)
                    };
                    same(step, op, format!("{got:?}"), format!("{want:?}"))?;
                }
                Op::Skip(u, p) => {
                    let got = store
                        .skip_pair(project, c.users[u], c.pair_ids[p], None, m.now)
                        .await;
                    let want = if m.judged[p].contains_key(&u) {
                        "Err(AlreadyJudged)"
                    } else {
                        m.skipped[p].insert(u);
                        m.leases.remove(&(p, u));
                        "Ok(())"
                    };
                    same(step, op, format!("{got:?}"), want.to_owned())?;
                }
                Op::Wait(ms) => m.now += ms,
                Op::Decide(p, label) => {
                    store
                        .record_decision(
                            project,
                            c.pair_ids[p],
                            c.reviewer,
                            LABELS[label],
                            "model",
                            relabel::domain::now_ms(),
                        )
                        .await
                        .map_err(|e| TestCaseError::fail(format!("step {step}: {e}")))?;
                    m.decisions[p] += 1;
                    let stored = store.decisions(project, c.pair_ids[p]).await.unwrap();
                    same(
                        step,
                        op,
                        stored.len().to_string(),
                        m.decisions[p].to_string(),
                    )?;
                }
            }
            // After every step: the stored judgments are the model's, and the store's
            // own checks find nothing.
            let mut rows: Vec<(usize, usize, i64)> = store
                .judgments(project)
                .await
                .unwrap()
                .iter()
                .map(|j| {
                    let p = c.pair_ids.iter().position(|&id| id == j.pair_id).unwrap();
                    let u = c.users.iter().position(|&id| id == j.user_id).unwrap();
                    (p, u, j.revision)
                })
                .collect();
            rows.sort_unstable();
            same(step, op, format!("{rows:?}"), format!("{:?}", m.rows()))?;
            let invariants = store.queue_invariants(project).await.unwrap();
            same(
                step,
                op,
                format!("{invariants:?}"),
                format!("{:?}", QueueInvariants::default()),
            )?;
        }
        Ok(())
    }

    /// Runs `cases` random sequences (`RELABEL_MODEL_CASES` overrides) on `store`; the
    /// number run.
    pub async fn check(store: SharedStore, cases: u32) -> u32 {
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut runner = TestRunner::new(Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            });
            let ran = std::sync::atomic::AtomicU32::new(0);
            let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
                ran.fetch_add(1, Ordering::SeqCst);
                handle.block_on(run(&store, &ops))
            });
            if let Err(e) = result {
                panic!("{e}");
            }
            ran.into_inner()
        })
        .await
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_follows_its_model_through_random_claims_submits_skips_expiry_and_decisions() {
    let cases: u32 = std::env::var("RELABEL_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut dbs = vec![TestDb::sqlite().await];
    dbs.extend(TestDb::postgres().await);
    for db in dbs {
        let started = std::time::Instant::now();
        let ran = model::check(db.store.clone(), cases).await;
        support::figure(format!(
            "{}: {ran} model cases in {:.1} s",
            db.name,
            started.elapsed().as_secs_f64()
        ));
        assert!(ran >= cases, "{}: only {ran} cases ran", db.name);
        db.finish().await;
    }
}
