//! The operator surface: the HTTP API server and its JSON shapes. Only this module knows HTTP
//! and those shapes (the export sink writes events exactly as the API returns them).

pub mod auth;
pub mod event;
mod health;
mod metrics;
pub mod server;
