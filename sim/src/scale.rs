//! What a large fleet needs from this machine: file descriptors (the soft limit is raised to the
//! hard limit, and a fleet that cannot fit is refused with numbers), and source addresses
//! spread over 127.0.0.0/8 so that connections do not share one address's ephemeral ports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::config::SourceMode;

/// File descriptors the process needs besides one per node: stdio, the runtime's epoll and
/// wake-up descriptors, the report file, and slack for connections being replaced.
pub const FD_OVERHEAD: u64 = 64;

/// Why the fleet cannot run here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error(
        "{nodes} nodes need about {need} file descriptors; this process may open {limit}. Lower --nodes, or raise the hard limit (ulimit -Hn) before starting the simulator."
    )]
    TooFewFiles { nodes: usize, need: u64, limit: u64 },
    #[error(
        "{nodes} connections from one source address need {nodes} ephemeral ports; this machine has {ports} (net.ipv4.ip_local_port_range). Use --source-ips spread with a Core on a loopback address."
    )]
    TooFewPorts { nodes: usize, ports: u64 },
    #[error(
        "--source-ips spread binds connections to 127.0.0.0/8 addresses, so the Core must be on a loopback IPv4 address (it is {0})"
    )]
    NotLoopback(SocketAddr),
}

/// Raises the soft open-file limit to the hard limit; the limit now in force.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            log::warn!("Cannot raise the open-file limit: {e}.");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Refuses a fleet of `nodes` when `limit` file descriptors cannot hold it.
pub fn check_fds(nodes: usize, limit: u64) -> Result<(), ScaleError> {
    let need = nodes as u64 + FD_OVERHEAD;
    if need > limit {
        return Err(ScaleError::TooFewFiles { nodes, need, limit });
    }
    Ok(())
}

/// Whether nodes get their own source addresses, given the mode and the Core's address.
pub fn spread_sources(mode: SourceMode, core: SocketAddr) -> Result<bool, ScaleError> {
    let loopback = matches!(core.ip(), IpAddr::V4(ip) if ip.is_loopback());
    match mode {
        SourceMode::Off => Ok(false),
        SourceMode::Auto => Ok(loopback && cfg!(target_os = "linux")),
        SourceMode::Spread if loopback => Ok(true),
        SourceMode::Spread => Err(ScaleError::NotLoopback(core)),
    }
}

/// The source address of node `index`: 127.1.0.1, 127.1.0.2, ... 127.1.0.254, 127.1.1.1, ...
/// (never .0 or .255 in the last octet; 127.0.0.0/16 is left alone).
pub fn source_address(index: usize) -> IpAddr {
    let i = index as u64;
    let host = (i % 254 + 1) as u8;
    let mid = (i / 254 % 256) as u8;
    let high = (i / (254 * 256) % 254 + 1) as u8;
    IpAddr::V4(Ipv4Addr::new(127, high, mid, host))
}

/// The ephemeral ports of this machine (Linux), if known.
pub fn ephemeral_ports() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>().ok());
    let (low, high) = (parts.next()??, parts.next()??);
    Some(high.saturating_sub(low) + 1)
}

/// Refuses `nodes` connections from one source address past the ephemeral port range.
pub fn check_ports(nodes: usize, spread: bool) -> Result<(), ScaleError> {
    if spread {
        return Ok(());
    }
    match ephemeral_ports() {
        Some(ports) if nodes as u64 > ports => Err(ScaleError::TooFewPorts { nodes, ports }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleets_past_the_fd_limit_are_refused_with_numbers() {
        assert_eq!(check_fds(1000, 20_000), Ok(()));
        let err = check_fds(19_990, 20_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "19990 nodes need about 20054 file descriptors; this process may open 20000. \
             Lower --nodes, or raise the hard limit (ulimit -Hn) before starting the simulator."
        );
    }

    #[test]
    fn source_addresses_are_distinct_and_on_loopback() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200_000 {
            let ip = source_address(i);
            let IpAddr::V4(v4) = ip else { panic!() };
            assert!(v4.is_loopback());
            let o = v4.octets();
            assert!(o[1] >= 1 && o[3] != 0 && o[3] != 255, "{v4}");
            assert!(seen.insert(ip), "{ip} twice");
        }
        assert_eq!(source_address(0), IpAddr::V4(Ipv4Addr::new(127, 1, 0, 1)));
        assert_eq!(source_address(254), IpAddr::V4(Ipv4Addr::new(127, 1, 1, 1)));
    }

    #[test]
    fn spreading_needs_a_loopback_core() {
        let local: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        let remote: SocketAddr = "192.0.2.10:9001".parse().unwrap();
        assert_eq!(spread_sources(SourceMode::Off, local), Ok(false));
        assert_eq!(spread_sources(SourceMode::Auto, remote), Ok(false));
        assert_eq!(spread_sources(SourceMode::Spread, local), Ok(true));
        assert_eq!(
            spread_sources(SourceMode::Spread, remote),
            Err(ScaleError::NotLoopback(remote))
        );
        assert_eq!(check_ports(1_000_000, true), Ok(()));
    }
}
