//! Forwarding one request to moto over HTTP/1.1 and reading its whole answer.
//!
//! moto (werkzeug) closes every connection after one answer, so each request gets a
//! connection of its own; the client's connection to the proxy stays kept alive.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long moto may take to answer one request before the proxy gives up.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Why moto could not be asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// The endpoint given to `StrictProxy::start` is not `http://host:port`.
    #[error("upstream endpoint {0:?} is not an http://host:port URL")]
    Endpoint(String),
    /// Nothing listens there (moto stopped or restarting).
    #[error("could not connect to moto at {authority}: is it running?")]
    Connect {
        authority: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection broke before a whole answer arrived.
    #[error("moto's answer could not be read")]
    Http(#[from] hyper::Error),
    /// moto took longer than a minute.
    #[error("moto did not answer within {UPSTREAM_TIMEOUT:?}")]
    Timeout,
}

/// The `host:port` to connect to for `endpoint` (`http://127.0.0.1:4566/` and the like).
pub(crate) fn authority(endpoint: &str) -> Result<String, UpstreamError> {
    let uri: Uri = endpoint
        .parse()
        .map_err(|_| UpstreamError::Endpoint(endpoint.to_owned()))?;
    match (uri.scheme_str(), uri.authority(), uri.port_u16()) {
        (Some("http"), Some(authority), Some(_)) => Ok(authority.as_str().to_owned()),
        (Some("http"), Some(authority), None) => Ok(format!("{}:80", authority.host())),
        _ => Err(UpstreamError::Endpoint(endpoint.to_owned())),
    }
}

/// Sends `head` with `body` to moto at `authority` and returns its answer with the whole
/// body read. Headers are passed on as they came (the SDK's `Host` and signature included)
/// except hop-by-hop ones; `Content-Length` is set for `body`, which may be rewritten.
pub(crate) async fn forward(
    authority: &str,
    head: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Bytes>, UpstreamError> {
    tokio::time::timeout(UPSTREAM_TIMEOUT, send(authority, head, body))
        .await
        .map_err(|_| UpstreamError::Timeout)?
}

async fn send(
    authority: &str,
    head: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Bytes>, UpstreamError> {
    let stream = TcpStream::connect(authority)
        .await
        .map_err(|source| UpstreamError::Connect {
            authority: authority.to_owned(),
            source,
        })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "connection to moto ended");
        }
    });

    let path = head
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let mut request = Request::new(Full::new(body.clone()));
    *request.method_mut() = head.method.clone();
    *request.uri_mut() = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
    *request.headers_mut() = end_to_end(&head.headers);
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if !request.headers().contains_key(header::HOST)
        && let Ok(host) = HeaderValue::from_str(authority)
    {
        request.headers_mut().insert(header::HOST, host);
    }

    let response = sender.send_request(request).await?;
    let (mut parts, incoming) = response.into_parts();
    let bytes = incoming.collect().await?.to_bytes();
    parts.headers = end_to_end(&parts.headers);
    Ok(Response::from_parts(parts, bytes))
}

/// `headers` without the hop-by-hop ones (RFC 9110 §7.6.1) and without `Content-Length`,
/// which the sender sets for the body it sends. moto's `Connection: close` must not reach
/// the client, whose connection to the proxy stays open.
pub(crate) fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    let named_by_connection: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let hop = HOP_BY_HOP.contains(&name.as_str()) || named_by_connection.contains(name);
        if !hop && name != header::CONTENT_LENGTH && name != header::EXPECT {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_comes_from_an_http_endpoint() {
        assert_eq!(
            authority("http://127.0.0.1:5000").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            authority("http://127.0.0.1:5000/").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(authority("http://localhost").unwrap(), "localhost:80");
        assert!(authority("https://logs.us-east-1.amazonaws.com").is_err());
        assert!(authority("not a url").is_err());
    }

    #[test]
    fn hop_by_hop_headers_and_the_length_are_not_passed_on() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:1"));
        headers.insert("x-amz-target", HeaderValue::from_static("Logs_20140328.X"));
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-extra"),
        );
        headers.insert("x-extra", HeaderValue::from_static("1"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        let kept = end_to_end(&headers);
        let mut names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["host", "x-amz-target"]);
    }
}
