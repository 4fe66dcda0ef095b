//! Values that cross the wire between server and browser.

use serde::{Deserialize, Serialize};

/// One row of the project list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// A pair as an annotator sees it: nothing says whether it is a gold pair, and the
/// models behind the CoT candidates are not named (blind ranking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PairView {
    /// The pair's id, to quote when submitting.
    pub pair_id: i64,
    /// The query text.
    pub query: String,
    /// The query's traffic band: head, torso or tail.
    pub band: String,
    /// The product.
    pub item: ItemView,
    /// The model's chain-of-thought candidates, in their stored order.
    pub cot: Vec<CotView>,
}

/// A product as shown to annotators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ItemView {
    /// The catalog's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category path, broadest first.
    pub category: Vec<String>,
    /// Attribute name and value, sorted by name.
    pub attributes: Vec<(String, String)>,
    /// Price, if known.
    pub price: Option<f64>,
    /// Image URLs, loaded by the browser only.
    pub images: Vec<String>,
    /// Description, if any.
    pub description: Option<String>,
}

/// One CoT candidate, without its model's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CotView {
    /// Position among the pair's candidates (0-based).
    pub position: i64,
    /// The reasoning steps.
    pub steps: Vec<String>,
    /// The full text.
    pub text: String,
    /// The label the candidate reached.
    pub label: Option<String>,
}
