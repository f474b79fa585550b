//! [`Moto`]: a real moto server (the AWS service mock) on a free `127.0.0.1` port, for
//! end-to-end tests through the unmodified AWS SDK.
//!
//! moto is a Python program; [`Moto::start`] runs `moto.server`'s entry point with
//! `-H 127.0.0.1 -p PORT` (what `python3 -m moto.server` runs), polls until it answers HTTP
//! and hands back its endpoint. The server lives in a process group of its own and is killed
//! with that group on [`Drop`], then reaped, so no process or zombie is left behind.
//!
//! A `Moto` is often shared by every test of a binary through a `static`
//! `tokio::sync::OnceCell`, and statics are never dropped. So the interpreter also watches
//! its standard input, a pipe from the test process: when that process exits, however it
//! exits, the pipe closes and moto exits with it.
//!
//! Install moto with `scripts/test.sh` (which installs the pinned `moto[server]` when it is
//! missing) or `pip install 'moto[server]'`.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod process;

use std::ffi::OsString;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::ExitStatus;
use std::time::Duration;

use process::Server;

/// How long [`Moto::start`] waits for moto to answer by default: its first start imports
/// boto and Flask, which takes seconds on a busy machine.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How [`Moto::start_with`] starts moto.
///
/// | field | default |
/// | --- | --- |
/// | [`python`](MotoConfig::python) | `python3` from `PATH` |
/// | [`startup_timeout`](MotoConfig::startup_timeout) | [`DEFAULT_STARTUP_TIMEOUT`] (30 s) |
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MotoConfig {
    /// The Python interpreter that has `moto[server]` installed.
    pub python: OsString,
    /// How long to wait for moto to answer HTTP after it was started.
    pub startup_timeout: Duration,
}

impl Default for MotoConfig {
    fn default() -> Self {
        MotoConfig {
            python: OsString::from("python3"),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }
}

impl MotoConfig {
    /// Uses this interpreter instead of `python3`.
    #[must_use]
    pub fn python(mut self, python: impl Into<OsString>) -> Self {
        self.python = python.into();
        self
    }

    /// Waits this long for moto to answer.
    #[must_use]
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }
}

/// Why moto could not be started; carried inside the [`io::Error`] that [`Moto::start`]
/// returns (reach it with [`io::Error::get_ref`] and `downcast_ref`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MotoError {
    /// The interpreter could not be run at all.
    #[error(
        "could not run {python:?} to start moto: install Python 3, then run scripts/test.sh or `pip install 'moto[server]'`"
    )]
    PythonMissing {
        /// The interpreter that was asked for.
        python: String,
        /// Why it could not be spawned.
        #[source]
        source: io::Error,
    },
    /// Python runs, but cannot import moto's server (or its Flask dependencies).
    #[error(
        "moto is not installed for {python:?}: run scripts/test.sh or `pip install 'moto[server]'` (python said: {stderr})"
    )]
    NotInstalled {
        /// The interpreter that was used.
        python: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// moto exited before it answered.
    #[error("moto exited during startup with {status}; its last output: {stderr}")]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// moto is running but did not answer HTTP in time.
    #[error(
        "moto did not answer on 127.0.0.1:{port} within {timeout:?}; raise MotoConfig::startup_timeout on a slow machine (its last output: {stderr})"
    )]
    Timeout {
        /// The port it was started on.
        port: u16,
        /// How long it was waited for.
        timeout: Duration,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// No free port could be found on the loopback interface.
    #[error("could not find a free port on 127.0.0.1 for moto")]
    NoPort(#[source] io::Error),
}

impl From<MotoError> for io::Error {
    fn from(error: MotoError) -> io::Error {
        let kind = match &error {
            MotoError::PythonMissing { .. } | MotoError::NotInstalled { .. } => {
                io::ErrorKind::NotFound
            }
            MotoError::Timeout { .. } => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, error)
    }
}

/// A moto server on `127.0.0.1`, stopped (with its process group) when dropped.
///
/// It holds a [`std::process::Child`], not a tokio one, so a single `Moto` can be shared by
/// tests that each run their own tokio runtime.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use testkit::moto::Moto;
///
/// let moto = Moto::start().await?;
/// let logs = testkit::cloudwatch::client(&moto.endpoint()).await;
/// logs.create_log_group().log_group_name("demo").send().await.ok();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Moto {
    server: Option<Server>,
    port: u16,
    config: MotoConfig,
}

