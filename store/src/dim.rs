//! The dimensions of the statistics tables (`stats_hourly.dim`, `stats_node_hourly.dim`).
//! Stored numbers: never renumber.

/// Every event, value `""` (fleet table only).
pub(crate) const TOTAL: i64 = 0;
/// Events per node, value the decimal node id (fleet table only).
pub(crate) const NODE: i64 = 1;
pub(crate) const EVENT_TYPE: i64 = 2;
pub(crate) const POT_TYPE: i64 = 3;
pub(crate) const SRC_IP: i64 = 4;
pub(crate) const USERNAME: i64 = 5;
pub(crate) const PASSWORD: i64 = 6;
pub(crate) const COMMAND: i64 = 7;
pub(crate) const DOWNLOAD_URL: i64 = 8;
pub(crate) const SHA256: i64 = 9;

/// Every dimension of the fleet table.
pub(crate) const ALL: [i64; 10] = [
    TOTAL,
    NODE,
    EVENT_TYPE,
    POT_TYPE,
    SRC_IP,
    USERNAME,
    PASSWORD,
    COMMAND,
    DOWNLOAD_URL,
    SHA256,
];

/// The dimensions kept per node in `stats_node_hourly`.
pub(crate) const PER_NODE: [i64; 2] = [EVENT_TYPE, POT_TYPE];
