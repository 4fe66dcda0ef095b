//! The service layer: one function per user action, called by every adapter that offers
//! it (the JSON API's handlers, the pages' server functions, the CLI), so each rule is
//! written once. A service function takes the store, the [`Caller`], the project (or its
//! slug) and the input; it checks the caller's role ([`project_for`] with one of the
//! lists in [`roles`]), checks the input, writes, and returns [`ServiceError`], which each
//! adapter maps to its own surface (a status, a refusal on the page, a message naming the
//! flag). The adapters only find out who is asking (the session, or the command line)
//! and turn inputs and answers into their own shapes.
//!
//! Areas: [`annotate`] (claim, judge, skip, progress, the guideline an annotator reads),
//! [`guideline`] (the editor's draft, saving and publishing it, the example picker's
//! search), [`review`] (final labels, sending and deciding re-reviews), [`members`] (who
//! may work in a project), [`settings`] (a project's settings). The rules themselves
//! (what a judgment must hold, how a re-review is found) stay in `queue`, `rereview` and
//! `ranking`, which know no caller; a service adds who may, and what else must follow (the
//! quality figures dropped after a label changes).

pub mod annotate;
pub mod guideline;
pub mod members;
pub mod review;
pub mod settings;

use relabel_core::types::{RuleExampleView, RuleView};

use crate::auth::{CurrentUser, Role};
use crate::domain::{Project, RuleRecord};
use crate::queue::QueueError;
use crate::rereview::RereviewError;
use crate::storage::{Store, StoreError};

/// Who may do what in a project: the one list per kind of action that every adapter
/// checks against. A site admin holds admin in every project.
pub mod roles {
    use crate::auth::Role;

    /// Take pairs, judge them, skip them, see their own progress.
    pub const ANNOTATORS: &[Role] = &[Role::Annotator];
    /// Read the published guideline and its history.
    pub const MEMBERS: &[Role] = &[
        Role::Admin,
        Role::GuidelineEditor,
        Role::Reviewer,
        Role::Annotator,
    ];
    /// See quality figures, review pairs, decide final labels and re-reviews.
    pub const REVIEWERS: &[Role] = &[Role::Admin, Role::Reviewer];
    /// Edit, publish and search for the guideline; send re-reviews.
    pub const EDITORS: &[Role] = &[Role::Admin, Role::GuidelineEditor];
    /// See which judgments a guideline change touches.
    pub const AUDITORS: &[Role] = &[Role::Admin, Role::GuidelineEditor, Role::Reviewer];
    /// Members, settings, imports and exports.
    pub const ADMINS: &[Role] = &[Role::Admin];
}

/// Who asks for an action.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A logged-in user, through the JSON API or a page.
    User(&'a CurrentUser),
    /// The command line: whoever can run `relabel` against the database may do anything,
    /// and is recorded in the audit log as nobody in particular.
    Cli,
}

impl Caller<'_> {
    /// The user's id, for the audit log; `None` for the command line.
    pub fn id(&self) -> Option<i64> {
        match self {
            Self::User(user) => Some(user.id),
            Self::Cli => None,
        }
    }

    /// Whether the caller holds one of `roles` in `project`.
    pub fn holds(&self, project: &Project, roles: &[Role]) -> bool {
        match self {
            Self::User(user) => user.holds(project, roles),
            Self::Cli => true,
        }
    }
}

/// The project named by `slug`, if `caller` holds one of `roles` in it. For a user, a
/// project that does not exist is refused exactly as one they may not use, so its
/// existence does not leak; the command line is told it is missing.
///
/// # Errors
///
/// [`ServiceError::Forbidden`], [`ServiceError::Missing`], or the store's.
pub async fn project_for(
    store: &dyn Store,
    caller: Caller<'_>,
    slug: &str,
    roles: &[Role],
) -> Result<Project, ServiceError> {
    match (store.project(slug).await?, caller) {
        (Some(project), _) if caller.holds(&project, roles) => Ok(project),
        (None, Caller::Cli) => Err(ServiceError::Missing(format!("no project {slug:?}"))),
        _ => Err(ServiceError::Forbidden(format!(
            "you have no access to project {slug:?} for this"
        ))),
    }
}

/// Why an action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller does not hold a role the action needs in the project.
    #[error("{0}")]
    Forbidden(String),
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
    /// The change conflicts with what is stored; the message says how.
    #[error("{0}")]
    Conflict(String),
    /// What the action works on is not there; the message says what is missing.
    #[error("{0}")]
    Missing(String),
    /// The work queue refused a claim, a judgment or a skip; its variants say why (a
    /// judged pair, an expired lease, a paused annotator, a field out of bounds).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RereviewError> for ServiceError {
    fn from(err: RereviewError) -> Self {
        match err {
            RereviewError::NoVersion(_) | RereviewError::NothingOpen => {
                Self::Missing(err.to_string())
            }
            RereviewError::FirstVersion | RereviewError::BadLabel(..) => {
                Self::Problems(vec![err.to_string()])
            }
            RereviewError::Store(e) => Self::Store(e),
        }
    }
}

/// The user behind `caller`, for an action that is a person's own (claiming a pair,
/// judging it, their progress); the command line has none.
///
/// # Errors
///
/// [`ServiceError::Forbidden`] for the command line.
pub fn person(caller: Caller<'_>, action: &str) -> Result<i64, ServiceError> {
    caller.id().ok_or_else(|| {
        ServiceError::Forbidden(format!(
            "{action} is a person's own; the command line has none"
        ))
    })
}

impl From<members::MemberError> for ServiceError {
    fn from(err: members::MemberError) -> Self {
        use members::MemberError as M;
        match err {
            M::Invalid(message) => Self::Problems(vec![message]),
            M::Conflict(message) => Self::Conflict(message),
            M::NotFound(message) => Self::Missing(message),
            M::Store(e) => Self::Store(e),
        }
    }
}

/// A role named by an input; an unknown name is refused, naming the field.
///
/// # Errors
///
/// [`ServiceError::Invalid`] for a name that is not a role.
pub fn parse_role(name: &str) -> Result<Role, ServiceError> {
    Role::from_stored(name).ok_or_else(|| ServiceError::Invalid {
        field: "role",
        message: format!("{name:?} is not one of admin, guideline_editor, reviewer, annotator"),
    })
}

/// A stored rule as pages and the API show it.
pub fn rule_view(r: RuleRecord) -> RuleView {
    RuleView {
        id: r.key,
        title: r.title,
        body: r.body,
        capabilities: r.capabilities,
        dimension: r.dimension,
        examples: r
            .examples
            .into_iter()
            .map(|e| RuleExampleView {
                query: e.query,
                item_title: e.item_title,
                label: e.label,
                why: e.why,
            })
            .collect(),
    }
}

/// An epoch-millisecond time as pages show it: `YYYY-MM-DD HH:MM UTC`.
pub fn utc_minute(epoch_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000).map_or_else(
        |_| epoch_ms.to_string(),
        |t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        },
    )
}
