//! Table tests for `framing.rs`.
use super::*;
