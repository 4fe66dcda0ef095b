//! Server functions of the guideline's version pages.

pub mod draft;
pub mod send_rereview;
pub mod version;
pub mod versions;
