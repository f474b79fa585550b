use std::io::Read as _;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::*;

fn retry_delay(error: &SinkError) -> Option<Duration> {
    match error {
        SinkError::Retryable { retry_after, .. } => *retry_after,
        _ => None,
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<StatusCode, SinkError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    classify(
        "https://hooks.example.com",
        StatusCode::from_u16(status).unwrap(),
        &map,
        body.as_bytes(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
}

#[test]
fn two_hundreds_are_stored() {
    for status in [200, 201, 202, 204] {
        assert!(answer(status, &[], "").is_ok(), "{status}");
    }
}

#[test]
fn timeouts_throttling_and_server_errors_are_retried_after_retry_after() {
    for status in [408, 429, 500, 502, 503, 504] {
        let error = answer(status, &[], "busy").unwrap_err();
        assert!(error.is_retryable(), "{status}");
        assert!(
            !error.is_maybe_stored(),
            "{status}: an error answer stored nothing"
        );
    }
    let error = answer(429, &[("retry-after", "7")], "slow down").unwrap_err();
    assert_eq!(retry_delay(&error), Some(Duration::from_secs(7)));
    // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
    let error = answer(503, &[("retry-after", "Tue, 14 Nov 2023 22:13:50 GMT")], "").unwrap_err();
    assert_eq!(retry_delay(&error), Some(Duration::from_secs(30)));
    let error = answer(503, &[("retry-after", "Mon, 13 Nov 2023 00:00:00 GMT")], "").unwrap_err();
    assert_eq!(
        retry_delay(&error),
        Some(Duration::ZERO),
        "a date in the past"
    );
    let error = answer(503, &[("retry-after", "soon")], "").unwrap_err();
    assert_eq!(
        retry_delay(&error),
        None,
        "an unreadable value leaves the backoff"
    );
}

#[test]
fn other_client_errors_are_fatal_with_the_first_line_of_the_body() {
    let error = answer(400, &[], "\n  invalid record at index 3  \nstack trace ...").unwrap_err();
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("400 Bad Request: invalid record at index 3"),
        "{message}"
    );
    assert!(!message.contains("stack trace"), "{message}");
    let message = answer(401, &[], "bad token").unwrap_err().to_string();
    assert!(message.contains("check the sink's `auth`"), "{message}");
    let message = answer(413, &[], "").unwrap_err().to_string();
    assert!(
        message.contains("(empty body)") && message.contains("max_body_bytes"),
        "{message}"
    );
    assert!(!answer(302, &[], "moved").unwrap_err().is_retryable());
}

#[test]
fn quoted_lines_are_cut_and_lose_control_characters() {
    let line = first_line(format!("\u{1b}[31mred\u{7} {}", "x".repeat(500)).as_bytes());
    assert!(!line.chars().any(char::is_control), "{line:?}");
    assert_eq!(line.chars().count(), MAX_QUOTED_CHARS);
}

#[test]
fn logs_name_the_endpoint_without_path_or_query() {
    let uri: Uri = "https://hooks.example.com/services/T0/B0/s3cret?token=x"
        .parse()
        .unwrap();
    assert_eq!(redact(&uri), "https://hooks.example.com");
    let uri: Uri = "http://127.0.0.1:9000/hook".parse().unwrap();
    assert_eq!(redact(&uri), "http://127.0.0.1:9000");
}

fn transport(gzip: bool, timeout: Duration, headers: Vec<ResolvedHeader>) -> Transport {
    Transport::new(TransportOptions {
        ca_file: None,
        headers,
        gzip,
        connect_timeout: Duration::from_secs(2),
        request_timeout: timeout,
    })
    .unwrap()
}

/// A server that reads one request and answers `answer`, or holds the connection when `None`;
/// hands back what it read.
async fn one_shot(answer: Option<&'static str>) -> (Uri, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri: Uri = format!("http://{}/hook", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !complete(&request) {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
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
    let Some(head_len) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&request[..head_len]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    request.len() >= head_len + 4 + length
}

#[tokio::test]
async fn a_post_carries_the_headers_and_a_gzip_body() {
    let (uri, server) = one_shot(Some("HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")).await;
    let client = transport(
        true,
        Duration::from_secs(5),
        vec![ResolvedHeader {
            name: "authorization".into(),
            value: "Bearer s3cret".into(),
        }],
    );
    assert!(!format!("{client:?}").contains("s3cret"));
    let extra = [(
        HeaderName::from_static("idempotency-key"),
        HeaderValue::from_static("abc"),
    )];
    let status = client
        .post(
            &uri,
            "application/json",
            b"[{\"uid\":\"u\"}]".to_vec(),
            &extra,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED);
    let request = server.await.unwrap();
    let head_len = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&request[..head_len]).to_ascii_lowercase();
    assert!(head.starts_with("post /hook http/1.1"), "{head}");
    for line in [
        "authorization: bearer s3cret",
        "idempotency-key: abc",
        "content-encoding: gzip",
        "content-type: application/json",
        "user-agent: event-keeper/",
    ] {
        assert!(head.contains(line), "{line} missing from {head}");
    }
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&request[head_len..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "[{\"uid\":\"u\"}]");
}

#[tokio::test]
async fn no_answer_in_time_may_have_stored_the_request() {
    let (uri, _server) = one_shot(None).await;
    let client = transport(false, Duration::from_millis(300), Vec::new());
    let error = client
        .post(&uri, "application/json", b"[]".to_vec(), &[])
        .await
        .unwrap_err();
    assert!(error.is_maybe_stored(), "{error}");
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_may_have_stored_the_request() {
    let (uri, _server) = one_shot(Some("")).await;
    let client = transport(false, Duration::from_secs(5), Vec::new());
    let error = client
        .post(&uri, "application/json", b"[]".to_vec(), &[])
        .await
        .unwrap_err();
    assert!(error.is_maybe_stored(), "{error}");
}

#[tokio::test]
async fn a_refused_connection_sent_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri: Uri = format!("http://{}/hook", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    drop(listener);
    let client = transport(false, Duration::from_secs(5), Vec::new());
    let error = client
        .post(&uri, "application/json", b"[]".to_vec(), &[])
        .await
        .unwrap_err();
    assert!(error.is_retryable() && !error.is_maybe_stored(), "{error}");
}

#[test]
fn a_ca_file_without_certificates_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let error = tls_config(Some(&path)).unwrap_err();
    assert!(error.to_string().contains("ca_file"), "{error}");
    let error = tls_config(Some(&dir.path().join("missing.pem"))).unwrap_err();
    assert!(matches!(error, TransportError::CaFile { .. }), "{error}");
}
