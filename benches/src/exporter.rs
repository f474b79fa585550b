//! The product binary, `eks_to_cloudwatch`, run as a child process against a simulated API
//! server: its config, its `/metrics`, and stopping it as Kubernetes does (SIGTERM).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use testkit::prometheus::sample;

/// The environment variable naming the binary; by default it is looked for beside this one.
pub const EXPORTER_ENV: &str = "BENCH_EXPORTER";

/// Why the exporter could not be run or measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// The binary is not built.
    #[error(
        "eks_to_cloudwatch is not built at {0}: run `cargo build --release -p examples --example eks_to_cloudwatch` (or set {EXPORTER_ENV})"
    )]
    NotBuilt(PathBuf),
    /// Starting, signalling or waiting for it failed.
    #[error("could not {action} eks_to_cloudwatch: {source}")]
    Process {
        /// What was attempted.
        action: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// It did not serve `/metrics` in time, or exited.
    #[error("eks_to_cloudwatch did not serve /metrics within {0:?} (see its log above)")]
    NotServing(Duration),
}

/// Where the sink of a run writes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// A `stdout` sink (JSON lines) into this file (`/dev/null` to discard).
    Stdout(PathBuf),
    /// A `file` sink writing its archive into this directory, fsync after every batch.
    Archive(PathBuf),
    /// A `cloudwatch` sink to this endpoint (e.g. testkit's strict proxy in front of moto), one
    /// log stream per namespace, with the exporter's default batching.
    CloudWatch(String),
}

/// What a run of the exporter is configured with.
#[derive(Clone, Debug)]
pub struct Run {
    /// The kubeconfig of the simulated cluster.
    pub kubeconfig: PathBuf,
    /// The checkpoint file (`checkpoint.store: file`).
    pub checkpoint: PathBuf,
    /// How often the checkpoint is saved.
    pub checkpoint_interval_secs: f64,
    /// The sink.
    pub output: Output,
    /// Where the config file is written.
    pub dir: PathBuf,
    /// More environment variables for the process (e.g. glibc malloc tunables).
    pub env: Vec<(String, String)>,
}

/// A running exporter, killed when dropped.
#[derive(Debug)]
pub struct Exporter {
    child: Child,
    listen: SocketAddr,
    started: Instant,
}

/// The binary: [`EXPORTER_ENV`], else `examples/eks_to_cloudwatch` beside the running bench.
///
/// # Errors
///
/// [`ExporterError::NotBuilt`] when it is not there.
pub fn binary() -> Result<PathBuf, ExporterError> {
    crate::example::locate("eks_to_cloudwatch", EXPORTER_ENV).map_err(ExporterError::NotBuilt)
}

impl Run {
    /// The YAML config of this run, listening on `listen`: source `auto`, no filter, one sink,
    /// a file checkpoint, warnings-only logs.
    pub fn config(&self, listen: SocketAddr) -> String {
        let sink = match &self.output {
            Output::Stdout(_) => "  - type: stdout\n    format: json\n".to_owned(),
            Output::Archive(dir) => format!(
                "  - type: file\n    directory: {}\n    fsync: every-batch\n",
                dir.display()
            ),
            Output::CloudWatch(endpoint) => format!(
                "  - type: cloudwatch\n    log_group: /event-keeper/bench\n    log_stream: \"{{namespace}}\"\n    region: us-east-1\n    endpoint_url: {endpoint}\n"
            ),
        };
        format!(
            "cluster: bench\ncheckpoint:\n  store: file\n  path: {}\n  interval_secs: {}\nsinks:\n{sink}server:\n  listen: {listen}\nlog:\n  format: text\n  level: warn\n",
            self.checkpoint.display(),
            self.checkpoint_interval_secs,
        )
    }

    /// Starts the exporter and waits until it serves `/metrics`.
    ///
    /// # Errors
    ///
    /// [`ExporterError`] when it cannot start or does not serve within 60 s.
    pub async fn start(&self, binary: &Path) -> Result<Exporter, ExporterError> {
        let process = |action| move |source| ExporterError::Process { action, source };
        let listen = free_port().map_err(process("find a port for"))?;
        let config = self.dir.join("config.yaml");
        std::fs::write(&config, self.config(listen)).map_err(process("write the config of"))?;
        let stdout = match &self.output {
            Output::Stdout(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(process("open the output of"))?,
            ),
            Output::Archive(_) | Output::CloudWatch(_) => Stdio::null(),
        };
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config)
            .env_clear()
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.dir)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(process("start"))?;
        let mut exporter = Exporter {
            child,
            listen,
            started,
        };
        let bound = Duration::from_secs(60);
        while started.elapsed() < bound {
            if exporter.child.try_wait().ok().flatten().is_some() {
                return Err(ExporterError::NotServing(bound));
            }
            if exporter.metrics().await.is_ok() {
                return Ok(exporter);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(ExporterError::NotServing(bound))
    }
}

impl Exporter {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When it was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The text of `/metrics`.
    ///
    /// # Errors
    ///
    /// When `/metrics` does not answer 200: the status (0 when nothing answered) and the answer.
    pub async fn metrics(&self) -> io::Result<String> {
        match testkit::http::get(self.listen, "/metrics").await {
            (200, body) => Ok(body),
            (status, answer) => Err(io::Error::other(format!(
                "no 200 answer from /metrics ({status}): {answer:.200}"
            ))),
        }
    }

    /// The value of one series of `/metrics` (full name with labels); `None` when absent or
    /// unreachable.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        sample(&self.metrics().await.ok()?, series)
    }

    /// Sends SIGTERM and waits for the exit (the pipeline drains and saves its checkpoint).
    ///
    /// # Errors
    ///
    /// [`ExporterError::Process`] when the signal cannot be sent or the wait fails.
    pub fn terminate(mut self) -> Result<ExitStatus, ExporterError> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(|source| ExporterError::Process {
                action: "signal",
                source,
            })?;
        if !status.success() {
            return Err(ExporterError::Process {
                action: "signal",
                source: io::Error::other(format!("kill exited with {status}")),
            });
        }
        self.child.wait().map_err(|source| ExporterError::Process {
            action: "wait for",
            source,
        })
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> io::Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_names_the_checkpoint_the_sink_and_the_port() {
        let run = Run {
            kubeconfig: "/k".into(),
            checkpoint: "/c/checkpoint.json".into(),
            checkpoint_interval_secs: 1.0,
            output: Output::Archive("/a".into()),
            dir: "/d".into(),
            env: Vec::new(),
        };
        let config = run.config(SocketAddr::from((Ipv4Addr::LOCALHOST, 9)));
        assert!(config.contains("path: /c/checkpoint.json"), "{config}");
        assert!(config.contains("directory: /a"), "{config}");
        assert!(config.contains("listen: 127.0.0.1:9"), "{config}");
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let error = ExporterError::NotBuilt("/nowhere/eks_to_cloudwatch".into());
        assert!(
            error
                .to_string()
                .contains("cargo build --release -p examples")
        );
    }
}
