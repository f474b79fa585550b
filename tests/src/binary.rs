//! The real `eks_to_cloudwatch` binary as a child process: built once per test binary with the
//! same cargo that runs the tests, started with a config file and a kubeconfig, probed over
//! HTTP, stopped with SIGTERM or SIGKILL.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use testkit::prometheus::sample;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{OnceCell, watch};

/// Builds the `eks_to_cloudwatch` example (once per test binary; quick when `.ci/run` or an
/// earlier test built it) and returns its path, taken from cargo's `compiler-artifact` message.
///
/// # Panics
///
/// When cargo cannot build it: the test cannot run without it.
pub async fn eks_to_cloudwatch() -> &'static Path {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            tokio::task::spawn_blocking(build)
                .await
                .expect("the build task ran")
        })
        .await
}

fn build() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root");
    let output = std::process::Command::new(cargo)
        .current_dir(workspace)
        // The same package selection and features as `cargo test --workspace --all-features`
        // (the README's test command), which builds the examples too: the binary is then fresh
        // and this is a no-op instead of a second build with other features.
        .args([
            "build",
            "--workspace",
            "--all-features",
            "--example",
            "eks_to_cloudwatch",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build of eks_to_cloudwatch failed: {}",
        output.status
    );
    artifact(&String::from_utf8_lossy(&output.stdout))
        .expect("cargo reported the eks_to_cloudwatch executable")
}

/// The executable of the `eks_to_cloudwatch` compiler-artifact message among cargo's JSON
/// messages.
pub fn artifact(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| {
            m["reason"] == "compiler-artifact" && m["target"]["name"] == "eks_to_cloudwatch"
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// The environment every child gets, and nothing else from the test process: credentials for
/// moto, a region, no instance metadata lookups, no AWS profile, no ambient kubeconfig.
fn base_env(home: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.push(("HOME".into(), home.display().to_string()));
    if let Ok(path) = std::env::var("PATH") {
        env.push(("PATH".into(), path));
    }
    env
}

/// A running `eks_to_cloudwatch`, killed when dropped. Its stderr (the JSON log) and stdout (the
/// stdout sink) are collected line by line.
pub struct ExporterProcess {
    child: Child,
    addr: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The tasks reading stdout and stderr, done at end of file.
    readers: Vec<tokio::task::JoinHandle<()>>,
    dir: tempfile::TempDir,
}

impl ExporterProcess {
    /// Writes `config` to a file, starts the binary with `--config` on it, `KUBECONFIG` at
    /// `kubeconfig` and `env` added, and waits until it serves `/healthz` (the config must
    /// set `log.format: json`; `server.listen` may use port 0).
    pub async fn start(config: &str, kubeconfig: &Path, env: &[(&str, &str)]) -> ExporterProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config).expect("config written");
        let mut command = Command::new(eks_to_cloudwatch().await);
        command
            .arg("--config")
            .arg(&config_path)
            .env_clear()
            .envs(base_env(dir.path()))
            .env("KUBECONFIG", kubeconfig)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("eks_to_cloudwatch starts");
        let (addr_tx, mut addr_rx) = watch::channel(None);
        let (stdout, out_reader) = collect(child.stdout.take().expect("piped stdout"), None);
        let (stderr, err_reader) =
            collect(child.stderr.take().expect("piped stderr"), Some(addr_tx));
        let found =
            tokio::time::timeout(Duration::from_secs(60), addr_rx.wait_for(Option::is_some)).await;
        let addr = match found {
            Ok(Ok(addr)) => addr.expect("checked by wait_for"),
            _ => {
                let status = child.try_wait().ok().flatten();
                panic!(
                    "eks_to_cloudwatch did not start serving (exit: {status:?}); its log:\n{}",
                    lines(&stderr).join("\n")
                );
            }
        };
        ExporterProcess {
            child,
            addr,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
            dir,
        }
    }

    /// Where it serves `/healthz`, `/readyz` and `/metrics`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A directory of its own, removed with it (for a checkpoint file or an archive).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// `GET path`: the status code and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        testkit::http::get(self.addr, path).await
    }

    /// The value of one series on `/metrics`, e.g. `event_keeper_leader` or
    /// `event_keeper_events_sent_total{sink="cloudwatch"}`; `None` when absent.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        sample(&self.get("/metrics").await.1, series)
    }

    /// Polls `/readyz` until it answers `status`, failing the test after `timeout`.
    pub async fn wait_for_readyz(&self, status: u16, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (code, body) = self.get("/readyz").await;
            if code == status {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "/readyz still answers {code}, not {status}, after {timeout:?}:\n{body}\nlog:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM, as the kubelet does to stop a pod.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Sends SIGKILL (`kill -9`) and reaps it: no shutdown, no checkpoint save, no release.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL delivered");
    }

    /// Waits for it to exit and for its last output to be read, failing the test after
    /// `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.expect("wait for the child"),
            Err(_) => panic!(
                "eks_to_cloudwatch did not exit within {timeout:?}; its log:\n{}",
                self.logs()
            ),
        };
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status
    }

    /// Stops it as the kubelet does (SIGTERM), waits up to 20 s for it to exit, asserts that it
    /// exited with success, and returns its log.
    pub async fn stop_gracefully(&mut self) -> String {
        self.terminate();
        let status = self.wait(Duration::from_secs(20)).await;
        assert!(status.success(), "graceful exit: {status}\n{}", self.logs());
        self.logs()
    }

    /// Its log so far (stderr), one JSON object per line.
    pub fn logs(&self) -> String {
        lines(&self.stderr).join("\n")
    }

    /// What it printed to stdout so far (the stdout sink's lines).
    pub fn stdout_lines(&self) -> Vec<String> {
        lines(&self.stdout)
    }
}

fn lines(buffer: &Mutex<Vec<String>>) -> Vec<String> {
    buffer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Collects `pipe` line by line; with `addr`, reports the address of the health server's
/// "serving /healthz" log line.
fn collect(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    addr: Option<watch::Sender<Option<SocketAddr>>>,
) -> (Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let out = buffer.clone();
    let reader = tokio::spawn(async move {
        let mut reader = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if let Some(tx) = &addr {
                let parsed: Option<Value> = serde_json::from_str(&line).ok();
                let serving = parsed.as_ref().filter(|v| {
                    v["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("serving /healthz"))
                });
                if let Some(found) = serving.and_then(|v| v["addr"].as_str()?.parse().ok()) {
                    let _ = tx.send(Some(found));
                }
            }
            out.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
    });
    (buffer, reader)
}

/// Runs the binary to completion with `args` (and only the base environment plus `env`):
/// its exit status, stdout and stderr.
pub async fn run_to_end(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let home = tempfile::tempdir().expect("temp dir");
    let output = Command::new(eks_to_cloudwatch().await)
        .args(args)
        .env_clear()
        .envs(base_env(home.path()))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("eks_to_cloudwatch exits")
        .expect("eks_to_cloudwatch runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_comes_from_the_example_artifact() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"examples","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"eks_to_cloudwatch","kind":["example"]},"executable":"/t/debug/examples/eks_to_cloudwatch"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            artifact(messages),
            Some(PathBuf::from("/t/debug/examples/eks_to_cloudwatch"))
        );
        assert_eq!(artifact(r#"{"reason":"build-finished"}"#), None);
    }
}
