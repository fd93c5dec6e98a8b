//! The operator surface: the HTTP API server and its JSON shapes. Only this module knows HTTP
//! and those shapes (the export sink writes events exactly as the API returns them).

pub mod access;
pub mod auth;
pub(crate) mod commands;
pub mod error;
pub mod event;
pub(crate) mod events;
pub(crate) mod fleet;
pub(crate) mod handshake;
pub(crate) mod health;
mod intel;
mod metrics;
mod outputs;
pub mod server;
pub(crate) mod stream;
mod taxii;
pub(crate) mod views;
