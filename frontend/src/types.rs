//! Values that cross the wire between server and browser.

use serde::{Deserialize, Serialize};

/// One row of the project list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    /// URL-safe identifier.
    pub slug: String,
    /// Human-readable name.
    pub name: String,
    /// Label scale preset.
    pub scale: String,
    /// Judgments wanted per pair.
    pub overlap_k: i64,
    /// Pairs in the project.
    pub pairs: i64,
    /// Judgments collected so far.
    pub judgments: i64,
}
