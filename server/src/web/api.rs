//! The JSON API under `/api/v1`: thin handlers over the store.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::CurrentUser;
use super::error::AppError;

/// The server is up, and which database it uses.
#[utoipa::path(
    get,
    path = "/v1/health",
    responses((status = 200, description = "Up"))
)]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "backend": state.store.backend() }))
}

/// `GET /healthz`: the process is alive (nothing else is checked).
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database answers and its migrations are applied, else 503
/// with the reason, so a load balancer sends no traffic to this server.
pub async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    match state.store.readiness().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "why": why })),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus metrics (see [`crate::metrics`]). With a metrics token
/// configured the scrape must send `Authorization: Bearer TOKEN`; without one, only
/// clients on this machine (loopback) are answered, since the series name projects.
pub async fn metrics(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, AppError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let allowed = match &state.metrics_token {
        Some(token) => request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|sent| same_secret(sent.as_bytes(), token.as_bytes())),
        None => super::auth::client_address(&state, request.headers(), request.extensions())
            .is_some_and(|ip| ip.is_loopback()),
    };
    if !allowed {
        return Err(AppError::Forbidden(match state.metrics_token {
            Some(_) => "send the metrics token as `Authorization: Bearer TOKEN`".into(),
            None => "metrics are answered on loopback only; set RELABEL_METRICS_TOKEN to scrape from elsewhere".into(),
        }));
    }
    let text = crate::metrics::METRICS
        .render(state.store.as_ref(), &state.metrics_refreshed)
        .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Records each request's latency under its route pattern (see [`crate::metrics`]).
pub async fn track_latency(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    crate::metrics::METRICS.observe_request(
        crate::metrics::RouteLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed(),
    );
    response
}

/// The projects the caller is a member of (a site admin sees all), with their counts.
#[utoipa::path(
    get,
    path = "/v1/projects",
    responses(
        (status = 200, description = "`{\"projects\": [ProjectSummary]}`"),
        (status = 401, description = "Not logged in")
    )
)]
pub async fn list_projects(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, AppError> {
    let projects = super::auth::visible_projects(&state, &user).await?;
    Ok(Json(json!({ "projects": projects })))
}

/// Any other path under `/api`.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
