//! Event Keeper for Amazon EKS: watches every Event of the cluster and ships each occurrence,
//! once, to CloudWatch Logs (and files or stdout), surviving restarts and leader changes.
//!
//! Run: `cargo run --release --example eks_to_cloudwatch -- --config config.yaml`
//! (`--help` lists the flags; `--check-config` validates and exits). deploy/README.md shows how
//! to deploy it; examples/README.md documents the configuration.

use std::process::ExitCode;

use clap::Parser;
use examples::exporter::{Cli, Env, Settings, init_logging, run};

/// jemalloc returns the memory of the initial list (every live event of the cluster, decoded
/// at once) to the system within seconds; glibc's malloc keeps most of it as the process's
/// steady size. BENCHMARKS.md has the figures of both.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli, &Env::system()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("eks_to_cloudwatch: invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        println!("configuration is valid: {}", settings.summary());
        return ExitCode::SUCCESS;
    }
    if let Err(error) = init_logging(&settings.log) {
        eprintln!("eks_to_cloudwatch: {error}");
        return ExitCode::FAILURE;
    }
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        // Already logged, with its fields, by `run`.
        Err(_) => ExitCode::FAILURE,
    }
}
