//! Inter-annotator agreement statistics for judging how consistently people label.
//!
//! - [`krippendorff_alpha`]: any number of raters, missing values, nominal, ordinal or
//!   interval data.
//! - [`cohen_kappa`] and [`cohen_kappa_from_table`]: two raters, unweighted or with
//!   linear or quadratic weights for ordered categories.
//! - [`fleiss_kappa`]: many raters, each subject rated by the same number of them.
//! - [`kendall_tau_b`]: rank correlation of two rankings with ties.
//! - [`kendall_w`]: concordance of several raters ranking the same objects, with the
//!   tie correction.
//!
//! # Errors and undefined values
//!
//! Every statistic keeps the same split between the two ways it can fail:
//!
//! - `Err(AgreementError)` means the input is malformed, which is a bug in the caller:
//!   rows of different lengths, a category index out of range, a NaN, a subject rated by
//!   a different number of raters than the others.
//! - `None` (inside `Ok` where the input needs checking) means the input is well formed
//!   but the statistic is undefined for it, because a denominator is zero: too little
//!   data (no items, no unit with two ratings) or no variation at all (every rating is
//!   the same value, so chance agreement is already perfect).
//!
//! Functions that take raw slices therefore return `Result<Option<f64>, AgreementError>`.
//! [`krippendorff_alpha`] returns a plain `Option<f64>` because its input,
//! [`ReliabilityData`], was validated when it was built.

mod cohen;
mod error;
mod fleiss;
mod kendall;
mod krippendorff;

pub use cohen::{Weights, cohen_kappa, cohen_kappa_from_table};
pub use error::AgreementError;
pub use fleiss::fleiss_kappa;
pub use kendall::{kendall_tau_b, kendall_w};
pub use krippendorff::{Metric, ReliabilityData, krippendorff_alpha, unit_alphas};
