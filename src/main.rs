//! The `honeybee-core` binary: `serve` (the default), `check`, `backup`, and the operator
//! commands of `cli` (tokens, enrollment, and the fleet through the running Core's API).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use honeybee_core::config::{self, Config};
use honeybee_core::{cli, logging, runtime};

/// The config file used when none is given.
const DEFAULT_CONFIG: &str = "conf/default.toml";

#[derive(Debug, Parser)]
#[command(
    name = "honeybee-core",
    version,
    about = "HoneyBee Core: the central service for honeypot fleets"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the Core (the default).
    Serve {
        /// Config file (default: conf/default.toml, or the built-in defaults when it is absent).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate a config file and exit.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Write a consistent copy of the store to FILE (safe while the Core runs). To restore,
    /// put the copy as `honeybee.db` in an empty `storage.dir`.
    Backup {
        /// Where to write the copy (must not exist).
        file: PathBuf,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    #[command(flatten)]
    Operator(Box<cli::Command>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Cmd::Serve { config: None }) {
        Cmd::Serve { config } => serve(config.as_deref()),
        Cmd::Check { config } => check(config.as_deref()),
        Cmd::Backup { file, config } => backup(&file, config.as_deref()),
        Cmd::Operator(command) => cli::run(*command, |path| load(path).map(|(config, _)| config)),
    }
}

/// Loads the config, or says what is wrong with it (every problem) on stderr.
fn load(path: Option<&Path>) -> Result<(Config, String), ExitCode> {
    // Variables that are not UTF-8 cannot be HONEYBEE__ overrides; skip them rather than panic.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let (result, source) = match path {
        Some(path) => (config::load(path, env), path.display().to_string()),
        None if Path::new(DEFAULT_CONFIG).exists() => (
            config::load(Path::new(DEFAULT_CONFIG), env),
            DEFAULT_CONFIG.to_owned(),
        ),
        None => (config::load_str("", env), "built-in defaults".to_owned()),
    };
    match result {
        Ok(config) => Ok((config, source)),
        Err(e) => {
            eprintln!("Invalid configuration ({source}):\n{e}");
            Err(ExitCode::from(2))
        }
    }
}

fn check(path: Option<&Path>) -> ExitCode {
    match load(path) {
        Ok((config, source)) => {
            // The fleet file is part of what `serve` refuses to start with.
            if let Some(fleet) = &config.fleet.file
                && let Err(e) = honeybee_core::fleet_file::load(fleet, &config.pots.allowed_sources)
            {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            println!("Configuration OK ({source}).");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn serve(path: Option<&Path>) -> ExitCode {
    let (config, source) = match load(path) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    logging::init(&config.logging.level);
    log::info!(
        "HoneyBee Core {} starting with {source}.",
        env!("CARGO_PKG_VERSION")
    );
    match runtime::serve(config) {
        Ok(()) => {
            log::info!("HoneyBee Core stopped.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("Cannot start: {e}.");
            eprintln!("honeybee-core: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

fn backup(file: &Path, path: Option<&Path>) -> ExitCode {
    let (config, _) = match load(path) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if file.exists() {
        eprintln!("honeybee-core backup: {} already exists.", file.display());
        return ExitCode::FAILURE;
    }
    let result =
        honeybee_store::Store::open(&config.storage.dir).and_then(|store| store.backup(file));
    match result {
        Ok(()) => {
            println!(
                "Backed up {} to {}.",
                config.storage.dir.display(),
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("honeybee-core backup: {e}");
            ExitCode::FAILURE
        }
    }
}
