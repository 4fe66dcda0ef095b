//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! The series (each server reports its own; Prometheus sums them):
//! - `relabel_http_request_duration_seconds{method,route,status}`: a latency histogram
//!   per route pattern (`/api/v1/projects/{slug}/next`, never the raw path, so the label
//!   set stays small);
//! - `relabel_judgments_total{project}`: judgments this server stored (replays of the
//!   same idempotency key are not counted); judgments per minute is
//!   `60 * rate(relabel_judgments_total[1m])`;
//! - `relabel_queue_pairs{project,band,state}`: pairs `open` (fewer than k judgments and
//!   no reviewer decision) and `complete`, read from the database;
//! - `relabel_scorer_runs{project}` and `relabel_scorer_last_run_timestamp_seconds{project}`:
//!   training runs recorded in the database, whichever server or command made them.
//!
//! The database-derived gauges are read at most once per [`REFRESH`], so a scrape every
//! few seconds costs one grouped count per [`REFRESH`], not one per scrape.
//!
//! prometheus-client is the Prometheus project's own Rust client: no global default
//! registry, no protobuf unless asked, and it writes the text format Prometheus scrapes.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::storage::{Store, StoreError};

/// How stale the database-derived gauges may be.
pub const REFRESH: Duration = Duration::from_secs(15);

/// The labels of a request's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// GET, POST, ...
    pub method: String,
    /// The route's pattern, or `unmatched`.
    pub route: String,
    /// The response's status code.
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectLabels {
    project: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    project: String,
    band: String,
    state: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s: the queue's budget (20 ms) sits in the middle.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: LatencyFamily,
    judgments: Family<ProjectLabels, Counter>,
    queue: Family<QueueLabels, Gauge>,
    scorer_runs: Family<ProjectLabels, Gauge>,
    scorer_last: Family<ProjectLabels, Gauge<f64, AtomicU64>>,
}

/// When a server last read the database gauges (one per server state, so a process
/// serving two databases, as the tests do, never reports one's figures for the other).
pub type Refreshed = std::sync::Arc<tokio::sync::Mutex<Option<Instant>>>;

/// The one registry of this process.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let requests: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "relabel_http_request_duration_seconds",
            "Time to answer a request, by route pattern, method and status",
            requests.clone(),
        );
        let judgments = Family::default();
        registry.register(
            "relabel_judgments",
            "Judgments stored by this server (replayed submits not counted)",
            judgments.clone(),
        );
        let queue = Family::default();
        registry.register(
            "relabel_queue_pairs",
            "Pairs per project, band and state (open: fewer than k judgments and undecided)",
            queue.clone(),
        );
        let scorer_runs = Family::default();
        registry.register(
            "relabel_scorer_runs",
            "Relevance scorer training runs recorded for the project",
            scorer_runs.clone(),
        );
        let scorer_last = Family::default();
        registry.register(
            "relabel_scorer_last_run_timestamp_seconds",
            "When the project's newest scorer run was recorded (Unix time)",
            scorer_last.clone(),
        );
        Self {
            registry,
            requests,
            judgments,
            queue,
            scorer_runs,
            scorer_last,
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, labels: RouteLabels, took: Duration) {
        self.requests
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts one newly stored judgment in `project`.
    pub fn judgment_stored(&self, project: &str) {
        self.judgments
            .get_or_create(&ProjectLabels {
                project: project.to_owned(),
            })
            .inc();
    }

    /// The text a scrape gets, with the database gauges refreshed if older than
    /// [`REFRESH`].
    pub async fn render(
        &self,
        store: &dyn Store,
        refreshed: &Refreshed,
    ) -> Result<String, StoreError> {
        {
            let mut refreshed = refreshed.lock().await;
            if refreshed.is_none_or(|at| at.elapsed() >= REFRESH) {
                let gauges = store.gauges().await?;
                self.queue.clear();
                for (project, band, complete, all) in gauges.queue {
                    for (state, n) in [("complete", complete), ("open", all - complete)] {
                        self.queue
                            .get_or_create(&QueueLabels {
                                project: project.clone(),
                                band: band.clone(),
                                state: state.to_owned(),
                            })
                            .set(n);
                    }
                }
                self.scorer_runs.clear();
                self.scorer_last.clear();
                for (project, runs, newest) in gauges.scorer_runs {
                    let labels = ProjectLabels { project };
                    self.scorer_runs.get_or_create(&labels).set(runs);
                    if let Some(ms) = newest {
                        self.scorer_last
                            .get_or_create(&labels)
                            .set(ms as f64 / 1000.0);
                    }
                }
                *refreshed = Some(Instant::now());
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| StoreError::Corrupt(format!("encoding the metrics: {e}")))?;
        Ok(text)
    }
}
