//! The moto process: spawning it with a watchdog on its standard input, keeping the tail of
//! its stderr for error messages, waiting until it answers, and killing its process group.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{MotoConfig, MotoError};

/// Runs moto's server entry point after starting a thread that exits the interpreter when
/// its standard input reaches end of file, i.e. when the test process that holds the other
/// end has exited (even when killed, and even if the `Moto` was never dropped).
const LAUNCHER: &str = "\
import os, sys, threading
def _exit_with_parent():
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)
threading.Thread(target=_exit_with_parent, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
";

/// How many stderr lines are kept for error messages.
const TAIL_LINES: usize = 20;

/// How often startup polls the port.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

type Tail = Arc<Mutex<VecDeque<String>>>;

/// A running moto interpreter.
#[derive(Debug)]
pub(super) struct Server {
    child: Child,
    /// Kept open for the watchdog: closing it (or exiting) stops moto.
    stdin: Option<ChildStdin>,
    tail: Tail,
}

impl Server {
    /// Spawns moto on `port` and waits until it answers HTTP there.
    pub(super) async fn launch(config: &MotoConfig, port: u16) -> Result<Server, MotoError> {
        let python = config.python.to_string_lossy().into_owned();
        let mut command = Command::new(&config.python);
        command
            .arg("-c")
            .arg(LAUNCHER)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            // A group of its own: stopping kills whatever moto may have spawned too, and a
            // Ctrl-C meant for the test run does not race with our own stop.
            use std::os::unix::process::CommandExt as _;
            command.process_group(0);
        }
        let mut child = command.spawn().map_err(|source| MotoError::PythonMissing {
            python: python.clone(),
            source,
        })?;
        let stdin = child.stdin.take();
        let tail = Tail::default();
        if let Some(stderr) = child.stderr.take() {
            spawn_drain(stderr, tail.clone(), port);
        }
        let mut server = Server { child, stdin, tail };
        match server.wait_until_ready(port, config.startup_timeout).await {
            Ok(()) => Ok(server),
            Err(error) => {
                server.stop();
                Err(match error {
                    MotoError::Exited { stderr, .. } if is_missing_module(&stderr) => {
                        MotoError::NotInstalled { python, stderr }
                    }
                    other => other,
                })
            }
        }
    }

    /// The interpreter's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_until_ready(&mut self, port: u16, timeout: Duration) -> Result<(), MotoError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the drain thread take the last lines of the traceback.
                tokio::time::sleep(POLL_INTERVAL).await;
                return Err(MotoError::Exited {
                    status,
                    stderr: self.stderr_tail(),
                });
            }
            if answers_http(port).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(MotoError::Timeout {
                    port,
                    timeout,
                    stderr: self.stderr_tail(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Kills the process group, then reaps the interpreter so no zombie remains.
    pub(super) fn stop(&mut self) {
        #[cfg(unix)]
        {
            // The interpreter is not reaped yet, so its pid (the group id) cannot have been
            // reused by another process.
            let group = rustix::process::Pid::from_child(&self.child);
            if let Err(error) =
                rustix::process::kill_process_group(group, rustix::process::Signal::KILL)
            {
                tracing::debug!(%error, pid = self.child.id(), "killing moto's process group");
            }
        }
        if let Err(error) = self.child.kill() {
            tracing::debug!(%error, pid = self.child.id(), "killing moto");
        }
        if let Err(error) = self.child.wait() {
            tracing::warn!(%error, pid = self.child.id(), "reaping moto failed");
        }
        self.stdin = None;
    }

    fn stderr_tail(&self) -> String {
        match self.tail.lock() {
            Ok(lines) => lines.iter().cloned().collect::<Vec<_>>().join("\n"),
            Err(_) => String::new(),
        }
    }
}

/// Reads moto's stderr until it closes (moto logs every request there: an undrained pipe
/// would fill up and stall it), keeping the last lines and passing each to `tracing`.
fn spawn_drain(stderr: impl Read + Send + 'static, tail: Tail, port: u16) {
    let spawned = std::thread::Builder::new()
        .name(format!("moto-{port}-stderr"))
        .spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                match reader.read_until(b'\n', &mut buffer) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buffer).trim_end().to_owned();
                        tracing::trace!(port, line = %line, "moto output");
                        if let Ok(mut lines) = tail.lock() {
                            if lines.len() == TAIL_LINES {
                                lines.pop_front();
                            }
                            lines.push_back(line);
                        }
                    }
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, port, "could not start the thread that reads moto's output");
    }
}

/// Whether the server on `port` answers a plain HTTP request (moto's own dashboard path).
async fn answers_http(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head.starts_with(b"HTTP/1."))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Ok(true))
    )
}

/// Whether a Python traceback says an import failed (moto, Flask, werkzeug, ...).
fn is_missing_module(stderr: &str) -> bool {
    stderr.contains("ModuleNotFoundError") || stderr.contains("No module named")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_error_means_moto_is_missing() {
        assert!(is_missing_module(
            "Traceback (most recent call last):\n  File \"<string>\", line 8, in <module>\nModuleNotFoundError: No module named 'moto'"
        ));
        assert!(is_missing_module("ImportError: No module named flask"));
        assert!(!is_missing_module(
            "OSError: [Errno 98] Address already in use"
        ));
    }

    #[tokio::test]
    async fn a_missing_interpreter_is_reported_as_python_missing() {
        let config = MotoConfig::default().python("/nonexistent/python3-for-testkit");
        let error = Server::launch(&config, 1).await.unwrap_err();
        assert!(
            matches!(error, MotoError::PythonMissing { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("scripts/test.sh"), "{error}");
    }
}
