//! Table tests for `validate.rs`.
use super::*;
