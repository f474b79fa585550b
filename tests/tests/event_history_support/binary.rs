//! The real `event_history` example as a child process: built once per test binary with the
//! cargo that runs the tests, run with arguments, its output captured.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The environment of every run, and nothing else from the test process: credentials for moto,
/// a region, no instance metadata lookups, no AWS profile.
const ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
];

/// Builds the example (quick when it is up to date) and returns its path, as cargo reports it.
pub fn path() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build)
}

fn build() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root");
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "-p", "examples", "--example", "event_history"])
        .arg("--message-format=json")
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build of event_history failed"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "event_history")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the event_history executable")
}

/// A command for the example with `args`, in a clean environment.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(path());
    command.env_clear().envs(ENV).args(args);
    command.env("HOME", std::env::temp_dir());
    command
}

/// Runs the example to completion.
pub fn run(args: &[&str]) -> Output {
    command(args)
        .stdin(Stdio::null())
        .output()
        .expect("the example runs")
}

/// Runs the example to completion without blocking the runtime (which may serve the endpoint
/// the example talks to, such as the strict proxy).
pub async fn run_async(args: &[&str]) -> Output {
    let mut command = tokio::process::Command::from(command(args));
    command
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the example runs")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}
