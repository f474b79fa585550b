//! [`HeaderSource`]: where the value of an extra request header comes from, and reading it.

use std::fmt;
use std::path::PathBuf;

use http::{HeaderName, HeaderValue};

use crate::HttpConfigError;

/// Where the value of an extra request header comes from. Values from a file or an
/// environment variable are meant for secrets (API keys, bearer tokens): every header value
/// is marked sensitive, and `Debug` shows where a value comes from, never the value.
///
/// In a configuration file (serde) a value is a string, `{file: PATH}` or `{env: VAR}`:
///
/// ```
/// use sink_http::HeaderSource;
///
/// let from_env: HeaderSource = serde_json::from_str(r#"{"env": "API_KEY"}"#).unwrap();
/// assert_eq!(from_env, HeaderSource::Env("API_KEY".into()));
/// let literal: HeaderSource = serde_json::from_str(r#""team-a""#).unwrap();
/// assert_eq!(literal, HeaderSource::Value("team-a".into()));
/// ```
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "RawSource")]
#[non_exhaustive]
pub enum HeaderSource {
    /// The value itself, written in the configuration.
    Value(String),
    /// The contents of this file, without the trailing line break (a mounted Secret).
    File(PathBuf),
    /// The value of this environment variable.
    Env(String),
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RawSource {
    Value(String),
    Reference(Reference),
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Reference {
    File(PathBuf),
    Env(String),
}

impl From<RawSource> for HeaderSource {
    fn from(raw: RawSource) -> Self {
        match raw {
            RawSource::Value(value) => HeaderSource::Value(value),
            RawSource::Reference(Reference::File(path)) => HeaderSource::File(path),
            RawSource::Reference(Reference::Env(var)) => HeaderSource::Env(var),
        }
    }
}

impl fmt::Debug for HeaderSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderSource::Value(_) => f.write_str("Value(<redacted>)"),
            HeaderSource::File(path) => f.debug_tuple("File").field(path).finish(),
            HeaderSource::Env(var) => f.debug_tuple("Env").field(var).finish(),
        }
    }
}

/// Reads a header's value once, at start-up, and checks its name and value.
pub(crate) fn resolve(
    name: &str,
    source: &HeaderSource,
) -> Result<(HeaderName, HeaderValue), HttpConfigError> {
    let header =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpConfigError::HeaderName {
            name: name.to_owned(),
        })?;
    let raw = match source {
        HeaderSource::Value(value) => value.clone(),
        HeaderSource::File(path) => std::fs::read_to_string(path)
            .map_err(|source| HttpConfigError::HeaderFile {
                name: name.to_owned(),
                path: path.clone(),
                source,
            })?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        HeaderSource::Env(var) => std::env::var(var).map_err(|_| HttpConfigError::HeaderEnv {
            name: name.to_owned(),
            var: var.clone(),
        })?,
    };
    let mut value = HeaderValue::from_str(&raw).map_err(|_| HttpConfigError::HeaderValue {
        name: name.to_owned(),
    })?;
    value.set_sensitive(true);
    Ok((header, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_file_source_from_configuration() {
        let source: HeaderSource = serde_json::from_str(r#"{"file": "/run/key"}"#).unwrap();
        assert_eq!(source, HeaderSource::File("/run/key".into()));
        assert!(serde_json::from_str::<HeaderSource>(r#"{"vault": "x"}"#).is_err());
    }

    #[test]
    fn debug_never_shows_a_literal_value() {
        let source = HeaderSource::Value("s3cret-token".into());
        assert_eq!(format!("{source:?}"), "Value(<redacted>)");
        let (_, value) = resolve("x-api-key", &source).unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("s3cret"));
    }

    #[test]
    fn a_file_value_loses_its_trailing_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "Bearer abc\n").unwrap();
        let (name, value) = resolve("Authorization", &HeaderSource::File(path)).unwrap();
        assert_eq!(name, "authorization");
        assert_eq!(value, "Bearer abc");
    }

    #[test]
    fn a_missing_file_or_variable_names_the_header() {
        let error = resolve("x-key", &HeaderSource::File("/nonexistent/token".into())).unwrap_err();
        assert!(error.to_string().contains("x-key"), "{error}");
        let error = resolve(
            "x-key",
            &HeaderSource::Env("EVENT_KEEPER_SURELY_UNSET_VARIABLE".into()),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("EVENT_KEEPER_SURELY_UNSET_VARIABLE"),
            "{error}"
        );
    }

    #[test]
    fn a_value_with_a_line_break_is_refused_without_showing_it() {
        let error = resolve("x-key", &HeaderSource::Value("abc\r\nx-evil: 1".into())).unwrap_err();
        assert!(matches!(error, HttpConfigError::HeaderValue { .. }));
        assert!(!error.to_string().contains("abc"), "{error}");
        assert!(resolve("bad name", &HeaderSource::Value("v".into())).is_err());
    }
}
