//! [`WebhookSinkConfig`]: where and how batches are posted, validated in one step.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::encode::Format;
use crate::idempotency::DEFAULT_IDEMPOTENCY_HEADER;
use crate::secret::{Auth, HeaderValue};

/// The default most events in one request.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 500;
/// The default most bytes in one request body (before gzip): 1 MiB, under the body limits of
/// common receivers and proxies (nginx's default `client_max_body_size` is 1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The default bound of connecting (TCP and TLS), in seconds.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
/// The default bound of one request, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// The default bound of one `send`, in seconds: under the pipeline's own 60 s `sink_timeout`.
pub const DEFAULT_SEND_TIMEOUT_SECS: u64 = 45;
const MAX_TIMEOUT_SECS: u64 = 600;
const MAX_EVENTS: usize = 10_000;
const MIN_BODY_BYTES: usize = 1024;
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Headers the sink sets itself; a configured one would contradict the body.
const RESERVED_HEADERS: [&str; 5] = [
    "content-type",
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "host",
];

/// Settings of the [`WebhookSink`](crate::WebhookSink).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `url` | required | `http://` or `https://` URL every batch is POSTed to |
/// | `format` | `json` | `json` (one array of records per request) or `ndjson` (one record per line) |
/// | `headers` | none | extra headers: `name: value`, or `name: {file: PATH}` / `name: {env: VAR}` for secrets |
/// | `auth` | none | `{bearer: {file: PATH}}`, `{bearer: {env: VAR}}`, or `{basic: {username: U, password: {file: PATH} or {env: VAR}}}` |
/// | `gzip` | `false` | compress bodies (`Content-Encoding: gzip`) |
/// | `ca_file` | none | PEM bundle of CA certificates trusted besides the system's (a private CA) |
/// | `idempotency_header` | `Idempotency-Key` | name of the header carrying each request's [idempotency key](crate::idempotency_key) |
/// | `max_batch_events` | `500` | most records in one request (1-10,000) |
/// | `max_body_bytes` | `1048576` | most bytes in one body before gzip (1024 to 64 MiB); a record larger than this alone is rejected |
/// | `connect_timeout_secs` | `10` | bound of connecting, TCP and TLS (1-600) |
/// | `timeout_secs` | `10` | bound of one request (1-600); past it the batch may have been stored, and is sent again |
/// | `send_timeout_secs` | `45` | bound of one whole `send` (at least `timeout_secs`, at most 600) |
///
/// Secrets (tokens, passwords, header values from a file or a variable) are read once when
/// the sink starts, marked sensitive, and never logged; logs name the URL's scheme, host and
/// port only, since webhook URLs often carry a token in their path.
///
/// ```
/// use sink_webhook::{Format, WebhookSinkConfig};
///
/// let config = WebhookSinkConfig::from_json(r#"{
///     "url": "https://hooks.example.com/k8s-events",
///     "format": "ndjson",
///     "headers": {"X-Team": "platform", "X-Api-Key": {"env": "HOOK_API_KEY"}},
///     "auth": {"bearer": {"file": "/var/run/secrets/hook/token"}},
///     "gzip": true
/// }"#)?;
/// assert_eq!(config.format, Format::Ndjson);
/// assert_eq!(config.idempotency_header, "Idempotency-Key");
/// # Ok::<(), sink_webhook::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct WebhookSinkConfig {
    /// Where every batch is POSTed.
    pub url: String,
    /// How the records are written in a body.
    pub format: Format,
    /// Extra headers, by name.
    pub headers: BTreeMap<String, HeaderValue>,
    /// The `Authorization` header, from a secret.
    pub auth: Option<Auth>,
    /// Whether bodies are gzip-compressed.
    pub gzip: bool,
    /// A PEM bundle of CA certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// The name of the header carrying the idempotency key.
    pub idempotency_header: String,
    /// Most records in one request.
    pub max_batch_events: usize,
    /// Most bytes in one body, before gzip.
    pub max_body_bytes: usize,
    /// Bound of connecting, in seconds.
    pub connect_timeout_secs: u64,
    /// Bound of one request, in seconds.
    pub timeout_secs: u64,
    /// Bound of one `send`, in seconds.
    pub send_timeout_secs: u64,
}

impl Default for WebhookSinkConfig {
    fn default() -> Self {
        WebhookSinkConfig {
            url: String::new(),
            format: Format::default(),
            headers: BTreeMap::new(),
            auth: None,
            gzip: false,
            ca_file: None,
            idempotency_header: DEFAULT_IDEMPOTENCY_HEADER.to_owned(),
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            send_timeout_secs: DEFAULT_SEND_TIMEOUT_SECS,
        }
    }
}

