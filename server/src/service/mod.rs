//! The service layer: one function per user action, called by every adapter that offers
//! it (the JSON API's handlers, the pages' server functions, the CLI), so each rule is
//! written once. A service function takes the store, the project and the input, checks
//! the input, writes, and returns [`ServiceError`], which each adapter maps to its own
//! surface (a status, a refusal on the page, a message naming the flag). Finding the
//! caller and checking their role stays in the adapters for now, where the session or
//! the command line says who is asking.
//!
//! Areas so far: [`guideline`] (saving a draft, publishing it).

pub mod guideline;

use crate::storage::StoreError;

/// Why an action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// One input field breaks a rule. `field` is the input's name (`note`); adapters
    /// that call it something else (the CLI's `--note`) say it their way.
    #[error("{field}: {message}")]
    Invalid {
        /// The input that is wrong.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Several problems at once, each `WHERE: field: what`.
    #[error("{}", .0.join("; "))]
    Problems(Vec<String>),
    /// What the action works on is not there; the message says what is missing.
    #[error("{0}")]
    Missing(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
