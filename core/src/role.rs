//! Who may do what: the roles a user holds per project (or across all of them, for a
//! site admin).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user may do, held per project (or across all projects for a site admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users, roles, projects, imports and exports.
    Admin,
    /// Writes and publishes the guideline.
    GuidelineEditor,
    /// Adjudicates disagreements and audits gold failures.
    Reviewer,
    /// Judges pairs and ranks CoT candidates.
    Annotator,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::GuidelineEditor => "guideline_editor",
            Self::Reviewer => "reviewer",
            Self::Annotator => "annotator",
        }
    }

    /// The role stored under `name`.
    pub fn from_stored(name: &str) -> Option<Self> {
        match name {
            "admin" => Some(Self::Admin),
            "guideline_editor" => Some(Self::GuidelineEditor),
            "reviewer" => Some(Self::Reviewer),
            "annotator" => Some(Self::Annotator),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_stored(s).ok_or_else(|| {
            format!("{s:?} is not one of admin, guideline_editor, reviewer, annotator")
        })
    }
}

/// The roles a project admin can grant, in the order the members page lists them, each
/// with the name it shows.
pub const PROJECT_ROLES: [(Role, &str); 4] = [
    (Role::Annotator, "Annotator"),
    (Role::Reviewer, "Reviewer"),
    (Role::GuidelineEditor, "Guideline editor"),
    (Role::Admin, "Admin"),
];
