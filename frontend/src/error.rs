//! The error type every server function returns: typed, serialisable, no internals.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a server function failed, as the browser sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppFnError {
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
