//! Server functions of a project's review page (project reviewers and admins).

pub mod decide;
pub mod list;
pub mod pair;
pub mod rereview;
