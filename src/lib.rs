//! HoneyBee Core: configuration, listeners, and the server that runs the actors.

pub mod net;
