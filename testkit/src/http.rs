//! A plain HTTP/1.1 GET, for probing the health and metrics endpoints in tests and benches.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` over a fresh HTTP/1.1 connection: the status code and the body; `(0, error)`
/// when nothing answers within 10 seconds or the answer is not HTTP.
///
/// ```no_run
/// # async fn probe(addr: std::net::SocketAddr) {
/// let (status, body) = testkit::http::get(addr, "/readyz").await;
/// assert_eq!(status, 200, "{body}");
/// # }
/// ```
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return (0, error.to_string()),
        Err(_) => return (0, "timed out".into()),
    };
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        return (0, response);
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}
