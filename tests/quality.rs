//! Label quality on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: a seeded simulation
//! of annotators of known accuracy judging the demo's gold pairs through the real queue,
//! the gold accuracy and the flag the project computes from it, and pausing.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use relabel::domain::{PairRecord, ProjectSettings};
use relabel::queue::{self, JudgmentInput, QueueError, RuleCitation, RuleVerdict};
use support::{TestDb, each_backend};

/// A hash the tests store for users who never log in.
const NO_LOGIN: &str = "$argon2id$v=19$m=19456,t=2,p=1$bm9sb2dpbg$bm9sb2dpbm5vbG9naW4";

/// The simulated annotators: name and the share of gold pairs they get exactly right.
const ANNOTATORS: [(&str, f64); 3] = [("careful", 0.92), ("steady", 0.86), ("careless", 0.45)];

#[tokio::test]
async fn gold_accuracy_matches_the_simulated_annotators_and_flags_the_weak_one() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let project = support::project(store, "sim").await;
        // The demo's gold pairs, and some ordinary ones after them.
        let demo = relabel::demo::generate(11);
        let (gold, plain): (Vec<PairRecord>, Vec<PairRecord>) =
            demo.pairs.into_iter().partition(|p| p.gold_label.is_some());
        assert!(gold.len() >= 200, "the demo has {} gold pairs", gold.len());
        // Judging only: the demo's judge+rank pairs would also want a ranking.
        let records: Vec<PairRecord> = gold
            .iter()
            .cloned()
            .chain(plain.into_iter().take(100))
            .map(|mut p| {
                p.task = None;
                p
            })
            .collect();
        relabel::import::import_records(store.as_ref(), &project, &records, "sim")
            .await
            .unwrap();
        let answer: HashMap<(String, String), String> = gold
            .iter()
            .map(|p| {
                (
                    (p.query.clone(), p.item.id.clone()),
                    p.gold_label.clone().unwrap(),
                )
            })
            .collect();
        // Every claim looks for a gold pair first; flag below 70% over the last 50.
        let mut settings = ProjectSettings::of(&project);
        settings.gold_rate = 1.0;
        settings.gold_window = 50;
        settings.gold_min_accuracy = 0.7;
        let project = store
            .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
            .await
            .unwrap();

        let scale = project.scale_labels.clone();
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261126);
        let mut ids = Vec::new();
        for (name, accuracy) in ANNOTATORS {
            let user = store
                .create_user(name, NO_LOGIN, relabel::domain::now_ms())
                .await
                .unwrap();
            ids.push(user);
            let mut answered = 0;
            loop {
                let Some(claim) = queue::next_pair(store.as_ref(), &project, user)
                    .await
                    .unwrap()
                else {
                    break;
                };
                let view = store
                    .pair_view(&project, claim.pair_id)
                    .await
                    .unwrap()
                    .unwrap();
                let Some(truth) = answer.get(&(view.query.clone(), view.item.id.clone())) else {
                    break; // the gold pairs are used up; the rest are ordinary pairs
                };
                let label = if rng.random_bool(accuracy) {
                    truth.clone()
                } else {
                    let others: Vec<&String> = scale.iter().filter(|l| *l != truth).collect();
                    others[rng.random_range(0..others.len())].clone()
                };
                let input = JudgmentInput {
                    pair_id: claim.pair_id,
                    lease_id: Some(claim.lease_id),
                    label: Some(label),
                    rules: vec![RuleCitation {
                        id: "R-SIM-01".into(),
                        verdict: RuleVerdict::Applies,
                    }],
                    rationale: None,
                    duration_ms: Some(3_000),
                    guideline_version_id: None,
                    idempotency_key: format!("{name}-{}", claim.pair_id),
                    ranking: None,
                };
                queue::submit(store.as_ref(), &project, user, &input, false)
                    .await
                    .unwrap();
                answered += 1;
            }
            assert_eq!(
                answered,
                gold.len(),
                "{name} judged every gold pair ({})",
                db.name
            );
        }

        let report = relabel::quality::gold_report(store.as_ref(), &project)
            .await
            .unwrap();
        assert_eq!(report.len(), 3, "{}", db.name);
        for ((name, accuracy), row) in ANNOTATORS.iter().zip(&report) {
            assert_eq!(&row.user, name);
            assert_eq!(row.overall.answered as usize, gold.len());
            let measured = row.overall.exact_rate().unwrap();
            println!(
                "{name}: simulated {accuracy}, measured {measured:.3} over {} gold answers, \
                 last 50: {:.2}, flagged {} ({})",
                row.overall.answered,
                row.recent.exact_rate().unwrap(),
                row.flagged,
                db.name
            );
            assert!(
                (measured - accuracy).abs() <= 0.05,
                "{name}: measured {measured:.3}, simulated {accuracy} ({})",
                db.name
            );
            assert!(row.overall.within_one_rate().unwrap() >= measured);
            assert_eq!(row.recent.answered, 50);
            assert_eq!(row.flagged, *name == "careless", "{name} ({})", db.name);
            // By capability and by day add up to the whole.
            let days: u64 = row.by_day.values().map(|a| a.answered).sum();
            assert_eq!(days, row.overall.answered);
            assert_eq!(row.by_rule["R-SIM-01"].answered, row.overall.answered);
            assert!(!row.by_capability.is_empty());
        }

        // With pausing on, the weak annotator gets no more pairs; the others still do.
        let mut settings = ProjectSettings::of(&project);
        settings.pause_flagged = true;
        let project = store
            .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
            .await
            .unwrap();
        let refused = queue::next_pair(store.as_ref(), &project, ids[2]).await;
        assert!(
            matches!(refused, Err(QueueError::Paused)),
            "{refused:?} ({})",
            db.name
        );
        assert!(
            queue::next_pair(store.as_ref(), &project, ids[0])
                .await
                .unwrap()
                .is_some()
        );
        // Lowering the bar lifts the pause.
        settings.gold_min_accuracy = 0.2;
        let project = store
            .update_project_settings(&project, &settings, None, relabel::domain::now_ms())
            .await
            .unwrap();
        assert!(
            queue::next_pair(store.as_ref(), &project, ids[2])
                .await
                .unwrap()
                .is_some()
        );
        db
    })
    .await;
}
