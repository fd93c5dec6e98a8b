//! HoneyBee Core: configuration, listeners, and the server that runs the actors.

pub mod api;
pub mod cli;
pub mod config;
pub mod export;
pub mod fleet_file;
pub mod intel;
pub mod logging;
pub mod net;
pub mod outputs;
pub mod runtime;
pub mod server;
pub mod storage;
pub mod tokens;
pub mod ui;
