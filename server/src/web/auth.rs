//! Logging in and out, who the caller is, what they may do, and the guards every
//! request passes: login rate limits, the session's absolute lifetime, and the refusal
//! of cross-origin writes.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::ToSchema;

use super::AppState;
use super::error::AppError;
pub use crate::auth::CurrentUser;
use crate::auth::{Membership, Role, verify_password};
use crate::domain::{Project, now_ms};

/// A session ends this long after login, however active (idle expiry is the cookie's).
pub const ABSOLUTE_SESSION_MS: i64 = 12 * 60 * 60 * 1000;
const SESSION_USER: &str = "user_id";
const SESSION_LOGIN_AT: &str = "login_at";

/// Login attempts allowed per minute for one account and for one address. They are
/// counted in the database, so every server behind a load balancer enforces the same
/// limit: a sliding minute, estimated from one-minute windows (this window's attempts
/// plus the last window's, weighted by how much of it the sliding minute still covers).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    per_account: i64,
    per_address: i64,
}

impl LoginLimits {
    /// `per_account` attempts a minute for one user name, `per_address` for one address.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            per_account: i64::from(per_account.max(1)),
            per_address: i64::from(per_address.max(1)),
        }
    }

    /// Counts one attempt; `TooManyRequests` with the seconds to wait when over a limit.
    async fn check(
        &self,
        store: &dyn crate::storage::Store,
        account: &str,
        address: Option<IpAddr>,
    ) -> Result<(), AppError> {
        const MINUTE: i64 = 60_000;
        let now = now_ms();
        let window = now - now.rem_euclid(MINUTE);
        let into = (now - window) as f64 / MINUTE as f64;
        let wait = ((window + MINUTE - now) / 1000).max(1) as u64;
        // Names are at most 64 characters; longer ones cannot exist, so need no more.
        let account: String = account.to_lowercase().chars().take(65).collect();
        let mut keys = vec![(format!("account:{account}"), self.per_account)];
        if let Some(ip) = address {
            keys.insert(0, (format!("address:{ip}"), self.per_address));
        }
        for (key, limit) in keys {
            let seen = store.count_login_attempt(&key, window).await?;
            if seen.current as f64 + seen.previous as f64 * (1.0 - into) > limit as f64 {
                return Err(AppError::TooManyRequests(wait));
            }
        }
        Ok(())
    }
}

impl Default for LoginLimits {
    /// 10 attempts a minute per account, 30 per address.
    fn default() -> Self {
        Self::new(10, 30)
    }
}

/// A JSON body whose rejection answers in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Self(v))
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))
    }
}

/// `POST /api/v1/session`'s body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// Who is logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// User id.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// Roles held: `[project id or null, role]`.
    pub roles: Vec<RoleView>,
}

/// One role the user holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// The project's id, or null for every project.
    pub project_id: Option<i64>,
    /// admin, guideline_editor, reviewer or annotator.
    pub role: String,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Internal("the session layer is missing".into()))?;
        current_user(state, &session).await
    }
}

/// The user logged in on `session`: 401 when nobody is, or the session has outlived its
/// absolute lifetime, or the user was disabled or changed their password since.
pub async fn current_user(state: &AppState, session: &Session) -> Result<CurrentUser, AppError> {
    let read = |e: tower_sessions::session::Error| AppError::Internal(e.to_string());
    let user_id: Option<i64> = session.get(SESSION_USER).await.map_err(read)?;
    let login_at: Option<i64> = session.get(SESSION_LOGIN_AT).await.map_err(read)?;
    let (Some(user_id), Some(login_at)) = (user_id, login_at) else {
        return Err(AppError::Unauthorized);
    };
    if now_ms() - login_at > ABSOLUTE_SESSION_MS {
        session.flush().await.map_err(read)?;
        return Err(AppError::Unauthorized);
    }
    let user = match state.store.user_by_id(user_id).await? {
        // A password changed after this login ends the session.
        Some(u) if !u.disabled && login_at >= u.password_changed_at => u,
        _ => {
            session.flush().await.map_err(read)?;
            return Err(AppError::Unauthorized);
        }
    };
    let memberships = state.store.memberships(user.id).await?;
    Ok(CurrentUser {
        id: user.id,
        name: user.name,
        memberships,
    })
}

