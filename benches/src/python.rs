//! Runs the scripts of `benches/python/` with an interpreter that has the `kubernetes` client,
//! and reads the one JSON object each prints.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The environment variable that names the interpreter; `python3` when unset.
pub const PYTHON_ENV: &str = "BENCH_PYTHON";

/// Why the Python half of a bench could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PythonError {
    /// The interpreter could not be started.
    #[error(
        "could not run {interpreter:?}: install Python 3 or set {PYTHON_ENV} to an interpreter"
    )]
    Missing {
        /// The interpreter asked for.
        interpreter: String,
        /// Why it could not be spawned.
        #[source]
        source: std::io::Error,
    },
    /// The interpreter runs but has no `kubernetes` package.
    #[error(
        "the kubernetes client is not installed for {interpreter:?}: run `pip install -r benches/python/requirements.txt` (python said: {stderr})"
    )]
    NotInstalled {
        /// The interpreter used.
        interpreter: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// A script exited with an error.
    #[error("benches/python/{script} failed with {status}: {stderr}")]
    Failed {
        /// The script.
        script: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// A script printed something other than one JSON object.
    #[error("benches/python/{script} printed no JSON result: {source}; run it by hand to see why")]
    Output {
        /// The script.
        script: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// An interpreter known to import `kubernetes`.
#[derive(Clone, Debug)]
pub struct Python {
    interpreter: OsString,
    /// `sys.version` of the interpreter, first word.
    pub version: String,
    /// `kubernetes.__version__`.
    pub kubernetes: String,
}

impl Python {
    /// Finds the interpreter ([`PYTHON_ENV`] or `python3`) and checks that it imports
    /// `kubernetes`.
    ///
    /// # Errors
    ///
    /// [`PythonError::Missing`] or [`PythonError::NotInstalled`].
    pub fn find() -> Result<Python, PythonError> {
        let interpreter = std::env::var_os(PYTHON_ENV).unwrap_or_else(|| "python3".into());
        let name = interpreter.to_string_lossy().into_owned();
        let output = Command::new(&interpreter)
            .args([
                "-c",
                "import sys, kubernetes; print(sys.version.split()[0], kubernetes.__version__)",
            ])
            .output()
            .map_err(|source| PythonError::Missing {
                interpreter: name.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(PythonError::NotInstalled {
                interpreter: name,
                stderr: last_line(&output.stderr),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut words = stdout.split_whitespace();
        Ok(Python {
            interpreter,
            version: words.next().unwrap_or_default().to_owned(),
            kubernetes: words.next().unwrap_or_default().to_owned(),
        })
    }

    /// Runs `benches/python/{script}` with `args` and parses the JSON object it prints last.
    ///
    /// # Errors
    ///
    /// [`PythonError::Missing`], [`PythonError::Failed`] or [`PythonError::Output`].
    pub fn run<I, S>(&self, script: &str, args: I) -> Result<Value, PythonError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self
            .command(script, args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| PythonError::Missing {
                interpreter: self.interpreter.to_string_lossy().into_owned(),
                source,
            })?;
        if !output.status.success() {
            return Err(PythonError::Failed {
                script: script.to_owned(),
                status: output.status,
                stderr: last_line(&output.stderr),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).map_err(|source| PythonError::Output {
            script: script.to_owned(),
            source,
        })
    }

    /// The command that runs `benches/python/{script}` with `args`, to spawn and watch.
    pub fn command<I, S>(&self, script: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.interpreter);
        command.arg(script_path(script)).args(args);
        command
    }
}

/// Where a script of `benches/python/` is.
pub fn script_path(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script)
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_live_next_to_the_crate() {
        assert!(script_path("decode.py").ends_with("benches/python/decode.py"));
        assert!(script_path("decode.py").exists());
    }

    #[test]
    fn the_last_non_empty_line_of_stderr_is_kept() {
        assert_eq!(
            last_line(b"Traceback\n  x\nModuleNotFoundError: kubernetes\n\n"),
            "ModuleNotFoundError: kubernetes"
        );
        assert_eq!(last_line(b""), "");
    }
}
