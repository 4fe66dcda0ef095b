//! Server functions of a project's quality dashboard (project reviewers and admins).

pub mod dashboard;
