//! The error type every server function returns: typed, serialisable, no internals.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a server function failed, as the browser sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppFnError {
    /// Nobody is logged in.
    #[error("log in first")]
    Unauthorized,
    /// The login was refused.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many login attempts.
    #[error("too many attempts; try again in {0} s")]
    TooManyAttempts(u64),
    /// Not allowed for this user.
    #[error("{0}")]
    Forbidden(String),
    /// Refused as asked; the message says why.
    #[error("{0}")]
    Refused(String),
    /// The storage layer failed; the cause is in the server log.
    #[error("the server could not read its database; try again")]
    Storage,
    /// The backend was not provided to the app (a wiring bug in the server).
    #[error("the server is misconfigured")]
    Misconfigured,
    /// Transport or encoding failed between browser and server.
    #[error("{0}")]
    Transport(ServerFnErrorErr),
}

impl FromServerFnError for AppFnError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value)
    }
}

#[cfg(feature = "ssr")]
impl From<crate::backend::BackendError> for AppFnError {
    fn from(err: crate::backend::BackendError) -> Self {
        use crate::backend::BackendError as B;
        match err {
            B::Unauthorized => Self::Unauthorized,
            B::BadCredentials => Self::BadCredentials,
            B::TooManyAttempts(s) => Self::TooManyAttempts(s),
            B::Forbidden(m) => Self::Forbidden(m),
            B::Refused(m) => Self::Refused(m),
            B::Failed(cause) => {
                leptos::logging::error!("server function failed: {cause}");
                Self::Storage
            }
        }
    }
}

/// The backend and the request's parts, for a server function running on the server.
#[cfg(feature = "ssr")]
pub fn server_context() -> Result<(crate::backend::SharedBackend, http::request::Parts), AppFnError>
{
    use leptos::prelude::use_context;
    let backend =
        use_context::<crate::backend::SharedBackend>().ok_or(AppFnError::Misconfigured)?;
    let parts = use_context::<http::request::Parts>().ok_or(AppFnError::Misconfigured)?;
    Ok((backend, parts))
}

/// Sets the HTTP status of a page refused to its visitor (401, 403, 404), for routes that
/// render after their data (`SsrMode::Async`), where the status can still change.
pub fn set_refusal_status(err: &AppFnError) {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(match err {
            AppFnError::Unauthorized => http::StatusCode::UNAUTHORIZED,
            AppFnError::Forbidden(_) => http::StatusCode::FORBIDDEN,
            // A page's read refused on its content: the object asked for is not there.
            AppFnError::Refused(_) => http::StatusCode::NOT_FOUND,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        });
    }
    #[cfg(not(feature = "ssr"))]
    let _ = err;
}
