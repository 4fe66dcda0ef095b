//! Server functions of the labeling workspace.

pub mod guideline;
pub mod next;
pub mod progress;
pub mod skip;
pub mod submit;
