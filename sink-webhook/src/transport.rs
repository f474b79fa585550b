//! [`Transport`]: one pooled HTTP/1.1 client (plain, or TLS with rustls), the configured
//! headers, gzip and timeouts, and the reading of an answer into the pipeline's
//! [`SinkError`].
//!
//! | Answer | Result |
//! |---|---|
//! | 2xx | `Ok` |
//! | 408, 429, 5xx | retryable, with `Retry-After` (seconds or an HTTP date) as the delay |
//! | any other status | fatal, with the status and the first line of the body |
//! | could not connect | retryable: nothing was sent |
//! | timeout or connection lost after connecting | [`SinkError::maybe_stored`] |

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use event_core::SinkError;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::secret::ResolvedHeader;

/// The most of an answer's body that is read: receivers answer a few bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("event-keeper/", env!("CARGO_PKG_VERSION"));
/// The longest first line of an error answer quoted in an error.
const MAX_QUOTED_CHARS: usize = 200;

/// What the client needs besides the URL.
pub(crate) struct TransportOptions<'a> {
    pub ca_file: Option<&'a Path>,
    pub headers: Vec<ResolvedHeader>,
    pub gzip: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// A pooled client posting bodies with the configured headers; `Debug` shows header names only.
#[derive(Clone)]
pub(crate) struct Transport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    headers: HeaderMap,
    gzip: bool,
    request_timeout: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("gzip", &self.gzip)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(options: TransportOptions<'_>) -> Result<Self, TransportError> {
        let mut headers = HeaderMap::with_capacity(options.headers.len());
        for h in options.headers {
            let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
                TransportError::HeaderName {
                    name: h.name.clone(),
                }
            })?;
            let mut value =
                HeaderValue::from_str(&h.value).map_err(|_| TransportError::HeaderValue {
                    name: h.name.clone(),
                })?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        let tls = tls_config(options.ca_file)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Transport {
            client: Client::builder(TokioExecutor::new()).build(https),
            headers,
            gzip: options.gzip,
            request_timeout: options.request_timeout,
        })
    }

    /// POSTs `body` (gzipped if configured) with the configured headers and `extra`; `Ok`
    /// with the status only for 2xx.
    pub(crate) async fn post(
        &self,
        uri: &Uri,
        content_type: &'static str,
        body: Vec<u8>,
        extra: &[(HeaderName, HeaderValue)],
    ) -> Result<StatusCode, SinkError> {
        let body = if self.gzip { gzip(&body)? } else { body };
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri.clone();
        let map = request.headers_mut();
        map.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        map.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        if self.gzip {
            map.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        for (name, value) in &self.headers {
            map.append(name.clone(), value.clone());
        }
        for (name, value) in extra {
            map.insert(name.clone(), value.clone());
        }
        let endpoint = redact(uri);
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                if error.is_connect() {
                    SinkError::retryable(format!("could not connect to {endpoint}"), error)
                } else {
                    SinkError::maybe_stored(
                        format!("the connection to {endpoint} was lost before an answer"),
                        error,
                    )
                }
            })?;
            let (parts, incoming) = response.into_parts();
            let body = Limited::new(incoming, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|error| {
                    SinkError::maybe_stored(
                        format!("the answer from {endpoint} could not be read"),
                        error,
                    )
                })?
                .to_bytes();
            Ok::<_, SinkError>((parts.status, parts.headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(self.request_timeout, exchange)
            .await
            .map_err(|elapsed| {
                SinkError::maybe_stored(
                    format!(
                        "no answer from {endpoint} within {:?}",
                        self.request_timeout
                    ),
                    elapsed,
                )
            })??;
        classify(&endpoint, status, &headers, &body, SystemTime::now())
    }
}

/// The answer as the pipeline's result.
pub(crate) fn classify(
    endpoint: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<StatusCode, SinkError> {
    if status.is_success() {
        return Ok(status);
    }
    let line = first_line(body);
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if retryable {
        let error = SinkError::retryable_msg(format!("{endpoint} answered {status}: {line}"));
        return Err(match retry_after(headers, now) {
            Some(delay) => error.with_retry_after(delay),
            None => error,
        });
    }
    let hint = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            "; check the sink's `auth` and `headers` (and the secret they read)"
        }
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "; check the sink's `url`",
        StatusCode::PAYLOAD_TOO_LARGE => "; lower the sink's `max_body_bytes` or set `gzip: true`",
        _ => "",
    };
    Err(SinkError::fatal_msg(format!(
        "{endpoint} answered {status}: {line}{hint}"
    )))
}

/// The first line of an answer's body, trimmed, without control characters, at most 200
/// characters; `(empty body)` when there is none.
pub(crate) fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED_CHARS)
        .collect();
    if line.is_empty() {
        "(empty body)".to_owned()
    } else {
        line
    }
}

/// `Retry-After` as a delay: seconds, or an HTTP date (a date in the past is no delay).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn gzip(body: &[u8]) -> Result<Vec<u8>, SinkError> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map_err(|error| SinkError::retryable("gzip of the request body failed", error))
}

/// `scheme://host:port`: webhook URLs often carry a token in their path or query.
pub(crate) fn redact(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(roots = added, "system CA certificates loaded");
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|source| TransportError::CaFile {
            path: path.to_owned(),
            source,
        })?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| TransportError::CaCertificates {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            roots
                .add(cert)
                .map_err(|e| TransportError::CaCertificates {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            found += 1;
        }
        if found == 0 {
            return Err(TransportError::CaCertificates {
                path: path.to_owned(),
                reason: "no PEM CERTIFICATE block".to_owned(),
            });
        }
    }
    if roots.is_empty() {
        return Err(TransportError::NoRoots);
    }
    let provider = provider()?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TransportError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, TransportError> {
    if let Some(installed) = rustls::crypto::CryptoProvider::get_default() {
        return Ok(installed.clone());
    }
    #[cfg(feature = "aws-lc-rs")]
    {
        Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        Err(TransportError::NoCryptoProvider)
    }
}

/// Why the HTTP client could not be built; each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The CA bundle could not be read.
    #[error("could not read the CA bundle {}: check `ca_file`", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The CA bundle holds no usable certificate.
    #[error("the CA bundle {} holds no usable PEM certificate ({reason}): check `ca_file`", path.display())]
    CaCertificates {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// No trusted root at all.
    #[error(
        "no trusted TLS root certificates: install the system's CA certificates or set `ca_file`"
    )]
    NoRoots,
    /// rustls has no crypto provider.
    #[error(
        "no TLS crypto provider: enable sink-webhook's `aws-lc-rs` feature or install a rustls CryptoProvider"
    )]
    NoCryptoProvider,
    /// rustls refused the settings.
    #[error("the TLS settings were refused")]
    Tls(#[source] rustls::Error),
    /// A header name is invalid.
    #[error("header name {name:?} is not a valid HTTP header name")]
    HeaderName {
        /// The name.
        name: String,
    },
    /// A header value is invalid (not shown).
    #[error("the value of header {name:?} holds characters HTTP headers cannot carry")]
    HeaderValue {
        /// The name.
        name: String,
    },
}

#[cfg(test)]
mod tests;
