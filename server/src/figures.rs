//! Quality figures, kept for a while. The dashboard, the review queue and the gold table
//! each read all of a project's judgments (or gold answers); at a million pairs that takes seconds
//! (BENCHMARKS.md, issue 9). A server computes each at most once per [`TTL`] per project
//! and settings, however many people ask meanwhile (moka's `try_get_with` runs one
//! computation and the others wait for it). A decision or a re-review sent on this
//! server drops the project's figures at once; other servers catch up within [`TTL`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use relabel_core::types::DashboardView;

use crate::domain::{Project, ProjectSettings};
use crate::quality::{self, AnnotatorGold, ReviewItem};
use crate::storage::{Store, StoreError};

/// How long figures are reused.
pub const TTL: Duration = Duration::from_secs(30);

/// The review queue and the project's alpha, from one read of its judgments.
#[derive(Debug, Clone)]
pub struct ReviewFigures {
    /// Krippendorff's alpha (ordinal) over the current labels.
    pub alpha: Option<f64>,
    /// Pairs waiting for a reviewer, in queue order.
    pub items: Vec<ReviewItem>,
}

/// A project and the settings its figures depend on.
type Key = (i64, u64);

fn key(project: &Project) -> Key {
    let mut h = DefaultHasher::new();
    format!("{:?}", ProjectSettings::of(project)).hash(&mut h);
    (project.id, h.finish())
}

/// One server's figures.
pub struct Figures {
    dashboards: Cache<Key, Arc<DashboardView>>,
    reviews: Cache<Key, Arc<ReviewFigures>>,
    gold: Cache<Key, Arc<Vec<AnnotatorGold>>>,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            dashboards: cache(),
            reviews: cache(),
            gold: cache(),
        }
    }
}

fn cache<V: Clone + Send + Sync + 'static>() -> Cache<Key, V> {
    Cache::builder().max_capacity(256).time_to_live(TTL).build()
}

fn shared(e: Arc<StoreError>) -> StoreError {
    match &*e {
        StoreError::NotFound => StoreError::NotFound,
        other => StoreError::Corrupt(other.to_string()),
    }
}

impl Figures {
    /// The project's dashboard.
    pub async fn dashboard(
        &self,
        store: &dyn Store,
        project: &Project,
    ) -> Result<Arc<DashboardView>, StoreError> {
        self.dashboards
            .try_get_with(key(project), async {
                crate::dashboard::dashboard(store, project)
                    .await
                    .map(Arc::new)
            })
            .await
            .map_err(shared)
    }

    /// The project's review queue and alpha.
    pub async fn review(
        &self,
        store: &dyn Store,
        project: &Project,
    ) -> Result<Arc<ReviewFigures>, StoreError> {
        self.reviews
            .try_get_with(key(project), async {
                let rows = store.review_rows(project).await?;
                Ok(Arc::new(ReviewFigures {
                    alpha: quality::project_alpha(project, &rows),
                    items: quality::review_items(project, &rows),
                }))
            })
            .await
            .map_err(shared)
    }

    /// Each annotator's gold accuracy in the project.
    pub async fn gold(
        &self,
        store: &dyn Store,
        project: &Project,
    ) -> Result<Arc<Vec<AnnotatorGold>>, StoreError> {
        self.gold
            .try_get_with(key(project), async {
                quality::gold_report(store, project).await.map(Arc::new)
            })
            .await
            .map_err(shared)
    }

    /// Drops the project's figures: a decision or re-review changed them.
    pub async fn forget(&self, project_id: i64) {
        drop_project(&self.dashboards, project_id).await;
        drop_project(&self.reviews, project_id).await;
        drop_project(&self.gold, project_id).await;
    }
}

/// Keys also carry a settings fingerprint: drops every entry of the project.
async fn drop_project<V: Clone + Send + Sync + 'static>(cache: &Cache<Key, V>, project_id: i64) {
    let stale: Vec<Key> = cache
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| k.0 == project_id)
        .collect();
    for k in stale {
        cache.invalidate(&k).await;
    }
}