impl Moto {
    /// Starts moto on a free port with the [default configuration](MotoConfig) and waits
    /// until it answers.
    ///
    /// # Errors
    ///
    /// An [`io::Error`] wrapping a [`MotoError`]: kind `NotFound` when Python or moto is
    /// missing (the message says to run `scripts/test.sh` or `pip install 'moto[server]'`),
    /// `TimedOut` when moto does not answer within the startup timeout.
    pub async fn start() -> io::Result<Moto> {
        Moto::start_with(MotoConfig::default()).await
    }

    /// Starts moto as `config` says; see [`Moto::start`].
    ///
    /// # Errors
    ///
    /// As [`Moto::start`].
    pub async fn start_with(config: MotoConfig) -> io::Result<Moto> {
        // Another program may take the probed port before moto binds it: then moto exits
        // at once, and a new port is tried.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            match Server::launch(&config, port).await {
                Ok(server) => {
                    tracing::debug!(port, pid = server.pid(), "moto started");
                    return Ok(Moto {
                        server: Some(server),
                        port,
                        config,
                    });
                }
                Err(error @ MotoError::Exited { .. }) => last_error = Some(error),
                Err(error) => return Err(error.into()),
            }
        }
        Err(last_error.map_or_else(|| io::Error::other("moto did not start"), Into::into))
    }

    /// One moto for the whole test binary, started by the first caller: moto takes seconds
    /// to start, so tests share it (with distinct log group names) instead of each starting
    /// their own. It is never dropped; it exits with the test process (see the module docs).
    /// A test that restarts moto must start its own.
    ///
    /// # Errors
    ///
    /// As [`Moto::start`]; a later call tries again.
    pub async fn shared() -> io::Result<&'static Moto> {
        static SHARED: tokio::sync::OnceCell<Moto> = tokio::sync::OnceCell::const_new();
        SHARED.get_or_try_init(Moto::start).await
    }

    /// The endpoint to give the SDK: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the running interpreter, `None` after a failed restart.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Server::pid)
    }

    /// Kills moto and starts it again on the same port, with empty state (moto keeps
    /// everything in memory), like a service that lost its data.
    ///
    /// # Errors
    ///
    /// As [`Moto::start`]; moto is then stopped until the next successful restart.
    pub async fn restart(&mut self) -> io::Result<()> {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        let mut last_error = None;
        for _ in 0..5 {
            match Server::launch(&self.config, self.port).await {
                Ok(server) => {
                    tracing::debug!(port = self.port, pid = server.pid(), "moto restarted");
                    self.server = Some(server);
                    return Ok(());
                }
                // The old socket can linger for a moment after the kill.
                Err(error @ MotoError::Exited { .. }) => {
                    last_error = Some(error);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(last_error.map_or_else(|| io::Error::other("moto did not restart"), Into::into))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
            tracing::debug!(port = self.port, "moto stopped");
        }
    }
}

/// A port nothing listens on now; the listener is closed again before moto binds it.
fn free_port() -> Result<u16, MotoError> {
    let listener =
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).map_err(MotoError::NoPort)?;
    Ok(listener.local_addr().map_err(MotoError::NoPort)?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_to_python3_and_thirty_seconds() {
        let config = MotoConfig::default();
        assert_eq!(config.python, OsString::from("python3"));
        assert_eq!(config.startup_timeout, Duration::from_secs(30));
    }

    #[test]
    fn missing_python_and_moto_are_not_found_errors_that_say_what_to_run() {
        let missing = io::Error::from(MotoError::NotInstalled {
            python: "python3".into(),
            stderr: "ModuleNotFoundError: No module named 'moto'".into(),
        });
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let text = missing.to_string();
        assert!(text.contains("scripts/test.sh"), "{text}");
        assert!(text.contains("pip install 'moto[server]'"), "{text}");
    }

    #[test]
    fn free_ports_are_nonzero() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
    }
}
