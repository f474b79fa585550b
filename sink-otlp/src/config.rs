//! [`OtlpSinkConfig`]: the sink's settings (`sinks[].type: otlp`), their defaults and checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use http::Uri;
use serde::Deserialize;
use sink_http::{HeaderSource, HttpOptions};

/// The path of the logs signal under the collector's base URL (OTLP/HTTP specification,
/// "OTLP/HTTP Request": `/v1/logs`).
pub const LOGS_PATH: &str = "/v1/logs";

/// Log records per request by default: the OpenTelemetry Collector's batch processor sends
/// 8,192 by default; a smaller request keeps one refusal or retry cheap.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 1_000;

/// Bytes per request by default (counted as the events' JSON, larger than their protobuf): a
/// quarter of the Collector's default `max_request_body_size` of 20 MiB for OTLP/HTTP.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 << 20;

/// The `service.name` resource attribute by default.
pub const DEFAULT_SERVICE_NAME: &str = "event-keeper";

/// How records are encoded on the wire (`encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Encoding {
    /// `application/x-protobuf`, the OTLP/HTTP default every receiver accepts.
    #[default]
    Protobuf,
    /// `application/json` (OTLP/JSON); needs the crate's `json` feature.
    Json,
}

/// The settings of an [`OtlpSink`](crate::OtlpSink), as `sinks[]` entries of `type: otlp`
/// write them. Only `endpoint` is required.
///
/// | Key | Default | Meaning |
/// |---|---|---|
/// | `endpoint` | required | The collector's base URL, e.g. `http://otel-collector:4318`; records go to `{endpoint}/v1/logs` |
/// | `encoding` | `protobuf` | `protobuf` or `json` |
/// | `gzip` | `true` | gzip request bodies |
/// | `headers` | none | extra headers: `name: value`, `name: {file: PATH}` or `name: {env: VAR}`; values never logged |
/// | `ca_file` | none | PEM CA bundle trusted besides the platform's roots |
/// | `connect_timeout_secs` | 10 | TCP connect timeout |
/// | `timeout_secs` | 30 | timeout of one whole request |
/// | `service_name` | `event-keeper` | the `service.name` resource attribute |
/// | `cluster_name` | the pipeline's cluster name | the `k8s.cluster.name` resource attribute |
/// | `max_batch_events` | 1000 | log records per request |
/// | `max_batch_bytes` | 4 MiB | bytes per request, counted as the events' JSON |
///
/// ```
/// let config: sink_otlp::OtlpSinkConfig = serde_json::from_str(
///     r#"{"endpoint": "http://otel-collector:4318", "headers": {"x-api-key": {"env": "OTLP_KEY"}}}"#,
/// ).unwrap();
/// config.validate().unwrap();
/// assert_eq!(config.logs_uri().unwrap().path(), "/v1/logs");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OtlpSinkConfig {
    /// The collector's base URL (`http://` or `https://`), without `/v1/logs`.
    pub endpoint: String,
    /// How records are encoded.
    #[serde(default)]
    pub encoding: Encoding,
    /// Whether request bodies are gzipped.
    #[serde(default = "yes")]
    pub gzip: bool,
    /// Extra headers (API keys, tenant ids); values are never logged.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderSource>,
    /// A PEM CA bundle trusted besides the platform's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// TCP connect timeout in seconds.
    #[serde(default = "connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Timeout of one whole request in seconds.
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
    /// The `service.name` resource attribute.
    #[serde(default = "service_name")]
    pub service_name: String,
    /// The `k8s.cluster.name` resource attribute; the events' own cluster name when unset.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// Log records per request.
    #[serde(default = "max_batch_events")]
    pub max_batch_events: usize,
    /// Bytes per request, counted as the events' JSON.
    #[serde(default = "max_batch_bytes")]
    pub max_batch_bytes: usize,
}

fn yes() -> bool {
    true
}
fn connect_timeout_secs() -> u64 {
    sink_http::DEFAULT_CONNECT_TIMEOUT.as_secs()
}
fn timeout_secs() -> u64 {
    sink_http::DEFAULT_REQUEST_TIMEOUT.as_secs()
}
fn service_name() -> String {
    DEFAULT_SERVICE_NAME.to_owned()
}
fn max_batch_events() -> usize {
    DEFAULT_MAX_BATCH_EVENTS
}
fn max_batch_bytes() -> usize {
    DEFAULT_MAX_BATCH_BYTES
}

/// A setting of [`OtlpSinkConfig`] that cannot work, with what to write instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpConfigError {
    /// `endpoint` is not an `http(s)://host[:port][/path]` URL.
    #[error(
        "endpoint {0:?} is not an http:// or https:// URL with a host; write the collector's base URL, e.g. http://otel-collector:4318"
    )]
    Endpoint(String),
    /// `endpoint` already ends in `/v1/logs`.
    #[error(
        "endpoint {0:?} ends in /v1/logs, which the sink adds itself; write the base URL, e.g. http://otel-collector:4318"
    )]
    EndpointWithSignalPath(String),
    /// `encoding: json` without the `json` feature.
    #[error("encoding json needs sink-otlp's `json` feature; use encoding: protobuf")]
    JsonNotBuilt,
    /// A number that must be positive is zero.
    #[error("{0} is 0; it must be at least 1")]
    Zero(&'static str),
}

