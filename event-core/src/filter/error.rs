//! [`ConfigError`]: why a [`FilterConfig`](super::FilterConfig) was refused.

use std::fmt;

use super::config::RULE_KEYS;

/// Why a [`FilterConfig`](super::FilterConfig) could not be parsed or compiled.
///
/// Every variant but [`Syntax`](ConfigError::Syntax) names the key path of the offending value,
/// as `include[0].message`; an empty path means the top level of the filter config.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not JSON at all.
    #[error("filter config is not valid JSON, fix it at the reported position: {source}")]
    Syntax {
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A key that the filter config does not know, often a typo (`reason` for `reasons`).
    #[error(
        "unknown key `{key}` in {}; expected one of {}",
        Location(.path),
        .expected.join(", ")
    )]
    UnknownKey {
        /// The unknown key.
        key: String,
        /// Path of the object holding it.
        path: String,
        /// The keys allowed there.
        expected: &'static [&'static str],
    },
    /// A value of the wrong type or out of range, e.g. a string where a number belongs.
    #[error("invalid value in {}: {source}", Location(.path))]
    InvalidValue {
        /// Path of the value.
        path: String,
        /// What serde expected.
        #[source]
        source: serde_json::Error,
    },
    /// A `message` that is not a valid regular expression.
    #[error("invalid regex in `{path}`: {source}")]
    InvalidRegex {
        /// Path of the pattern, e.g. `exclude[1].message`.
        path: String,
        /// The regex compiler's error, pointing into the pattern.
        #[source]
        source: regex::Error,
    },
    /// A rule without any condition, which would match every event.
    #[error(
        "empty filter rule `{path}` would match every event: give it at least one of {}, or remove it",
        RULE_KEYS.join(", ")
    )]
    EmptyRule {
        /// Path of the rule, e.g. `include[0]`.
        path: String,
    },
    /// An empty list of values, which would match no event.
    #[error(
        "empty list in `{path}` would match no event: list at least one value, or remove the key"
    )]
    EmptyList {
        /// Path of the list, e.g. `include[0].namespaces`.
        path: String,
    },
    /// An event type other than `Normal` or `Warning`, often a typo.
    #[error("unknown event type {value:?} in `{path}`: use Normal or Warning")]
    UnknownEventType {
        /// Path of the value, e.g. `include[0].types[1]`.
        path: String,
        /// The value given.
        value: String,
    },
}

/// A key path for messages: quoted, or "the filter config" for the top level.
struct Location<'a>(&'a str);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the filter config")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}
