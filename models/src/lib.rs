//! relabel's relevance scorer, the part of active learning that decides what humans
//! label next (docs/ARCHITECTURE.md, "The scorer"):
//!
//! - [`encoder`]: all-MiniLM-L6-v2 with candle, turning queries and items into unit vectors;
//! - [`features`]: the head's input, the two embeddings, their interactions and cheap
//!   exact-match signals;
//! - [`head`]: a small network trained on relabel's final labels that gives a probability
//!   per level of the project's scale, calibrated by temperature scaling;
//! - [`acquisition`]: uncertainty, committee disagreement, diversity and quotas, mixed
//!   into the queue's priority, with a sentence saying why a pair was chosen.
//!
//! The learning-curve simulation that uses them lives with its benchmark, in the server's
//! `bench::simulate`.

pub mod acquisition;
pub mod encoder;
pub mod features;
pub mod head;

use std::path::PathBuf;

pub use candle_core::Device;
pub use encoder::Encoder;
pub use head::{Head, HeadReport, TrainOptions};

/// Everything that can go wrong loading or running the scorer.
#[derive(Debug, thiserror::Error)]
pub enum ScorerError {
    /// The weights are not installed; the message says how to install them.
    #[error("{0}")]
    Off(String),
    #[error("{path}: {msg}", path = .0.display(), msg = .1)]
    Io(PathBuf, #[source] std::io::Error),
    #[error("{path}: {msg}", path = .0.display(), msg = .1)]
    Format(PathBuf, String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("training: {0}")]
    Training(String),
}
