//! HoneyBee Core's actors. Each connected node is a `NodeSession` actor, each pot a `PotActor`,
//! and one `Registry` actor owns the fleet model, routes messages, and supervises:
//!
//! ```text
//!                      System arbiter                     Session arbiters (one per core)
//!                ┌──────────────────────────┐          ┌──────────────────────────────┐
//!   accept loop ─┼─► spawn on next arbiter ─┼────────► │ NodeSession  NodeSession ... │
//!                │                          │          └──────────┬───────────────────┘
//!                │  Registry ◄──────────────┼── Register, NodeReport, SessionEnded
//!                │   │  owns NodeRecords    │                     │
//!                │   │  decides (Admission) ├── Deliver, CloseSession ──► sessions
//!                │   ├─► PotActor (node, pot) ─ PotChanged / PotExited ─► Registry
//!                │   └─► PotActor ...       │
//!                └──────────────────────────┘
//! ```
//!
//! Supervision. A child reports how it ended through an [`supervise::ExitNotice`]: from
//! `stopped()` with the real reason, or — if it dies by a panic, which actix's `Supervisor`
//! cannot recover from — by the notice being dropped. The registry then decides with a pure
//! [`supervise::RestartBudget`]: a crashed pot actor is started again from the registry's mirror
//! of its last known state (with backoff, at most N times per window); a crashed session has
//! lost its socket, so its node is marked `Unknown`/disconnected and the node's reconnect is
//! accepted as usual. Nothing else is touched: other actors, arbiters and connections go on.
//!
//! The registry holds `Addr`s of its children, never shared state behind a lock; sessions and
//! pot actors reach the fleet model only by message.

pub mod admission;
pub mod alerts;
pub mod auth;
mod clock;
pub mod commands;
pub mod counters;
pub mod feed;
mod limits;
pub mod log_limit;
pub mod pipeline;
pub mod policy;
mod pot;
pub mod registry;
pub mod session;
pub mod settings;
mod supervise;
mod text;
mod timer;

pub use admission::{Admission, Applicant, Verdict};
pub use limits::{ConnectionLimits, ConnectionPermit};
pub use pot::lifecycle::Transition;
pub use registry::{Registry, RegistrySettings};
pub use session::{EndReason, NodeSession};
pub use settings::{CommandSettings, SessionSettings, SupervisionSettings};
