//! The HTTP error policy.
//!
//! Which error type when: storage code returns [`StoreError`]; handlers return
//! [`AppError`], whose `IntoResponse` logs the cause and answers with one stable JSON
//! shape, `{"error": {"code": "...", "message": "..."}}`, never with internals. A missing
//! row is `not_found`; a broken uniqueness rule is `conflict`; anything unexpected is
//! `internal` with a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::storage::StoreError;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such route or object.
    #[error("not found")]
    NotFound,
    /// The request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed, but it does not fit the object (a ranking missing a candidate); the
    /// message names the field.
    #[error("{0}")]
    Unprocessable(String),
    /// The request conflicts with stored state.
    #[error("{0}")]
    Conflict(String),
    /// Not logged in (or the session ended).
    #[error("log in first")]
    Unauthorized,
    /// Logged in, but this role or project does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts; try again in {0} s")]
    TooManyRequests(u64),
    /// Something failed inside the server; the cause is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound | StoreError::Database(sqlx::Error::RowNotFound) => Self::NotFound,
            StoreError::Conflict(message) => Self::Conflict(message),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::service::ServiceError> for AppError {
    fn from(err: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError as S;
        match err {
            S::Forbidden(message) => Self::Forbidden(message),
            S::Conflict(message) => Self::Conflict(message),
            S::Invalid { .. } => Self::Unprocessable(err.to_string()),
            S::Problems(problems) => Self::Unprocessable(problems.join("\n")),
            S::Missing(_) => Self::NotFound,
            S::Queue(e) => e.into(),
            S::Store(e) => e.into(),
        }
    }
}

impl From<crate::queue::QueueError> for AppError {
    fn from(err: crate::queue::QueueError) -> Self {
        use crate::queue::QueueError as Q;
        match err {
            Q::NotFound => Self::NotFound,
            Q::Invalid(message) | Q::Unprocessable(message) => Self::Unprocessable(message),
            Q::Store(e) => e.into(),
            Q::Paused => Self::Forbidden(Q::Paused.to_string()),
            conflict => Self::Conflict(conflict.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyRequests(seconds) = self
            && let Ok(value) = seconds.to_string().parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<crate::service::members::MemberError> for AppError {
    fn from(err: crate::service::members::MemberError) -> Self {
        use crate::service::members::MemberError as M;
        match err {
            M::Invalid(message) => Self::BadRequest(message),
            M::Conflict(message) => Self::Conflict(message),
            M::NotFound(_) => Self::NotFound,
            M::Store(e) => e.into(),
        }
    }
}
