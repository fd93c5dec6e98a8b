//! The store through its public API, on real SQLite files in temporary directories.

#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod backup;
mod common;
mod events;
mod fleet;
mod identities;
mod outputs;
mod records;
mod retention;
mod schema;
mod stats;
mod writer;
