//! What the app needs from the server, as a trait the server implements and provides
//! through Leptos context, so this crate never depends on the server crate. Each call
//! gets the request's parts: the server finds the caller's session there.

use std::sync::Arc;

use http::request::Parts;

use crate::types::{
    AddedMember, ClaimedPair, DashboardView, DraftEditView, GuidelineView, JudgmentForm,
    MemberView, PairHit, Progress, ProjectSummary, ReviewPairView, ReviewQueueView, RuleView,
    SettingsView, VersionListEntry, VersionPageView,
};

pub use crate::types::SettingsChange;

/// The server side of the app's data needs.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// The projects the caller may see, with their counts, ordered by slug.
    async fn list_projects(&self, request: &Parts) -> Result<Vec<ProjectSummary>, BackendError>;
    /// Logs the caller in; the user's name on success.
    async fn login(
        &self,
        request: &Parts,
        username: String,
        password: String,
    ) -> Result<String, BackendError>;
    /// Logs the caller out.
    async fn logout(&self, request: &Parts) -> Result<(), BackendError>;
    /// Leases the caller's next pair in the project (`None`: nothing left for them).
    async fn claim_next(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Option<ClaimedPair>, BackendError>;
    /// Stores a judgment; its id and revision number.
    async fn submit(
        &self,
        request: &Parts,
        slug: String,
        form: JudgmentForm,
    ) -> Result<(i64, i64), BackendError>;
    /// Skips a pair for the caller.
    async fn skip(&self, request: &Parts, slug: String, pair_id: i64) -> Result<(), BackendError>;
    /// The project's latest published guideline.
    async fn guideline(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Option<GuidelineView>, BackendError>;
    /// The caller's progress in the project.
    async fn progress(&self, request: &Parts, slug: String) -> Result<Progress, BackendError>;
    /// The project's members (project admins only).
    async fn list_members(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Vec<MemberView>, BackendError>;
    /// Gives a user a role in the project, creating the account when the name is new
    /// (project admins only); an empty password generates one.
    async fn add_member(
        &self,
        request: &Parts,
        slug: String,
        username: String,
        role: String,
        password: String,
    ) -> Result<AddedMember, BackendError>;
    /// The project's settings (project admins only).
    async fn settings(&self, request: &Parts, slug: String) -> Result<SettingsView, BackendError>;
    /// Changes the project's settings (project admins only); the settings now.
    async fn update_settings(
        &self,
        request: &Parts,
        slug: String,
        change: SettingsChange,
    ) -> Result<SettingsView, BackendError>;
    /// The project's quality dashboard (project reviewers and admins).
    async fn dashboard(&self, request: &Parts, slug: String)
    -> Result<DashboardView, BackendError>;
    /// The project's review queue (project reviewers and admins).
    async fn review_queue(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<ReviewQueueView, BackendError>;
    /// One pair for review (project reviewers and admins).
    async fn review_pair(
        &self,
        request: &Parts,
        slug: String,
        pair_id: i64,
    ) -> Result<ReviewPairView, BackendError>;
    /// Records a pair's final label (project reviewers and admins).
    async fn decide(
        &self,
        request: &Parts,
        slug: String,
        pair_id: i64,
        label: String,
        note: String,
    ) -> Result<(), BackendError>;
    /// The published guideline versions, oldest first (project members).
    async fn guideline_versions(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<Vec<VersionListEntry>, BackendError>;
    /// One version with its diff from the version before (project members; the impact
    /// for editors, reviewers and admins).
    async fn guideline_version_page(
        &self,
        request: &Parts,
        slug: String,
        number: i64,
    ) -> Result<VersionPageView, BackendError>;
    /// Sends the judgments a version's changes touch to re-review (editors, admins); how
    /// many were new.
    async fn send_rereview(
        &self,
        request: &Parts,
        slug: String,
        number: i64,
    ) -> Result<u64, BackendError>;
    /// A reviewer's re-review decision on a pair (reviewers, admins).
    async fn decide_rereview(
        &self,
        request: &Parts,
        slug: String,
        pair_id: i64,
        label: String,
        note: String,
    ) -> Result<(), BackendError>;
    /// The guideline draft to edit, or the latest version when there is no draft
    /// (guideline editors and admins).
    async fn guideline_draft(
        &self,
        request: &Parts,
        slug: String,
    ) -> Result<DraftEditView, BackendError>;
    /// Replaces the draft (guideline editors and admins); every problem is named.
    async fn save_guideline_draft(
        &self,
        request: &Parts,
        slug: String,
        rules: Vec<RuleView>,
    ) -> Result<(), BackendError>;
    /// Publishes the draft with a change note (guideline editors and admins); the number.
    async fn publish_guideline_draft(
        &self,
        request: &Parts,
        slug: String,
        note: String,
    ) -> Result<i64, BackendError>;
    /// Pairs of the project whose query or item title contains `text`, for picking a
    /// worked example (guideline editors and admins).
    async fn search_pairs(
        &self,
        request: &Parts,
        slug: String,
        text: String,
    ) -> Result<Vec<PairHit>, BackendError>;
    /// Takes a role in the project from a user (project admins only).
    async fn revoke_role(
        &self,
        request: &Parts,
        slug: String,
        user_id: i64,
        role: String,
    ) -> Result<(), BackendError>;
}

/// Why the server refused or failed; it logs causes before returning them.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Nobody is logged in.
    #[error("not logged in")]
    Unauthorized,
    /// Wrong user name or password.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Logged in, but not allowed this.
    #[error("{0}")]
    Forbidden(String),
    /// Refused as asked (judged already, lease expired, bad label); the message says why.
    #[error("{0}")]
    Refused(String),
    /// Too many login attempts; seconds to wait.
    #[error("too many attempts")]
    TooManyAttempts(u64),
    /// Anything else.
    #[error("backend failure: {0}")]
    Failed(String),
}

/// The context value the server provides to every render and server function.
pub type SharedBackend = Arc<dyn Backend>;
