//! Table tests for `git_url.rs`.
use super::*;
