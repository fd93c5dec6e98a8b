//! Logging through `log` + `env_logger`: `logging.level` from the config, overridden by
//! `RUST_LOG`.

/// Starts the logger. Safe to call more than once (later calls do nothing).
pub fn init(level: &str) {
    let mut builder = env_logger::Builder::new();
    builder.format_timestamp_millis();
    match std::env::var("RUST_LOG") {
        Ok(filters) if !filters.trim().is_empty() => builder.parse_filters(&filters),
        _ => builder.parse_filters(level),
    };
    let _ = builder.try_init();
}