impl WebhookSinkConfig {
    /// The default settings posting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookSinkConfig {
            url: url.into(),
            ..WebhookSinkConfig::default()
        }
    }

    /// Sets [`format`](Self::format).
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Adds one header to [`headers`](Self::headers).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: HeaderValue) -> Self {
        self.headers.insert(name.into(), value);
        self
    }

    /// Sets [`auth`](Self::auth).
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets [`gzip`](Self::gzip).
    #[must_use]
    pub fn gzip(mut self, yes: bool) -> Self {
        self.gzip = yes;
        self
    }

    /// Sets [`ca_file`](Self::ca_file).
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets [`idempotency_header`](Self::idempotency_header).
    #[must_use]
    pub fn idempotency_header(mut self, name: impl Into<String>) -> Self {
        self.idempotency_header = name.into();
        self
    }

    /// Sets [`max_batch_events`](Self::max_batch_events).
    #[must_use]
    pub fn max_batch_events(mut self, events: usize) -> Self {
        self.max_batch_events = events;
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`connect_timeout_secs`](Self::connect_timeout_secs).
    #[must_use]
    pub fn connect_timeout_secs(mut self, secs: u64) -> Self {
        self.connect_timeout_secs = secs;
        self
    }

    /// Sets [`timeout_secs`](Self::timeout_secs).
    #[must_use]
    pub fn timeout_secs(mut self, secs: u64) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Sets [`send_timeout_secs`](Self::send_timeout_secs).
    #[must_use]
    pub fn send_timeout_secs(mut self, secs: u64) -> Self {
        self.send_timeout_secs = secs;
        self
    }

    /// The bound of one request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The bound of one `send`.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs)
    }

    /// Parses and validates a config written in JSON.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`] for malformed JSON, an unknown key or a value of the wrong shape
    /// (the message names the key), and the errors of [`validate`](Self::validate).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: WebhookSinkConfig =
            serde_json::from_str(json).map_err(|source| ConfigError::Syntax { source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting at once, before anything is read or sent. Secrets are not read
    /// here (a `--check-config` run may lack them); the sink reads them when it starts.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the first key whose value cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_url()?;
        let invalid =
            |key: &'static str, problem: String| Err(ConfigError::Invalid { key, problem });
        if !is_header_name(&self.idempotency_header) {
            return invalid(
                "idempotency_header",
                format!(
                    "is {:?}; use a header name such as Idempotency-Key (letters, digits and '-')",
                    self.idempotency_header
                ),
            );
        }
        for name in self.headers.keys() {
            let lower = name.to_ascii_lowercase();
            if !is_header_name(name) {
                return invalid(
                    "headers",
                    format!(
                        "has {name:?}, which is not a header name; use letters, digits and '-'"
                    ),
                );
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return invalid(
                    "headers",
                    format!(
                        "sets {name}, which the sink sets itself from `format` and `gzip`; remove it"
                    ),
                );
            }
            if lower == self.idempotency_header.to_ascii_lowercase() {
                return invalid(
                    "headers",
                    format!(
                        "sets {name}, the idempotency header the sink sets per request; remove it or rename `idempotency_header`"
                    ),
                );
            }
            if lower == "authorization" && self.auth.is_some() {
                return invalid(
                    "headers",
                    "sets Authorization and `auth` sets it too; keep one".to_owned(),
                );
            }
        }
        if let Some(auth) = &self.auth {
            auth.validate().map_err(|problem| ConfigError::Invalid {
                key: "auth",
                problem,
            })?;
        }
        for (name, value) in &self.headers {
            value.validate().map_err(|problem| ConfigError::Invalid {
                key: "headers",
                problem: format!("{name}: {problem}"),
            })?;
        }
        if !(1..=MAX_EVENTS).contains(&self.max_batch_events) {
            return invalid(
                "max_batch_events",
                format!("is {}; use 1 to {MAX_EVENTS}", self.max_batch_events),
            );
        }
        if !(MIN_BODY_BYTES..=MAX_BODY_BYTES).contains(&self.max_body_bytes) {
            return invalid(
                "max_body_bytes",
                format!(
                    "is {}; use {MIN_BODY_BYTES} to {MAX_BODY_BYTES} (64 MiB)",
                    self.max_body_bytes
                ),
            );
        }
        for (key, secs) in [
            ("connect_timeout_secs", self.connect_timeout_secs),
            ("timeout_secs", self.timeout_secs),
            ("send_timeout_secs", self.send_timeout_secs),
        ] {
            if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
                return invalid(
                    key,
                    format!("is {secs}; use 1 to {MAX_TIMEOUT_SECS} seconds"),
                );
            }
        }
        if self.send_timeout_secs < self.timeout_secs {
            return invalid(
                "send_timeout_secs",
                format!(
                    "is {}, below timeout_secs ({}); one send makes at least one request",
                    self.send_timeout_secs, self.timeout_secs
                ),
            );
        }
        Ok(())
    }

    fn check_url(&self) -> Result<(), ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid {
            key: "url",
            problem,
        };
        if self.url.trim().is_empty() {
            return Err(invalid(
                "is missing; set the http:// or https:// URL the batches are POSTed to".to_owned(),
            ));
        }
        let lower = self.url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Err(invalid(
                "does not start with http:// or https://; write e.g. https://hooks.example.com/k8s-events".to_owned(),
            ));
        }
        let uri: http::Uri = self.url.parse().map_err(|_| {
            invalid("is not a URL; write e.g. https://hooks.example.com/k8s-events".to_owned())
        })?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(invalid(
                "has no host; write e.g. https://hooks.example.com/k8s-events".to_owned(),
            ));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(invalid(
                "holds credentials (user:password@); use `auth` with a file or an environment variable instead".to_owned(),
            ));
        }
        Ok(())
    }

    /// The URL without its path and query, for logs: `https://hooks.example.com:443`.
    pub fn endpoint_for_logs(&self) -> String {
        match self.url.parse::<http::Uri>() {
            Ok(uri) => format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("?"),
                uri.authority().map_or("?", |a| a.as_str())
            ),
            Err(_) => "<invalid url>".to_owned(),
        }
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty() && http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// Why a [`WebhookSinkConfig`] cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JSON is malformed, has an unknown key, or a value of the wrong shape.
    #[error("webhook sink config cannot be read: {source}")]
    Syntax {
        /// The parser's error, naming the key and the position.
        #[source]
        source: serde_json::Error,
    },
    /// A value cannot work.
    #[error("webhook sink config `{key}` {problem}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong and what to write instead.
        problem: String,
    },
}

impl ConfigError {
    /// The key that [`Invalid`](ConfigError::Invalid) names.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Syntax { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests;
