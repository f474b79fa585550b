//! Event Keeper for Amazon EKS: watches every Event of the cluster and ships each occurrence,
//! once, to CloudWatch Logs (and files or stdout), surviving restarts and leader changes.
//!
//! Run: `cargo run --release --example eks_to_cloudwatch -- --config config.yaml`
//! (`--help` lists the flags; `--check-config` validates and exits). deploy/README.md shows how
//! to deploy it; examples/README.md documents the configuration.

use std::process::ExitCode;

use clap::Parser;
use examples::exporter::{Cli, Env, Settings, init_logging, run};

// jemalloc does not build for MSVC targets.
#[cfg(not(target_env = "msvc"))]
mod allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli, &Env::system()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!(
                "eks_to_cloudwatch: invalid configuration: {}",
                one_line(&error)
            );
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        println!("configuration is valid: {}", settings.summary());
        return ExitCode::SUCCESS;
    }
    if let Err(error) = init_logging(&settings.log) {
        eprintln!("eks_to_cloudwatch: {}", one_line(&error));
        return ExitCode::FAILURE;
    }
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        // Already logged, on one line, by `run`.
        Err(_) => ExitCode::FAILURE,
    }
}

/// The error on one line, its control characters shown as escapes: the file and the
/// environment it quotes are read as they are.
fn one_line(error: &dyn std::fmt::Display) -> String {
    error
        .to_string()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
