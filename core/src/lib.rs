//! relabel's domain words, shared by the server and the browser: the enums a project is
//! made of ([`project`]), projects and the records files turn into ([`domain`]), roles
//! ([`role`]), the values that cross the wire ([`types`]), how a CoT candidate reads as
//! an answer ([`cot_text`]), and the small helpers both sides use ([`format`], [`mix`]).
//! serde and thiserror only, so it builds for wasm; nothing here touches a database, the
//! network or the page.

pub mod cot_text;
pub mod domain;
pub mod format;
pub mod mix;
pub mod project;
pub mod role;
pub mod types;

pub use project::{FrequencyBand, ScalePreset, StrategyKind, TaskKind};
pub use role::Role;
