//! Reviewers' and editors' actions on labels: a reviewer's final label for a pair,
//! sending the judgments a guideline change touches to re-review, and a reviewer's
//! re-review decision. Each changes what the quality figures count, so each drops this
//! server's copy of the project's figures once it is stored.

use super::{Caller, ServiceError, person, project_for, roles};
use crate::figures::Figures;
use crate::rereview;
use crate::storage::Store;

/// Longest note a reviewer may attach, in characters.
pub const MAX_NOTE: usize = 4_000;

/// Records the pair's final label, the latest of which every export uses; answers the
/// decision's id. Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] for a label off the scale or a
/// note over [`MAX_NOTE`] characters; the store's `NotFound` for a pair of another
/// project; or the store's.
#[allow(clippy::too_many_arguments, reason = "one per input of the decision")]
pub async fn decide(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    pair_id: i64,
    label: &str,
    note: &str,
    now: i64,
) -> Result<i64, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    let reviewer = person(caller, "a review decision")?;
    if !project.has_label(label) {
        return Err(ServiceError::Invalid {
            field: "label",
            message: format!(
                "{label:?} is not on this project's scale ({})",
                project.scale_labels.join(", ")
            ),
        });
    }
    let length = note.chars().count();
    if length > MAX_NOTE {
        return Err(ServiceError::Invalid {
            field: "note",
            message: format!("{length} characters is more than {MAX_NOTE}"),
        });
    }
    let id = store
        .record_decision(&project, pair_id, reviewer, label, note.trim(), now)
        .await?;
    figures.forget(project.id).await;
    Ok(id)
}

/// Sends the current judgments that version `number`'s changed or removed rules touch to
/// the reviewers' queue; answers how many are new there. Editors and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] for a version not published;
/// [`ServiceError::Problems`] for version 1; or the store's.
pub async fn send_rereview(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    number: i64,
) -> Result<u64, ServiceError> {
    let project = project_for(store, caller, slug, roles::EDITORS).await?;
    let sent = rereview::send(store, &project, number, caller.id()).await?;
    figures.forget(project.id).await;
    Ok(sent)
}

/// A reviewer's re-review decision, stored as their judgment under the latest version
/// (and the pair's final label); answers the judgment's id. Reviewers and admins.
///
/// # Errors
///
/// [`ServiceError::Forbidden`]; [`ServiceError::Missing`] when the pair has no open
/// re-review; [`ServiceError::Problems`] for a label off the scale; or the store's.
pub async fn decide_rereview(
    store: &dyn Store,
    figures: &Figures,
    caller: Caller<'_>,
    slug: &str,
    pair_id: i64,
    label: &str,
    note: &str,
) -> Result<i64, ServiceError> {
    let project = project_for(store, caller, slug, roles::REVIEWERS).await?;
    let reviewer = person(caller, "a re-review decision")?;
    let id = rereview::decide(store, &project, pair_id, reviewer, label, note).await?;
    figures.forget(project.id).await;
    Ok(id)
}
