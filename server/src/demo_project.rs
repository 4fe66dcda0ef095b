//! Installs the demo project (slug `demo`) into a store: the default guideline as
//! version 1 and the generated catalog's pairs, through the same import path as files.

use std::fmt;

use crate::demo;
use crate::domain::{NewProject, ScalePreset, TaskKind};
use crate::storage::{ImportCounts, Store, StoreError};

/// The demo project's slug.
pub const DEMO_SLUG: &str = "demo";

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Whether the project was created now (false: it existed and was reused).
    pub created: bool,
    /// The guideline version the project is on.
    pub guideline_version: i64,
    /// What the import added (nothing when the project already had the data).
    pub counts: ImportCounts,
    /// Pairs generated for the seed.
    pub generated_pairs: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo project {}: guideline v{}, {} pairs generated, {} new ({} already present), \
             {} CoT candidates and {} gold labels added",
            if self.created { "created" } else { "reused" },
            self.guideline_version,
            self.generated_pairs,
            self.counts.pairs_added,
            self.counts.pairs_existing,
            self.counts.cot_added,
            self.counts.gold_added
        )
    }
}

/// Creates the demo project if missing, publishes the default guideline if it has none,
/// and imports the catalog generated from `seed` (pairs already present are kept).
pub async fn install(store: &dyn Store, seed: u64) -> Result<DemoSummary, StoreError> {
    let data = demo::generate(seed);
    let (project, created) = match store.project(DEMO_SLUG).await? {
        Some(p) => (p, false),
        None => {
            let new = NewProject {
                slug: DEMO_SLUG.into(),
                name: "Demo: e-commerce search relevance".into(),
                scale: ScalePreset::Lore4,
                overlap_k: 3,
                task: TaskKind::Judge,
            };
            (store.create_project(&new).await?, true)
        }
    };
    let guideline_version = match store.latest_guideline_number(&project).await? {
        Some(n) => n,
        None => {
            store
                .publish_guideline(
                    &project,
                    &data.rules,
                    "Default guideline shipped with the demo",
                )
                .await?
        }
    };
    let counts =
        crate::import::import_records(store, &project, &data.pairs, &format!("demo seed {seed}"))
            .await?;
    Ok(DemoSummary {
        created,
        guideline_version,
        counts,
        generated_pairs: data.pairs.len(),
    })
}
