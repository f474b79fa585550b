//! The simulated API server on the wire, read with a raw TCP socket: watch lines byte for byte
//! against the recorded stream, chunked framing, and how faults look to a client.

use std::time::Duration;

use serde_json::Value;
use testkit::{NewEvent, SimCluster, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-cluster/");

const PATIENCE: Duration = Duration::from_secs(5);

/// An HTTP/1.1 exchange read by hand.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn get(cluster: &SimCluster, path: &str) -> Raw {
        let addr = cluster.url().trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads until `done(bytes so far)` or the end of the connection; true if `done`.
    async fn read_until(&mut self, done: impl Fn(&[u8]) -> bool) -> bool {
        let mut chunk = [0u8; 8192];
        while !done(&self.buf) {
            let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk))
                .await
                .expect("the server stalled")
                .unwrap_or(0);
            if n == 0 {
                return false;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        true
    }

    async fn read_to_end(&mut self) {
        self.read_until(|_| false).await;
    }

    fn split(&self) -> (String, &[u8]) {
        let at = find(&self.buf, b"\r\n\r\n").expect("no end of headers");
        (
            String::from_utf8_lossy(&self.buf[..at]).to_lowercase(),
            &self.buf[at + 4..],
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body: the data, and whether the terminating zero-length chunk arrived.
fn dechunk(mut body: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(eol) = find(body, b"\r\n") else {
            return (data, false);
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return (data, body[eol + 2..].starts_with(b"\r\n"));
        }
        let start = eol + 2;
        if body.len() < start + size {
            data.extend_from_slice(&body[start..]);
            return (data, false);
        }
        data.extend_from_slice(&body[start..start + size]);
        body = body.get(start + size + 2..).unwrap_or_default();
    }
}

fn lines_in(raw: &Raw) -> usize {
    let (_, body) = raw.split();
    dechunk(body).0.iter().filter(|b| **b == b'\n').count()
}

async fn restore_recorded_watch(cluster: &SimCluster, file: &str) -> String {
    let recorded = std::fs::read_to_string(format!("{FIXTURES}{file}")).unwrap();
    let objects = recorded
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["object"].clone());
    cluster.restore_events(objects).unwrap();
    recorded
}

#[tokio::test]
async fn a_replayed_watch_is_byte_identical_to_the_recorded_stream_in_both_apis() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let recorded_core = restore_recorded_watch(&cluster, "watch-core-v1.jsonl").await;
    let recorded_new =
        std::fs::read_to_string(format!("{FIXTURES}watch-events.k8s.io-v1.jsonl")).unwrap();
    for (path, recorded) in [
        ("/api/v1/namespaces/demo/events", &recorded_core),
        (
            "/apis/events.k8s.io/v1/namespaces/demo/events",
            &recorded_new,
        ),
    ] {
        let want = recorded.lines().count();
        let mut raw = Raw::get(&cluster, &format!("{path}?watch=1&resourceVersion=6141")).await;
        let lines_done = |b: &[u8]| b.windows(4).filter(|w| w == b"}\n\r\n").count() >= want;
        assert!(raw.read_until(lines_done).await);
        let (headers, body) = raw.split();
        assert!(headers.starts_with("http/1.1 200"), "{headers}");
        assert!(headers.contains("transfer-encoding: chunked"));
        assert!(headers.contains("content-type: application/json"));
        let (data, _) = dechunk(body);
        assert_eq!(String::from_utf8(data).unwrap(), *recorded, "{path}");
    }
}

#[tokio::test]
async fn drop_connections_cuts_a_watch_mid_line_without_the_terminating_chunk() {
    let cluster = SimCluster::start(SimConfig::default().bookmark_interval(None))
        .await
        .unwrap();
    let first = cluster.create_event(NewEvent::new("demo", "A"));
    let mut raw = Raw::get(&cluster, "/api/v1/events?watch=true&resourceVersion=0").await;
    assert!(
        raw.read_until(|b| find(b, b"\r\n\r\n").is_some() && find(b, b"}\n").is_some())
            .await
    );
    cluster.drop_connections();
    let second = cluster.create_event(NewEvent::new("demo", "B"));
    raw.read_to_end().await;
    let (_, body) = raw.split();
    let (data, terminated) = dechunk(body);
    assert!(!terminated, "the terminating chunk must not be sent");
    let text = String::from_utf8(data).unwrap();
    let (complete, partial) = text.rsplit_once('\n').unwrap();
    assert!(complete.contains(&first.uid));
    assert!(
        !partial.is_empty() && serde_json::from_str::<Value>(partial).is_err(),
        "half a line: {partial}"
    );
    assert!(
        partial.contains(&second.name),
        "the half line is the next event's: {partial}"
    );
    assert_eq!(cluster.stats().connections_dropped, 1);
}

#[tokio::test]
async fn a_watch_timeout_ends_the_stream_with_the_terminating_chunk() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut raw = Raw::get(&cluster, "/api/v1/events?watch=1&timeoutSeconds=1").await;
    raw.read_to_end().await;
    let (headers, body) = raw.split();
    assert!(headers.starts_with("http/1.1 200"));
    assert!(dechunk(body).1, "a clean end of the stream");
}

#[tokio::test]
async fn force_watch_410_sends_an_error_status_line_then_ends_cleanly() {
    let cluster = SimCluster::start(SimConfig::default().bookmark_interval(None))
        .await
        .unwrap();
    cluster.create_event(NewEvent::new("demo", "A"));
    let mut raw = Raw::get(&cluster, "/apis/events.k8s.io/v1/events?watch=1").await;
    assert!(raw.read_until(|b| find(b, b"}\n").is_some()).await);
    cluster.force_watch_410();
    raw.read_to_end().await;
    let (_, body) = raw.split();
    let (data, terminated) = dechunk(body);
    assert!(terminated);
    let text = String::from_utf8(data).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "ERROR");
    assert_eq!(last["object"]["kind"], "Status");
    assert_eq!(last["object"]["code"], 410);
    assert_eq!(last["object"]["reason"], "Expired");
    assert_eq!(lines_in(&raw), 2);
}

#[tokio::test]
async fn an_unavailable_server_answers_every_request_503_with_a_status_body() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    cluster.set_unavailable(true);
    for path in ["/api/v1/events", "/version", "/api/v1/events?watch=1"] {
        let mut raw = Raw::get(&cluster, path).await;
        raw.read_to_end().await;
        let (headers, body) = raw.split();
        assert!(headers.starts_with("http/1.1 503"), "{path}: {headers}");
        let status: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["code"], 503);
    }
    cluster.set_unavailable(false);
    let mut raw = Raw::get(&cluster, "/version").await;
    raw.read_to_end().await;
    assert!(raw.split().0.starts_with("http/1.1 200"));
}

#[tokio::test]
async fn a_stopped_server_refuses_connections_and_a_restarted_one_accepts_them() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let addr = cluster.url().trim_start_matches("http://").to_owned();
    cluster.stop().await;
    let refused = TcpStream::connect(&addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    cluster.restart().await;
    assert!(TcpStream::connect(&addr).await.is_ok());
}
