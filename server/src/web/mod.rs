//! The HTTP surface: `app(state)` builds the one router used by `relabel serve` and by
//! the tests. It serves the Leptos app (rendered on the server, hydrated from
//! `/pkg/relabel.js` + `/pkg/relabel_bg.wasm`), its server functions under `/rpc`, the
//! JSON API under `/api/v1`, and the stylesheet.

pub mod admin;
pub mod annotate;
pub mod api;
pub mod auth;
pub mod error;
pub mod export;
pub mod guideline;
pub mod import;
pub mod openapi;
pub mod review;
pub mod sessions;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use axum::Router;
use axum::extract::FromRef;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use relabel_frontend::app::{App, shell};
use relabel_frontend::backend::{Backend, BackendError, SharedBackend};
use relabel_frontend::types::{
    AddedMember, ClaimedPair, GuidelineView, JudgmentForm, MemberView, Progress, ProjectSummary,
    RuleView, SettingsView,
};

use crate::auth::Role;
use crate::queue::{JudgmentInput, RuleCitation, RuleVerdict};
use crate::service::roles::EDITORS;
use crate::service::{self, Caller, rule_view, utc_minute};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::Session;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::storage::SharedStore;

/// The stylesheet, compiled into the binary so a page is never unstyled.
const STYLESHEET: &str = include_str!("../../../style/main.css");

/// Where the browser bundle is looked for when `--site-root` is not given.
pub const DEFAULT_SITE_ROOT: &str = "target/site";

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: SharedStore,
    /// Leptos' settings (where the wasm bundle is, its file names).
    pub leptos: LeptosOptions,
    /// Login attempts per account and per address.
    pub login_limits: auth::LoginLimits,
    /// Mark the session cookie `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` is believed (see [`auth::client_address`]).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Why the relevance scorer is off on this server (its weights are missing), decided
    /// once at start-up; `None` when it is on.
    pub scorer_off: Option<String>,
    /// The bearer token `/metrics` asks for; without one it answers loopback only.
    pub metrics_token: Option<String>,
    /// When `/metrics` last read its gauges from this state's database.
    pub metrics_refreshed: crate::metrics::Refreshed,
    /// Quality figures kept for a while (see [`crate::figures`]).
    pub figures: Arc<crate::figures::Figures>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl AppState {
    /// State for a store, with the browser bundle looked for under `site_root/pkg`.
    pub fn new(store: SharedStore, site_root: &Path) -> Self {
        let leptos = LeptosOptions::builder()
            .output_name("relabel")
            .site_root(site_root.display().to_string())
            .site_pkg_dir("pkg")
            .build();
        Self {
            store,
            leptos,
            login_limits: auth::LoginLimits::default(),
            secure_cookies: false,
            trusted_proxies: Arc::from([]),
            scorer_off: relabel_models::encoder::missing_weights(
                &relabel_models::encoder::default_dir(),
            ),
            metrics_token: None,
            metrics_refreshed: Default::default(),
            figures: Default::default(),
        }
    }

    /// The folder the wasm bundle is served from.
    pub fn pkg_dir(&self) -> PathBuf {
        Path::new(&*self.leptos.site_root).join(&*self.leptos.site_pkg_dir)
    }
}

/// The app's data needs, answered with the same services as the JSON API.
struct StoreBackend(AppState);

impl StoreBackend {
    fn session(request: &Parts) -> Result<Session, BackendError> {
        request
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| BackendError::Failed("the session layer is missing".into()))
    }
}

/// A service's refusal as the pages show it: its message, one line.
fn service_error(err: crate::service::ServiceError) -> BackendError {
    use crate::service::ServiceError as S;
    match err {
        S::Store(e) => backend_error(e.into()),
        S::Queue(e) => backend_error(e.into()),
        S::Forbidden(message) => BackendError::Forbidden(message),
        refused => BackendError::Refused(refused.to_string()),
    }
}

fn backend_error(err: error::AppError) -> BackendError {
    use error::AppError as E;
    match err {
        E::Unauthorized => BackendError::Unauthorized,
        E::TooManyRequests(s) => BackendError::TooManyAttempts(s),
        E::Forbidden(m) => BackendError::Forbidden(m),
        E::Conflict(m) | E::BadRequest(m) | E::Unprocessable(m) => BackendError::Refused(m),
        E::NotFound => BackendError::Refused("not found".into()),
        E::Internal(cause) => BackendError::Failed(cause),
    }
}

