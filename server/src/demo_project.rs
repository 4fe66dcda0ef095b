//! Installs the demo project (slug `demo`) into a store: the default guideline as
//! version 1 and the generated catalog's pairs, through the same import path as files.

use std::fmt;

use crate::auth::Role;
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
    /// The demo accounts, with the password of each one created now (existing accounts
    /// keep theirs, which cannot be shown).
    pub accounts: Vec<(String, Option<String>)>,
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
        )?;
        for (name, password) in &self.accounts {
            match password {
                Some(p) => write!(f, "\n  account {name}: password {p}")?,
                None => write!(f, "\n  account {name}: exists, password unchanged")?,
            }
        }
        Ok(())
    }
}

/// The demo's accounts: a site admin and two annotators of the demo project.
const DEMO_ACCOUNTS: [(&str, Role); 3] = [
    ("admin", Role::Admin),
    ("annotator1", Role::Annotator),
    ("annotator2", Role::Annotator),
];

/// Why the demo could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Creating an account failed.
    #[error(transparent)]
    Account(#[from] crate::service::members::MemberError),
}

/// Creates the demo project if missing, publishes the default guideline if it has none,
/// and imports the catalog generated from `seed` (pairs already present are kept).
pub async fn install(store: &dyn Store, seed: u64) -> Result<DemoSummary, DemoError> {
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
            (
                store.create_project(&new, crate::domain::now_ms()).await?,
                true,
            )
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
                    crate::domain::now_ms(),
                )
                .await?
        }
    };
    let counts =
        crate::import::import_records(store, &project, &data.pairs, &format!("demo seed {seed}"))
            .await?;
    let mut accounts = Vec::new();
    for (name, role) in DEMO_ACCOUNTS {
        let added = crate::service::members::add(
            store,
            (role != Role::Admin).then_some(&project),
            None,
            name,
            role,
            crate::service::members::NewPassword::Generate,
        )
        .await?;
        let password = added.generated_password;
        accounts.push((name.to_owned(), password));
    }
    Ok(DemoSummary {
        accounts,
        created,
        guideline_version,
        counts,
        generated_pairs: data.pairs.len(),
    })
}
