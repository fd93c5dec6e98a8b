//! The event pipeline: what happens to an attack event between its session and the store.
//! Sessions normalise each event ([`normalize`]) and hand it to the store through the bounded
//! [`ingest::Ingest`] path, pausing their reads when it says so.

pub mod ingest;
pub mod normalize;

pub use ingest::{Ingest, IngestSettings, Pressure, RateGate};
pub use normalize::{Normalized, normalize};