impl StoreBackend {
    /// The caller and the project, if they hold one of `roles` in it.
    async fn caller_in(
        &self,
        request: &Parts,
        slug: &str,
        roles: &[Role],
    ) -> Result<(auth::CurrentUser, crate::domain::Project), BackendError> {
        let user = self.user(request).await?;
        let project = auth::project_for(&self.0, &user, slug, roles)
            .await
            .map_err(backend_error)?;
        Ok((user, project))
    }

    /// The logged-in caller.
    async fn user(&self, request: &Parts) -> Result<auth::CurrentUser, BackendError> {
        let session = Self::session(request)?;
        auth::current_user(&self.0, &session)
            .await
            .map_err(backend_error)
    }
}

#[async_trait]
impl Backend for StoreBackend {
    async fn list_projects(&self, request: &Parts) -> Result<Vec<ProjectSummary>, BackendError> {
        let user = self.user(request).await?;
        auth::visible_projects(&self.0, &user)
            .await
            .map_err(backend_error)
    }

    async fn login(
        &self,
        request: &Parts,
        username: String,
        password: String,
    ) -> Result<String, BackendError> {
        let session = Self::session(request)?;
        let address = auth::client_address(&self.0, &request.headers, &request.extensions);
        match auth::log_in(&self.0, &session, address, &username, password).await {
            Ok(info) => Ok(info.username),
            Err(error::AppError::Unauthorized) => Err(BackendError::BadCredentials),
            Err(other) => Err(backend_error(other)),
        }
    }

    async fn logout(&self, request: &Parts) -> Result<(), BackendError> {
        Self::session(request)?
            .flush()
            .await
            .map_err(|e| BackendError::Failed(e.to_string()))
    }

