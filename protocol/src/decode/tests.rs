//! Table tests for `decode.rs`.
use super::*;
