//! [`HttpClient`]: one pooled HTTP/1.1 client (plain or rustls), its headers, gzip and timeouts.

use std::fmt;
use std::io::Write as _;
use std::time::Duration;

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

use crate::{HttpConfigError, HttpOptions, classify, header as headers, tls};

/// The most of an answer's body that is read; collectors answer a few bytes.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("event-keeper/", env!("CARGO_PKG_VERSION"));

/// An answer with its whole body read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (at most 1 MiB of it).
    pub body: Bytes,
}

impl HttpResponse {
    /// An answer from its parts, for tests of code that reads answers.
    pub fn new(status: StatusCode, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        HttpResponse {
            status,
            headers,
            body: body.into(),
        }
    }
}

/// A pooled HTTP/1.1 client, plain or TLS (rustls), that posts bodies with the configured
/// headers, gzip and timeouts. Cheap to clone; `Debug` never shows header values.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    headers: HeaderMap,
    gzip: bool,
    request_timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("gzip", &self.gzip)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `options`: reads the CA bundle and the header values once, now.
    ///
    /// # Errors
    ///
    /// [`HttpConfigError`] naming the setting that is wrong: an unreadable CA bundle or
    /// header file, an unset variable, an invalid header name or value, no crypto provider.
    pub fn new(options: &HttpOptions) -> Result<Self, HttpConfigError> {
        let mut headers = HeaderMap::with_capacity(options.headers.len());
        for (name, source) in &options.headers {
            let (name, value) = headers::resolve(name, source)?;
            headers.append(name, value);
        }
        let tls = tls::client_config(options.ca_file.as_deref())?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(HttpClient {
            client,
            headers,
            gzip: options.gzip,
            request_timeout: options.request_timeout,
        })
    }

    /// Whether request bodies are gzipped.
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// POSTs `body` to `uri` and reads the answer, classified by [`classify`](crate::classify):
    /// `Ok` only for 2xx.
    ///
    /// # Errors
    ///
    /// As [`exchange`](Self::exchange), and the errors of [`classify`](crate::classify).
    pub async fn post(
        &self,
        uri: &Uri,
        content_type: &str,
        body: Vec<u8>,
        extra_headers: &[(HeaderName, HeaderValue)],
    ) -> Result<HttpResponse, SinkError> {
        classify(
            self.exchange(uri, content_type, body, extra_headers)
                .await?,
        )
    }

    /// POSTs `body` to `uri` (gzipped if configured, with the configured headers, then
    /// `extra_headers`) and reads the answer whatever its status.
    ///
    /// # Errors
    ///
    /// - retryable when no connection could be made (nothing was sent);
    /// - [`SinkError::maybe_stored`] when the request timeout elapsed or the connection was
    ///   lost after connecting: the server may have stored the request.
    pub async fn exchange(
        &self,
        uri: &Uri,
        content_type: &str,
        body: Vec<u8>,
        extra_headers: &[(HeaderName, HeaderValue)],
    ) -> Result<HttpResponse, SinkError> {
        let request = self.request(uri, content_type, body, extra_headers)?;
        let bytes_sent = request.body().size_hint_exact();
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                if error.is_connect() {
                    SinkError::retryable(format!("could not connect to {}", redact(uri)), error)
                } else {
                    SinkError::maybe_stored(
                        format!(
                            "the connection to {} was lost before an answer",
                            redact(uri)
                        ),
                        error,
                    )
                }
            })?;
            let (parts, incoming) = response.into_parts();
            let body = Limited::new(incoming, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|error| {
                    SinkError::maybe_stored(
                        format!("the answer from {} could not be read", redact(uri)),
                        error,
                    )
                })?
                .to_bytes();
            Ok::<_, SinkError>(HttpResponse::new(parts.status, parts.headers, body))
        };
        let response = tokio::time::timeout(self.request_timeout, exchange)
            .await
            .map_err(|elapsed| {
                SinkError::maybe_stored(
                    format!(
                        "no answer from {} within {:?}",
                        redact(uri),
                        self.request_timeout
                    ),
                    elapsed,
                )
            })??;
        tracing::debug!(
            uri = %redact(uri),
            status = response.status.as_u16(),
            bytes_sent,
            bytes_received = response.body.len(),
            "http exchange"
        );
        Ok(response)
    }

    fn request(
        &self,
        uri: &Uri,
        content_type: &str,
        body: Vec<u8>,
        extra_headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Request<Full<Bytes>>, SinkError> {
        let body = if self.gzip { gzip(&body)? } else { body };
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri.clone();
        let map = request.headers_mut();
        let content_type = HeaderValue::from_str(content_type).map_err(|error| {
            SinkError::fatal(format!("invalid content type {content_type:?}"), error)
        })?;
        map.insert(header::CONTENT_TYPE, content_type);
        map.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        if self.gzip {
            map.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        for (name, value) in &self.headers {
            map.append(name.clone(), value.clone());
        }
        for (name, value) in extra_headers {
            map.insert(name.clone(), value.clone());
        }
        Ok(request)
    }
}

/// `body` gzipped at the fast level: request bodies of JSON or protobuf shrink 5-10x either way.
fn gzip(body: &[u8]) -> Result<Vec<u8>, SinkError> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map_err(|error| SinkError::retryable("gzip of the request body failed", error))
}