impl OtlpSinkConfig {
    /// Settings with `endpoint` and every default.
    pub fn new(endpoint: impl Into<String>) -> Self {
        OtlpSinkConfig {
            endpoint: endpoint.into(),
            encoding: Encoding::default(),
            gzip: true,
            headers: BTreeMap::new(),
            ca_file: None,
            connect_timeout_secs: connect_timeout_secs(),
            timeout_secs: timeout_secs(),
            service_name: service_name(),
            cluster_name: None,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        }
    }

    /// Checks every setting that can be checked without the network.
    ///
    /// # Errors
    ///
    /// The first [`OtlpConfigError`] found.
    pub fn validate(&self) -> Result<(), OtlpConfigError> {
        self.logs_uri()?;
        if self.encoding == Encoding::Json && !cfg!(feature = "json") {
            return Err(OtlpConfigError::JsonNotBuilt);
        }
        for (name, value) in [
            ("connect_timeout_secs", self.connect_timeout_secs),
            ("timeout_secs", self.timeout_secs),
            ("max_batch_events", self.max_batch_events as u64),
            ("max_batch_bytes", self.max_batch_bytes as u64),
        ] {
            if value == 0 {
                return Err(OtlpConfigError::Zero(name));
            }
        }
        Ok(())
    }

    /// `{endpoint}/v1/logs`.
    ///
    /// # Errors
    ///
    /// [`OtlpConfigError::Endpoint`] or [`OtlpConfigError::EndpointWithSignalPath`].
    pub fn logs_uri(&self) -> Result<Uri, OtlpConfigError> {
        let invalid = || OtlpConfigError::Endpoint(self.endpoint.clone());
        let base: Uri = self.endpoint.parse().map_err(|_| invalid())?;
        let scheme_ok = matches!(base.scheme_str(), Some("http" | "https"));
        if !scheme_ok || base.host().is_none_or(str::is_empty) || base.query().is_some() {
            return Err(invalid());
        }
        let path = base.path().trim_end_matches('/');
        if path.ends_with(LOGS_PATH) {
            return Err(OtlpConfigError::EndpointWithSignalPath(
                self.endpoint.clone(),
            ));
        }
        let authority = base.authority().ok_or_else(invalid)?;
        format!(
            "{}://{}{path}{LOGS_PATH}",
            base.scheme_str().unwrap_or("http"),
            authority
        )
        .parse()
        .map_err(|_| invalid())
    }

    /// The HTTP client settings.
    pub fn http_options(&self) -> HttpOptions {
        let mut options = HttpOptions::default()
            .gzip(self.gzip)
            .connect_timeout(Duration::from_secs(self.connect_timeout_secs))
            .request_timeout(Duration::from_secs(self.timeout_secs));
        if let Some(ca) = &self.ca_file {
            options = options.ca_file(ca);
        }
        for (name, value) in &self.headers {
            options = options.header(name, value.clone());
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logs_path_is_added_to_the_base_url() {
        let uri = OtlpSinkConfig::new("https://otlp.example.com:4318/").logs_uri();
        assert_eq!(uri.unwrap(), "https://otlp.example.com:4318/v1/logs");
        let uri = OtlpSinkConfig::new("http://gw.example/otlp").logs_uri();
        assert_eq!(uri.unwrap(), "http://gw.example/otlp/v1/logs");
    }

    #[test]
    fn an_endpoint_that_is_not_a_base_url_is_refused() {
        for bad in [
            "otel-collector:4318",
            "ftp://x",
            "http://",
            "not a url",
            "http://x/?a=1",
        ] {
            let error = OtlpSinkConfig::new(bad).validate().unwrap_err();
            assert_eq!(error, OtlpConfigError::Endpoint(bad.into()), "{bad}");
        }
        let error = OtlpSinkConfig::new("http://c:4318/v1/logs").validate();
        assert!(matches!(
            error,
            Err(OtlpConfigError::EndpointWithSignalPath(_))
        ));
    }

    #[test]
    fn zero_limits_and_timeouts_are_refused() {
        let mut config = OtlpSinkConfig::new("http://c:4318");
        config.max_batch_events = 0;
        assert_eq!(
            config.validate(),
            Err(OtlpConfigError::Zero("max_batch_events"))
        );
        let mut config = OtlpSinkConfig::new("http://c:4318");
        config.timeout_secs = 0;
        assert_eq!(
            config.validate(),
            Err(OtlpConfigError::Zero("timeout_secs"))
        );
    }
}
