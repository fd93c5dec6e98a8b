//! The OASIS Python tools the intel tests run: `stix2-validator` and `taxii2-client`, pinned,
//! installed from PyPI into `target/intel-venv` the first time (like `.ci/schemathesis` does for
//! schemathesis). Without python3 (or PyPI) the tests print a NOTICE and pass, except under
//! `CI=true`, where they fail.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const PACKAGES: &[&str] = &["stix2-validator==3.3.2", "taxii2-client==2.3.0"];

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/intel-venv")
}

fn ready(python: &PathBuf) -> bool {
    Command::new(python)
        .args(["-c", "import stix2validator, taxii2client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The venv's python with both packages, or `None` (after the NOTICE) where they cannot be had.
pub fn python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let python = venv().join("bin/python");
            if ready(&python) {
                return Some(python);
            }
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(venv())
                .status()
                .is_ok_and(|s| s.success())
                && Command::new(venv().join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check"])
                    .args(PACKAGES)
                    .status()
                    .is_ok_and(|s| s.success());
            if made && ready(&python) {
                return Some(python);
            }
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "python3 with {PACKAGES:?} could not be set up under CI=true"
            );
            println!(
                "NOTICE: python3 with {PACKAGES:?} is not available; the STIX and TAXII checks \
                 did not run."
            );
            None
        })
        .clone()
}

/// Runs `script` with `args`; its stdout, or a panic with everything it said.
pub fn run(python: &PathBuf, script: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "python failed:\n{stdout}\n{stderr}");
    stdout
}
