//! [`HttpOptions`]: the settings of an [`HttpClient`](crate::HttpClient), with their defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::HeaderSource;

/// How long connecting (TCP and TLS) may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one whole exchange (connect, send, read the answer) may take by default; well
/// under the pipeline's outer timeout for a sink call.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings of an [`HttpClient`](crate::HttpClient).
///
/// | Setting | Default |
/// |---|---|
/// | `ca_file` | none: the platform's roots only |
/// | `headers` | none |
/// | `gzip` | `false` |
/// | `connect_timeout` | [`DEFAULT_CONNECT_TIMEOUT`] (10 s) |
/// | `request_timeout` | [`DEFAULT_REQUEST_TIMEOUT`] (30 s) |
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// A PEM bundle of CA certificates trusted besides the platform's roots (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Extra headers sent with every request, in order; values are never logged.
    pub headers: Vec<(String, HeaderSource)>,
    /// Compress request bodies with gzip (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long one whole exchange may take; past it the call fails as "maybe stored".
    pub request_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            ca_file: None,
            headers: Vec::new(),
            gzip: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl HttpOptions {
    /// Sets [`ca_file`](Self::ca_file).
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Adds a header to [`headers`](Self::headers).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: HeaderSource) -> Self {
        self.headers.push((name.into(), value));
        self
    }

    /// Sets [`gzip`](Self::gzip).
    #[must_use]
    pub fn gzip(mut self, yes: bool) -> Self {
        self.gzip = yes;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}
