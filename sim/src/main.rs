//! The `honeybee-sim` binary: parses the command line, checks the machine, runs the fleet with
//! a live summary line, and prints the final report (and writes it as JSON when asked).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use honeybee_sim::cli::Args;
use honeybee_sim::stats::Stats;
use honeybee_sim::{Control, Report, fleet};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse();
    let (quiet, every, json_path) = (args.quiet, args.summary_secs, args.json_report.clone());
    let config = match args.into_config() {
        Ok(config) => config,
        Err(problems) => {
            eprintln!("honeybee-sim: {problems}");
            return ExitCode::from(2);
        }
    };
    let prepared = match fleet::prepare(config) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("honeybee-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("honeybee-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = prepared.config().clone();
    eprintln!(
        "honeybee-sim: {} nodes against {} ({}), {} events/s, seed {}, open-file limit {}{}",
        config.nodes,
        prepared.core(),
        if config.tls.is_some() {
            "TLS"
        } else {
            "plain TCP"
        },
        config.events_per_sec,
        config.seed,
        prepared.fd_limit,
        if prepared.spreads_sources() {
            ", sources spread over 127.0.0.0/8"
        } else {
            ""
        },
    );
    let report = runtime.block_on(async move {
        let control = Control::new();
        let stats = Arc::new(Stats::default());
        let (core, seed, nodes) = (prepared.core().to_string(), config.seed, config.nodes);
        let started = Instant::now();
        if !quiet && every > 0.0 {
            let stats = Arc::clone(&stats);
            let period = Duration::from_secs_f64(every);
            tokio::spawn(async move {
                let mut previous = Report::read(&stats, &core, seed, nodes, Duration::ZERO);
                let mut ticks = tokio::time::interval(period);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    let now = Report::read(&stats, &core, seed, nodes, started.elapsed());
                    eprintln!("{}", now.summary_line(&previous));
                    previous = now;
                }
            });
        }
        let ctrl_c = control.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("honeybee-sim: stopping (Ctrl-C again to quit at once)");
                ctrl_c.stop();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        fleet::run(prepared, control, stats).await
    });
    print!("{}", report.text());
    if let Some(path) = json_path {
        let json = match serde_json::to_string_pretty(&report) {
            Ok(json) => json,
            Err(e) => {
                eprintln!("honeybee-sim: cannot write the JSON report: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = std::fs::write(&path, json + "\n") {
            eprintln!("honeybee-sim: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
