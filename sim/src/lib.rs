//! `honeybee-sim`: a HoneyBee node fleet simulator. It runs N simulated nodes from one process
//! against a Core: they register (with TOTP once the Core hands them a key), heartbeat, answer
//! every command as real nodes do, send realistic cowrie and honnypotter attack events at a
//! chosen total rate, and misbehave on demand.
//!
//! ```text
//! cli ──► config ──► fleet::prepare (scale: fd limit, source addresses; tls)
//!                        │
//!                        ▼
//!                    fleet::run ──► one driver::SimNode task per node
//!                        │              ├─ node::NodeModel   command → replies (pure)
//!                        │              ├─ events::PotEvents attack events (pure)
//!                        │              ├─ totp::Credentials codes and the replay guard
//!                        │              └─ misbehave         bad frames (pure)
//!                        ▼
//!                    stats ──► report (live line, final text, JSON)
//! ```
//!
//! The library entry points are [`fleet::prepare`] + [`fleet::run`] (async, on the caller's
//! runtime) and [`SimHandle::start`] (a fleet on its own thread, for tests and embedding).

pub mod cli;
pub mod config;
pub mod driver;
pub mod events;
pub mod fleet;
pub mod misbehave;
pub mod node;
pub mod report;
pub mod rng;
pub mod scale;
pub mod stats;
pub mod tls;
pub mod totp;

pub use config::{SimConfig, SourceMode};
pub use fleet::{Control, Prepared, SimError, SimHandle, prepare, run};
pub use misbehave::Misbehaviour;
pub use report::Report;
