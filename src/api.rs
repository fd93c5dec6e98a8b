//! The operator surface: the HTTP API server and its JSON shapes. Only this module knows HTTP
//! and those shapes (the export sink writes events exactly as the API returns them).

pub mod access;
pub mod auth;
mod commands;
pub mod error;
pub mod event;
mod events;
mod fleet;
mod handshake;
mod health;
mod intel;
mod metrics;
mod outputs;
pub mod server;
mod stream;
mod taxii;
pub(crate) mod views;
