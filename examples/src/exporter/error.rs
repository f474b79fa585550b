//! [`ConfigError`]: why a configuration was refused, naming the key and where its value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a setting came from, for error messages: the file (at a line and column when known),
/// an environment variable, a command-line flag, or the built-in defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The config file, optionally at `(line, column)`.
    File {
        /// The file given with `--config` or `EVENT_KEEPER_CONFIG`.
        path: PathBuf,
        /// The position of the value, when the YAML parser reported one.
        position: Option<(usize, usize)>,
    },
    /// An environment variable, e.g. `EVENT_KEEPER_LISTEN`.
    Env(&'static str),
    /// A command-line flag, e.g. `--listen`.
    Flag(&'static str),
    /// Nothing set the key: its default, or no config file at all.
    Defaults,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                position: Some((line, column)),
            } => write!(f, "{}:{line}:{column}", path.display()),
            Origin::File {
                path,
                position: None,
            } => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "command-line flag {flag}"),
            Origin::Defaults => f.write_str("configuration"),
        }
    }
}

/// Why the configuration was refused. Every variant is found before anything starts: no
/// connection, no file written.
///
/// The message is one line: where the value came from, the key as a path
/// (`sinks[0].retention_days`), what is wrong and what is allowed.
///
/// ```
/// use examples::exporter::{ConfigError, Origin};
///
/// let error = ConfigError::invalid("server.listen", Origin::Env("EVENT_KEEPER_LISTEN"), "is \"8080\"; write host:port, e.g. 0.0.0.0:8080");
/// assert_eq!(error.key(), Some("server.listen"));
/// assert_eq!(
///     error.to_string(),
///     "environment variable EVENT_KEEPER_LISTEN: `server.listen`: is \"8080\"; write host:port, e.g. 0.0.0.0:8080"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error(
        "cannot read the config file {}: {source}; check --config or EVENT_KEEPER_CONFIG",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not YAML at all.
    #[error("{origin}: not valid YAML: {message}")]
    Syntax {
        /// The file, at the position of the error.
        origin: Origin,
        /// The parser's message.
        message: String,
    },
    /// A key that does not exist, a value of the wrong type or out of range, or a combination
    /// of values that cannot work.
    #[error("{origin}: `{key}`: {problem}")]
    Invalid {
        /// The key as a path, e.g. `sinks[0].retention_days`.
        key: String,
        /// Where its value came from.
        origin: Origin,
        /// What is wrong and what is allowed, as a lowercase sentence.
        problem: String,
    },
}

impl ConfigError {
    /// An [`Invalid`](ConfigError::Invalid) error.
    pub fn invalid(key: impl Into<String>, origin: Origin, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            origin,
            problem: problem.into(),
        }
    }

    /// The key the error is about, when it names one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_origin_shows_the_position_when_known() {
        let at = Origin::File {
            path: "config.yaml".into(),
            position: Some((3, 6)),
        };
        let error = ConfigError::invalid("server.n", at, "invalid type");
        assert_eq!(
            error.to_string(),
            "config.yaml:3:6: `server.n`: invalid type"
        );
        let nowhere = Origin::File {
            path: "config.yaml".into(),
            position: None,
        };
        assert_eq!(nowhere.to_string(), "config.yaml");
    }

    #[test]
    fn flags_and_defaults_are_named_as_such() {
        assert_eq!(
            Origin::Flag("--listen").to_string(),
            "command-line flag --listen"
        );
        let error = ConfigError::invalid("cluster", Origin::Defaults, "is missing");
        assert_eq!(error.to_string(), "configuration: `cluster`: is missing");
    }

    #[test]
    fn read_errors_say_which_option_names_the_file() {
        let error = ConfigError::Read {
            path: "/nope.yaml".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(error.key(), None);
        assert!(
            error
                .to_string()
                .starts_with("cannot read the config file /nope.yaml: "),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .ends_with("check --config or EVENT_KEEPER_CONFIG")
        );
    }
}