    async fn claim_next(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Option<ClaimedPair>, BackendError> {
        let user = self.user(request).await?;
        let claimed = service::annotate::next(self.0.store.as_ref(), Caller::User(&user), &slug)
            .await
            .map_err(service_error)?;
        Ok(claimed.map(|c| ClaimedPair {
            lease_id: c.claim.lease_id,
            expires_at: c.claim.expires_at,
            pair: c.pair,
        }))
    }

    async fn submit(
        &self,
        request: &Parts,
        slug: String,
        form: JudgmentForm,
    ) -> Result<(i64, i64), BackendError> {
        let user = self.user(request).await?;
        let input = JudgmentInput {
            pair_id: form.pair_id,
            lease_id: form.lease_id,
            label: form.label,
            rules: form
                .rules
                .into_iter()
                .map(|c| RuleCitation {
                    id: c.id,
                    verdict: if c.violated {
                        RuleVerdict::Violated
                    } else {
                        RuleVerdict::Applies
                    },
                })
                .collect(),
            rationale: form.rationale,
            duration_ms: Some(form.duration_ms.max(0)),
            guideline_version_id: form.guideline_version_id,
            idempotency_key: form.idempotency_key,
            ranking: service::annotate::ranking_input(
                form.ranking,
                form.step_flags,
                form.corrected_cot,
            )
            .map_err(service_error)?,
        };
        let store = self.0.store.as_ref();
        let caller = Caller::User(&user);
        let stored = service::annotate::submit(store, caller, &slug, &input, form.revise)
            .await
            .map_err(service_error)?;
        Ok((stored.judgment_id, stored.revision))
    }

    async fn skip(&self, request: &Parts, slug: String, pair_id: i64) -> Result<(), BackendError> {
        let user = self.user(request).await?;
        service::annotate::skip(
            self.0.store.as_ref(),
            Caller::User(&user),
            &slug,
            pair_id,
            None,
        )
        .await
        .map_err(service_error)
    }

    async fn guideline(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Option<GuidelineView>, BackendError> {
        let user = self.user(request).await?;
        service::annotate::guideline(self.0.store.as_ref(), Caller::User(&user), &slug)
            .await
            .map_err(service_error)
    }

    async fn progress(&self, request: &Parts, slug: String) -> Result<Progress, BackendError> {
        let user = self.user(request).await?;
        let now = crate::domain::now_ms();
        service::annotate::progress(self.0.store.as_ref(), Caller::User(&user), &slug, now)
            .await
            .map_err(service_error)
    }

    async fn list_members(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Vec<MemberView>, BackendError> {
        let user = self.user(request).await?;
        service::members::list_members(self.0.store.as_ref(), Caller::User(&user), &slug)
            .await
            .map_err(service_error)
    }

    async fn add_member(
        &self,
        request: &Parts,
        slug: String,
        username: String,
        role: String,
        password: String,
    ) -> Result<AddedMember, BackendError> {
        let user = self.user(request).await?;
        let new = service::members::NewMember {
            username,
            role,
            password,
        };
        service::members::add_member(self.0.store.as_ref(), Caller::User(&user), &slug, new)
            .await
            .map_err(service_error)
    }

    async fn settings(&self, request: &Parts, slug: String) -> Result<SettingsView, BackendError> {
        let user = self.user(request).await?;
        let off = self.0.scorer_off.as_deref();
        service::settings::settings(self.0.store.as_ref(), Caller::User(&user), &slug, off)
            .await
            .map_err(service_error)
    }

    async fn update_settings(
        &self,
        request: &Parts,
        slug: String,
        change: relabel_frontend::backend::SettingsChange,
    ) -> Result<SettingsView, BackendError> {
        let user = self.user(request).await?;
        service::settings::update_settings(
            self.0.store.as_ref(),
            Caller::User(&user),
            &slug,
            change,
            self.0.scorer_off.as_deref(),
            crate::domain::now_ms(),
        )
        .await
        .map_err(service_error)
    }

    async fn dashboard(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<relabel_frontend::types::DashboardView, BackendError> {
        let user = self.user(request).await?;
        let (store, figures) = (self.0.store.as_ref(), &self.0.figures);
        service::review::dashboard(store, figures, Caller::User(&user), &slug)
            .await
            .map(|view| (*view).clone())
            .map_err(service_error)
    }

    async fn review_queue(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<relabel_frontend::types::ReviewQueueView, BackendError> {
        let user = self.user(request).await?;
        let (store, figures) = (self.0.store.as_ref(), &self.0.figures);
        let list = service::review::queue(store, figures, Caller::User(&user), &slug, 100)
            .await
            .map_err(service_error)?;
        Ok(relabel_frontend::types::ReviewQueueView {
            total: list.total as i64,
            entries: list
                .pairs
                .into_iter()
                .map(|e| relabel_frontend::types::ReviewEntryView {
                    pair_id: e.item.pair_id,
                    query: e.query,
                    item_title: e.item_title,
                    labels: e.item.labels,
                    reasons: e.item.reasons.iter().map(|r| r.describe()).collect(),
                })
                .collect(),
        })
    }

    async fn review_pair(
        &self,
        request: &Parts,
        slug: String,
        pair_id: i64,
    ) -> Result<relabel_frontend::types::ReviewPairView, BackendError> {
        use relabel_frontend::types::{DecisionView, ReviewJudgmentView, ReviewPairView};
        let user = self.user(request).await?;
        let (store, figures) = (self.0.store.as_ref(), &self.0.figures);
        let found = service::review::pair(store, figures, Caller::User(&user), &slug, pair_id)
            .await
            .map_err(service_error)?;
        Ok(ReviewPairView {
            pair: found.pair,
            judgments: found
                .judgments
                .into_iter()
                .map(|j| ReviewJudgmentView {
                    annotator: j.annotator,
                    revision: j.revision,
                    label: j.label,
                    rationale: j.rationale,
                    rules: j
                        .rules
                        .iter()
                        .map(|r| {
                            let verdict = match r.verdict {
                                crate::queue::RuleVerdict::Applies => "applies",
                                crate::queue::RuleVerdict::Violated => "violated",
                            };
                            format!("{} ({verdict})", r.id)
                        })
                        .collect(),
                    guideline_version: j.guideline_version,
                })
                .collect(),
            decisions: found
                .decisions
                .into_iter()
                .map(|d| DecisionView {
                    reviewer: d.reviewer,
                    label: d.label,
                    note: d.note,
                })
                .collect(),
            reasons: found.reasons.iter().map(|r| r.describe()).collect(),
            scale: found.scale,
            rereviews: found
                .rereviews
                .into_iter()
                .map(|r| relabel_frontend::types::RereviewInfo {
                    annotator: r.open.annotator,
                    label: r.open.label,
                    rule: r.open.rule,
                    from_version: r.open.from_version,
                    to_version: r.open.to_version,
                    rule_before: r.rule_before.map(|j| rule_view(j.into())),
                    rule_after: r.rule_after.map(|j| rule_view(j.into())),
                })
                .collect(),
        })
    }

    async fn decide(
        &self,
        request: &Parts,
        slug: String,
        pair_id: i64,
        label: String,
        note: String,
    ) -> Result<(), BackendError> {
        let user = self.user(request).await?;
        let state = &self.0;
        service::review::decide(
            state.store.as_ref(),
            &state.figures,
            Caller::User(&user),
            &slug,
            pair_id,
            &label,
            &note,
            crate::domain::now_ms(),
        )
        .await
        .map(|_| ())
        .map_err(service_error)
    }

    async fn guideline_versions(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Vec<relabel_frontend::types::VersionListEntry>, BackendError> {
        let user = self.user(request).await?;
        let versions =
            service::guideline::versions(self.0.store.as_ref(), Caller::User(&user), &slug)
                .await
                .map_err(service_error)?;
        Ok(versions
            .into_iter()
            .map(|v| relabel_frontend::types::VersionListEntry {
                number: v.number,
                change_note: v.change_note,
                published: utc_minute(v.published_at),
                author: v.author,
                rules: v.rules,
            })
            .collect())
    }

    async fn guideline_version_page(
        &self,
        request: &Parts,
        slug: String,
        number: i64,
    ) -> Result<relabel_frontend::types::VersionPageView, BackendError> {
        use relabel_frontend::types::{DiffSpanView, RuleChangeView, RuleImpactView};
        let user = self.user(request).await?;
        let service::guideline::VersionRead {
            version,
            previous: before,
            impact,
            can_send,
        } = service::guideline::version_page(
            self.0.store.as_ref(),
            Caller::User(&user),
            &slug,
            number,
        )
        .await
        .map_err(service_error)?;
        let diff = crate::guideline::diff(
            before.as_ref().map_or(&[][..], |b| &b.rules[..]),
            &version.rules,
        );
        let name = |r: crate::guideline::RuleName| format!("{}: {}", r.id, r.title);
        let impact = impact.map(|found| {
            found
                .rules
                .into_iter()
                .map(|r| RuleImpactView {
                    rule: r.rule,
                    change: r.change,
                    judgments: r.judgments,
                })
                .collect()
        });
        Ok(relabel_frontend::types::VersionPageView {
            number,
            change_note: version.change_note,
            published: version.published_at.map(utc_minute).unwrap_or_default(),
            rules: version.rules.into_iter().map(rule_view).collect(),
            // Version 1 adds every rule; listing them all again says nothing.
            added: if number > 1 {
                diff.added.into_iter().map(name).collect()
            } else {
                Vec::new()
            },
            removed: diff.removed.into_iter().map(name).collect(),
            changed: diff
                .changed
                .into_iter()
                .map(|c| RuleChangeView {
                    id: c.id,
                    title_before: c.title_before,
                    title_after: c.title_after,
                    body: c
                        .body
                        .into_iter()
                        .map(|s| DiffSpanView {
                            op: s.op,
                            text: s.text,
                        })
                        .collect(),
                    examples_changed: c.examples_changed,
                    tags_changed: c.tags_changed,
                })
                .collect(),
            impact,
            can_send,
        })
    }

    async fn send_rereview(
        &self,
        request: &Parts,
        slug: String,
        number: i64,
    ) -> Result<u64, BackendError> {
        let user = self.user(request).await?;
        let (store, figures) = (self.0.store.as_ref(), &self.0.figures);
        service::review::send_rereview(store, figures, Caller::User(&user), &slug, number)
            .await
            .map_err(service_error)
    }

    async fn decide_rereview(
        &self,
        request: &Parts,
        slug: String,
        pair_id: i64,
        label: String,
        note: String,
    ) -> Result<(), BackendError> {
        let user = self.user(request).await?;
        let (store, figures) = (self.0.store.as_ref(), &self.0.figures);
        let caller = Caller::User(&user);
        service::review::decide_rereview(store, figures, caller, &slug, pair_id, &label, &note)
            .await
            .map(|_| ())
            .map_err(service_error)
    }

    async fn guideline_draft(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<relabel_frontend::types::DraftEditView, BackendError> {
        let user = self.user(request).await?;
        service::guideline::draft(self.0.store.as_ref(), Caller::User(&user), &slug)
            .await
            .map_err(service_error)
    }

    async fn save_guideline_draft(
        &self,
        request: &Parts,
        slug: String,
        rules: Vec<RuleView>,
    ) -> Result<(), BackendError> {
        let (user, project) = self.caller_in(request, &slug, EDITORS).await?;
        let rules: Vec<crate::domain::RuleRecord> = rules
            .into_iter()
            .map(|r| crate::domain::RuleRecord {
                key: r.id.trim().to_owned(),
                title: r.title,
                body: r.body,
                capabilities: r.capabilities,
                dimension: r.dimension.filter(|d| !d.trim().is_empty()),
                examples: r
                    .examples
                    .into_iter()
                    .map(|e| crate::domain::RuleExample {
                        query: e.query,
                        item_title: e.item_title,
                        label: e.label,
                        why: e.why,
                    })
                    .collect(),
            })
            .collect();
        crate::service::guideline::save_draft(
            self.0.store.as_ref(),
            &project,
            Some(user.id),
            &rules,
            |at| {
                let id = rules.get(at.rule).map_or("", |r| r.key.as_str());
                match at.example {
                    Some(e) => format!("rule {} ({id}), example {}", at.rule + 1, e + 1),
                    None => format!("rule {} ({id})", at.rule + 1),
                }
            },
        )
        .await
        .map_err(service_error)
    }

    async fn publish_guideline_draft(
        &self,
        request: &Parts,
        slug: String,
        note: String,
    ) -> Result<i64, BackendError> {
        let (user, project) = self.caller_in(request, &slug, EDITORS).await?;
        crate::service::guideline::publish(self.0.store.as_ref(), &project, Some(user.id), &note)
            .await
            .map_err(service_error)
    }

    async fn search_pairs(
        &self,
        request: &Parts,
        slug: String,
        text: String,
    ) -> Result<Vec<relabel_frontend::types::PairHit>, BackendError> {
        let user = self.user(request).await?;
        service::guideline::search_pairs(self.0.store.as_ref(), Caller::User(&user), &slug, &text)
            .await
            .map_err(service_error)
    }

    async fn revoke_role(
        &self,
        request: &Parts,
        slug: String,
        user_id: i64,
        role: String,
    ) -> Result<(), BackendError> {
        let user = self.user(request).await?;
        service::members::revoke_member(
            self.0.store.as_ref(),
            Caller::User(&user),
            &slug,
            user_id,
            &role,
        )
        .await
        .map_err(service_error)
    }
}

/// The app's page routes, generated once per process: leptos suspends every resource
/// that first polls while a route list is being generated anywhere in the process (a
/// process-global flag), so generating it again beside live renders (several routers in
/// one process, as in the tests) could leave a page waiting forever (leptos issue 4773).
fn page_routes() -> &'static [leptos_axum::AxumRouteListing] {
    static ROUTES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// The paths of the app's pages, as the router serves them.
pub fn page_paths() -> Vec<String> {
    page_routes().iter().map(|r| r.path().to_owned()).collect()
}

/// The Content-Security-Policy of every response that is not a page: no script, style or
/// frame but this server's own, no inline script at all.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' https: data:; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// A page's policy: as [`CSP`], but the inline scripts Leptos writes (the hydration
/// bootstrap, resolved resources) run only with this response's nonce, and style
/// attributes (the charts' SVG) are allowed.
fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// What each page render gets: the data backend, and its response's CSP, which names the
/// nonce leptos_axum made for this request's inline scripts.
fn page_context(backend: &SharedBackend) {
    provide_context(backend.clone());
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = header::HeaderValue::from_str(&page_csp(&nonce))
    {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let routes = page_routes().to_vec();
    let backend: SharedBackend = Arc::new(StoreBackend(state.clone()));
    let leptos = state.leptos.clone();
    let page_not_found = {
        let backend = backend.clone();
        let leptos = state.leptos.clone();
        leptos_axum::render_app_to_stream_with_context(
            move || page_context(&backend),
            move || shell(leptos.clone()),
        )
    };
    let api = openapi::router();
    let sessions = SessionManagerLayer::new(sessions::DbSessionStore(state.store.clone()))
        .with_name("relabel_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(2)));
    Router::new()
        .nest("/api", api)
        .route("/style/main.css", get(stylesheet))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .nest_service("/pkg", ServeDir::new(state.pkg_dir()))
        .leptos_routes_with_context(
            &state,
            routes,
            move || page_context(&backend),
            move || shell(leptos.clone()),
        )
        // Unknown pages get the app's own "Page not found" (status 404), so a person
        // who mistypes an address can find their way back.
        .fallback(move |request: axum::extract::Request| async move {
            page_not_found(request).await.into_response()
        })
        .layer(axum::middleware::from_fn(auth::same_origin_writes))
        // Security headers on every response (a page's own CSP, with its nonce, stays).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            header::HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            header::HeaderValue::from_static("same-origin"),
        ))
        .layer(axum::middleware::from_fn(api::track_latency))
        .layer(sessions)
        // Every request gets an id (`x-request-id`, kept when a proxy sent one), its
        // span in the logs carries it, and the response returns it.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|request: &axum::extract::Request| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %id
                    )
                })
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .with_state(state)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLESHEET,
    )
}

/// Serves `state` on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState, addr: SocketAddr) -> anyhow::Result<()> {
    let bundle = state.pkg_dir().join("relabel_bg.wasm");
    if !bundle.exists() {
        tracing::warn!(
            "the browser bundle {} is missing: pages render but do not respond to input; \
             build it with `scripts/dev build`",
            bundle.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(
        "relabel is serving on http://{local} ({:?} database)",
        state.store.backend()
    );
    let store = state.store.clone();
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
