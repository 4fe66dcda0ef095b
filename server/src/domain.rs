//! The domain's records live in `relabel-core` (`relabel_core::domain`), so the file
//! parsers in `relabel-formats` and the browser read the same types; the server adds the
//! clock every store call is given.

pub use relabel_core::domain::*;

/// Milliseconds since the Unix epoch, the time unit stored in every table.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
