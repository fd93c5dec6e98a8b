//! Free disk space under the store, for the `storage.min_free_disk_mb` watermark.

use std::io;
use std::path::Path;

/// Bytes available to this (unprivileged) process on the filesystem holding `dir`
/// (`statvfs`: `f_bavail × f_frsize`, through rustix's safe wrapper).
pub fn free_disk_bytes(dir: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_some_free_space_and_fails_on_a_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_disk_bytes(dir.path()).unwrap() > 0);
        let err = free_disk_bytes(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