/// The projects `user` may see (a site admin sees all), with their counts.
pub async fn visible_projects(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<relabel_frontend::types::ProjectSummary>, AppError> {
    // One query for all projects; the memberships came with the user's session.
    Ok(state
        .store
        .list_projects()
        .await?
        .into_iter()
        .filter(|listed| user.is_member_of(listed.id))
        .map(|listed| relabel_frontend::types::ProjectSummary {
            my_roles: user.roles_in_id(listed.id),
            ..listed.summary
        })
        .collect())
}

/// The project named by `slug`, if the caller holds one of `roles` in it. A project that
/// does not exist answers the same 403 as one the caller may not use, so its existence
/// does not leak.
pub async fn project_for(
    state: &AppState,
    user: &CurrentUser,
    slug: &str,
    roles: &[Role],
) -> Result<Project, AppError> {
    Ok(crate::service::project_for(
        state.store.as_ref(),
        crate::service::Caller::User(user),
        slug,
        roles,
    )
    .await?)
}

/// The client's address, when the server was started with connect info: the peer's,
/// unless the peer is one of the state's trusted proxies. Then `X-Forwarded-For` is read
/// from the right (each proxy appends the address it saw), and the first address that is
/// not itself a trusted proxy is the client. A client cannot dodge the per-address login
/// limit by sending its own `X-Forwarded-For`: from an untrusted peer it is ignored.
pub fn client_address(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(forwarded_client(&state.trusted_proxies, peer, headers))
}

fn forwarded_client(trusted: &[ipnet::IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Garbage ends the walk: the last address a trusted hop vouched for stands.
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

fn session_info(user_id: i64, username: String, memberships: &[Membership]) -> SessionInfo {
    SessionInfo {
        user_id,
        username,
        roles: memberships
            .iter()
            .map(|m| RoleView {
                project_id: m.project_id,
                role: m.role.as_str().to_owned(),
            })
            .collect(),
    }
}

/// A hash to verify against when the user does not exist, so a wrong name takes as
/// long as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::auth::hash_password(&crate::auth::generate_password()).unwrap_or_default()
});

/// Logs in: checks the rate limits, verifies the password (on a blocking thread),
/// cycles the session id and remembers the user.
#[utoipa::path(
    post,
    path = "/v1/session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionInfo),
        (status = 401, description = "Wrong user name or password"),
        (status = 429, description = "Too many attempts")
    )
)]
pub async fn login(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Json<SessionInfo>, AppError> {
    let address = client_address(&state, request.headers(), request.extensions());
    let ApiJson(body) = ApiJson::<LoginRequest>::from_request(request, &state).await?;
    log_in(&state, &session, address, &body.username, body.password)
        .await
        .map(Json)
}

/// Checks the rate limits, verifies the password (on a blocking thread), cycles the
/// session id and remembers the user. Shared by the JSON API and the login page.
pub async fn log_in(
    state: &AppState,
    session: &Session,
    address: Option<IpAddr>,
    username: &str,
    password: String,
) -> Result<SessionInfo, AppError> {
    state
        .login_limits
        .check(state.store.as_ref(), username, address)
        .await?;
    let user = state.store.user_by_name(username).await?;
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let matches = password_matches(password, hash).await?;
    let user = match user {
        Some(u) if matches && !u.disabled => u,
        _ => {
            tracing::info!(%username, "failed login");
            return Err(AppError::Unauthorized);
        }
    };
    // A new id at login: an id planted before login is worth nothing after it.
    restamp(session).await?;
    session
        .insert(SESSION_USER, user.id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let memberships = state.store.memberships(user.id).await?;
    Ok(session_info(user.id, user.name, &memberships))
}

/// Checks a password against a stored hash on a blocking thread (argon2 is slow on
/// purpose; it must not hold up the async workers).
async fn password_matches(password: String, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Gives the session a new id and a new login time: done at login and at a password
/// change, after which sessions logged in earlier are refused.
async fn restamp(session: &Session) -> Result<(), AppError> {
    let fail = |e: tower_sessions::session::Error| AppError::Internal(e.to_string());
    session.cycle_id().await.map_err(fail)?;
    session
        .insert(SESSION_LOGIN_AT, now_ms())
        .await
        .map_err(fail)
}

/// Logs out: the session is deleted and its cookie cleared.
#[utoipa::path(
    delete,
    path = "/v1/session",
    responses((status = 204, description = "Logged out"))
)]
pub async fn logout(session: Session) -> Result<StatusCode, AppError> {
    session
        .flush()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/session/password`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one (at least 10 characters).
    pub new_password: String,
}

/// Changes the caller's password. Every other session of the caller ends; this one
/// carries on under a new id. Attempts count against the login rate limits.
#[utoipa::path(
    put,
    path = "/v1/session/password",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 401, description = "Not logged in"),
        (status = 422, description = "The current password does not match, or the new one is too short"),
        (status = 429, description = "Too many attempts")
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    request: Request,
) -> Result<StatusCode, AppError> {
    let address = client_address(&state, request.headers(), request.extensions());
    let ApiJson(body) = ApiJson::<PasswordChange>::from_request(request, &state).await?;
    state
        .login_limits
        .check(state.store.as_ref(), &user.name, address)
        .await?;
    let stored = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !password_matches(body.current_password, stored.password_hash).await? {
        return Err(AppError::Unprocessable(
            "current_password: does not match".into(),
        ));
    }
    let new_hash = crate::auth::hash_password_blocking(body.new_password)
        .await
        .map_err(|e| match e {
            crate::auth::PasswordError::TooShort => {
                AppError::Unprocessable(format!("new_password: {e}"))
            }
            crate::auth::PasswordError::Hashing(cause) => AppError::Internal(cause),
        })?;
    state
        .store
        .set_password_hash(user.id, &new_hash, crate::domain::now_ms())
        .await?;
    restamp(&session).await?;
    tracing::info!(user = %user.name, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Who is logged in.
#[utoipa::path(
    get,
    path = "/v1/session",
    responses(
        (status = 200, description = "The logged-in user", body = SessionInfo),
        (status = 401, description = "Not logged in")
    )
)]
pub async fn whoami(user: CurrentUser) -> Json<SessionInfo> {
    Json(session_info(user.id, user.name, &user.memberships))
}

/// Refuses a state-changing request that another site's page sent: its `Origin` (or
/// `Sec-Fetch-Site: cross-site`) does not match this server. Clients that send neither
/// (scripts, the CLI) pass.
pub async fn same_origin_writes(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    if is_cross_origin(request.headers()) {
        return AppError::Forbidden("cross-origin requests may not change anything".into())
            .into_response();
    }
    next.run(request).await
}

fn is_cross_origin(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .map(|u| match u.port() {
            Some(port) => format!("{}:{port}", u.host_str().unwrap_or_default()),
            None => u.host_str().unwrap_or_default().to_owned(),
        });
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let via = |peer: &str, xff: &str| {
            forwarded_client(&trusted, ip(peer), &headers(&[("x-forwarded-for", xff)]))
        };
        // From an untrusted peer the header is the client's own claim: ignored.
        assert_eq!(via("203.0.113.9", "198.51.100.1"), ip("203.0.113.9"));
        // Behind the proxy, the address the proxy saw.
        assert_eq!(via("10.0.0.2", "198.51.100.1"), ip("198.51.100.1"));
        // A forged leftmost entry does not help: the rightmost untrusted one counts.
        assert_eq!(via("10.0.0.2", "1.2.3.4, 198.51.100.1"), ip("198.51.100.1"));
        // Through two trusted proxies.
        assert_eq!(
            via("10.0.0.2", "198.51.100.1, 10.0.0.7"),
            ip("198.51.100.1")
        );
        // Garbage or nothing: the proxy itself.
        assert_eq!(via("10.0.0.2", "not an address"), ip("10.0.0.2"));
        assert_eq!(
            forwarded_client(&trusted, ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        // No trusted proxies (the default): always the peer.
        assert_eq!(
            forwarded_client(
                &[],
                ip("10.0.0.2"),
                &headers(&[("x-forwarded-for", "1.2.3.4")])
            ),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn only_foreign_origins_are_cross_origin() {
        assert!(!is_cross_origin(&headers(&[("host", "127.0.0.1:3000")])));
        assert!(!is_cross_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(is_cross_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example")
        ])));
        assert!(is_cross_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "null")
        ])));
        assert!(is_cross_origin(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
    }
}