/// `uri` as `scheme://host:port`, for logs and errors: user info, path and query may all carry
/// credentials (chat webhooks put their token in the path).
fn redact(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

trait SizeHintExact {
    fn size_hint_exact(&self) -> u64;
}

impl SizeHintExact for Full<Bytes> {
    fn size_hint_exact(&self) -> u64 {
        hyper::body::Body::size_hint(self).exact().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    use crate::HeaderSource;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    /// A server that reads one request, answers `answer` (or nothing, when `None`, holding the
    /// connection), and hands the request bytes back.
    async fn one_shot(answer: Option<&'static str>) -> (Uri, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}/v1/logs", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
                if n == 0 || complete(&request) {
                    break;
                }
            }
            match answer {
                Some(answer) => stream.write_all(answer.as_bytes()).await.unwrap(),
                None => tokio::time::sleep(Duration::from_secs(30)).await,
            }
            request
        });
        (uri, task)
    }

    fn complete(request: &[u8]) -> bool {
        let text = String::from_utf8_lossy(request);
        let Some((head, _)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let length: usize = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        let head_len = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        request.len() >= head_len + length
    }

    #[tokio::test]
    async fn posts_gzipped_with_the_configured_headers() {
        let (uri, server) = one_shot(Some("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")).await;
        let options = HttpOptions::default()
            .gzip(true)
            .header("x-api-key", HeaderSource::Value("k1".into()));
        let client = HttpClient::new(&options).unwrap();
        assert!(!format!("{client:?}").contains("k1"));
        let response = client
            .post(&uri, "application/json", b"[1,2,3]".to_vec(), &[])
            .await
            .unwrap();
        assert_eq!(response.body, "ok");
        let request = server.await.unwrap();
        let head_len = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&request[..head_len]).to_ascii_lowercase();
        assert!(head.starts_with("post /v1/logs http/1.1"), "{head}");
        assert!(head.contains("x-api-key: k1"), "{head}");
        assert!(head.contains("content-encoding: gzip"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&request[head_len..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "[1,2,3]");
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable_and_not_maybe_stored() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(listener);
        let client = HttpClient::new(&HttpOptions::default()).unwrap();
        let error = client
            .post(&uri, "text/plain", vec![], &[])
            .await
            .unwrap_err();
        assert!(error.is_retryable(), "{error}");
        assert!(!error.is_maybe_stored(), "{error}");
    }

    #[tokio::test]
    async fn no_answer_within_the_timeout_is_maybe_stored() {
        let (uri, server) = one_shot(None).await;
        let options = HttpOptions::default().request_timeout(Duration::from_millis(200));
        let client = HttpClient::new(&options).unwrap();
        let error = client
            .post(&uri, "text/plain", b"x".to_vec(), &[])
            .await
            .unwrap_err();
        assert!(error.is_maybe_stored(), "{error}");
        server.abort();
    }

    #[tokio::test]
    async fn a_connection_closed_after_the_request_is_maybe_stored() {
        let (uri, server) = one_shot(Some("")).await;
        let client = HttpClient::new(&HttpOptions::default()).unwrap();
        let error = client
            .post(&uri, "text/plain", b"x".to_vec(), &[])
            .await
            .unwrap_err();
        assert!(error.is_maybe_stored(), "{error}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_throttling_answer_is_retryable_with_its_delay() {
        let (uri, _server) = one_shot(Some(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: 4\r\n\r\nslow",
        ))
        .await;
        let client = HttpClient::new(&HttpOptions::default()).unwrap();
        let error = client
            .post(&uri, "text/plain", b"x".to_vec(), &[])
            .await
            .unwrap_err();
        let SinkError::Retryable {
            retry_after,
            maybe_stored,
            ..
        } = error
        else {
            panic!("not retryable: {error}");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(3)));
        assert!(!maybe_stored);
    }

    #[test]
    fn errors_never_show_credentials_in_the_uri() {
        let uri: Uri = "https://user:pw@collector:4318/v1/logs?token=abc"
            .parse()
            .unwrap();
        assert_eq!(redact(&uri), "https://collector:4318");
        let uri: Uri = "https://hooks.example.com/services/T0/B0/s3cret"
            .parse()
            .unwrap();
        assert_eq!(redact(&uri), "https://hooks.example.com");
    }
}
