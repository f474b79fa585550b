//! A resourceVersion ahead of the server (a checkpoint from before an etcd restore, or from
//! another cluster), answered as the real API server answered it in
//! `fixtures/real-cluster/resource-version-too-large.md`: a watch gets a silent 200 until its
//! timeout, a list a 504 `Timeout` Status after a wait.

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{NewEvent, SimCluster, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-cluster/");

/// The resourceVersion the recording asked for, and the server's current one then.
const RECORDED_ASKED: u64 = 1_024_603;
const RECORDED_CURRENT: u64 = 24_605;

/// A short wait before the 504, so that these tests do not take the real server's 3 s each.
const SHORT_WAIT: Duration = Duration::from_millis(200);

/// `GET path` over a fresh HTTP/1.1 connection, read to its end: the head (lowercased) and the
/// body, de-chunked when chunked; and whether a chunked body ended with its terminating chunk.
async fn get(cluster: &SimCluster, path: &str) -> (String, Vec<u8>, bool) {
    let addr = cluster.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("the server never ended the response")
        .unwrap();
    let at = find(&raw, b"\r\n\r\n").expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..at]).to_lowercase();
    let body = &raw[at + 4..];
    if head.contains("transfer-encoding: chunked") {
        let (data, terminated) = dechunk(body);
        (head, data, terminated)
    } else {
        (head, body.to_vec(), true)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut body: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(eol) = find(body, b"\r\n") else {
            return (data, false);
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return (data, true);
        }
        let start = eol + 2;
        data.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = body.get(start + size + 2..).unwrap_or_default();
    }
}

/// The Status body the recording shows for the list, with `current` in place of the recorded
/// server's resourceVersion.
fn recorded_status(asked: u64, current: u64) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}resource-version-too-large.md")).unwrap();
    let after_504 = &text[text.find("HTTP/2 504").unwrap()..];
    let json = &after_504[after_504.find('{').unwrap()..after_504.find("\n}\n").unwrap() + 2];
    let recorded = json
        .replace(&RECORDED_ASKED.to_string(), &asked.to_string())
        .replace(&RECORDED_CURRENT.to_string(), &current.to_string());
    serde_json::from_str(&recorded).unwrap()
}

async fn cluster_with_events(config: SimConfig) -> SimCluster {
    let cluster = SimCluster::start(config).await.unwrap();
    for reason in ["A", "B", "C"] {
        cluster.create_event(NewEvent::new("demo", reason));
    }
    cluster
}

#[tokio::test]
async fn the_recorded_status_is_read_from_the_fixture_as_recorded() {
    let status = recorded_status(RECORDED_ASKED, RECORDED_CURRENT);
    assert_eq!(status["code"], 504);
    assert_eq!(status["reason"], "Timeout");
    assert_eq!(
        status["message"],
        "Timeout: Too large resource version: 1024603, current: 24605"
    );
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
}

#[tokio::test]
async fn a_watch_from_ahead_answers_200_and_sends_nothing_until_its_timeout() {
    // Bookmarks every 100 ms: a watch from ahead must not get even those.
    let config = SimConfig::default().bookmark_interval(Some(Duration::from_millis(100)));
    let cluster = cluster_with_events(config).await;
    for path in ["/apis/events.k8s.io/v1/events", "/api/v1/events"] {
        let url = format!(
            "{path}?watch=1&resourceVersion={RECORDED_ASKED}&allowWatchBookmarks=true&timeoutSeconds=1"
        );
        let started = Instant::now();
        let request = get(&cluster, &url);
        let writes = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cluster.create_event(NewEvent::new("demo", "WhileWatching"));
        };
        let ((head, body, terminated), ()) = tokio::join!(request, writes);
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            body.is_empty(),
            "{path}: no event, BOOKMARK or ERROR: {:?}",
            String::from_utf8_lossy(&body)
        );
        assert!(terminated, "{path}: the timeout ends the watch normally");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{path}: the watch is held open until timeoutSeconds"
        );
    }
    assert_eq!(cluster.stats().bookmarks, 0);
    assert_eq!(cluster.stats().watch_410s, 0);
}

#[tokio::test]
async fn a_watch_from_ahead_sends_the_changes_after_it_once_the_server_gets_there() {
    let cluster = cluster_with_events(SimConfig::default().bookmark_interval(None)).await;
    let ahead = cluster.resource_version() + 2;
    let url = format!("/api/v1/events?watch=1&resourceVersion={ahead}&timeoutSeconds=1");
    let request = get(&cluster, &url);
    let writes = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        ["D", "E", "F"].map(|r| cluster.create_event(NewEvent::new("demo", r)))
    };
    let ((_, body, _), created) = tokio::join!(request, writes);
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "only the change after {ahead}: {text}");
    assert_eq!(lines[0]["type"], "ADDED");
    assert_eq!(lines[0]["object"]["metadata"]["uid"], created[2].uid);
}

#[tokio::test]
async fn a_list_from_ahead_answers_504_with_the_recorded_status_in_every_form() {
    let cluster = cluster_with_events(SimConfig::default().too_large_wait(SHORT_WAIT)).await;
    let current = cluster.resource_version();
    let want = recorded_status(RECORDED_ASKED, current);
    for query in [
        "limit=500&resourceVersion=1024603&resourceVersionMatch=NotOlderThan",
        "limit=500&resourceVersion=1024603",
        "resourceVersion=1024603&resourceVersionMatch=Exact",
    ] {
        for path in [
            "/api/v1/events",
            "/apis/events.k8s.io/v1/namespaces/demo/events",
        ] {
            let started = Instant::now();
            let (head, body, _) = get(&cluster, &format!("{path}?{query}")).await;
            assert!(head.starts_with("http/1.1 504"), "{path}?{query}: {head}");
            assert!(head.contains("content-type: application/json"), "{head}");
            let got: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(got, want, "{path}?{query}");
            assert!(
                started.elapsed() >= SHORT_WAIT,
                "{path}?{query}: answered before waiting for the server to catch up"
            );
        }
    }
    assert_eq!(cluster.stats().list_too_large, 6);
}

#[tokio::test]
async fn the_status_is_written_in_go_field_order_without_retry_after_seconds() {
    let cluster = cluster_with_events(SimConfig::default().too_large_wait(SHORT_WAIT)).await;
    let (_, body, _) = get(&cluster, "/api/v1/events?resourceVersion=1024603").await;
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: Too large resource version: 1024603, current: 3","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}]},"code":504}"#
    );
}

#[tokio::test]
async fn a_continue_token_from_ahead_answers_the_same_504() {
    // A token from a server further ahead (the recorded list's resourceVersions are in the
    // thousands), presented to one that restarted its count.
    let ahead = SimCluster::start(SimConfig::default()).await.unwrap();
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}list-core-v1.json")).unwrap(),
    )
    .unwrap();
    ahead
        .restore_events(recorded["items"].as_array().unwrap().iter().cloned())
        .unwrap();
    let (_, body, _) = get(&ahead, "/api/v1/namespaces/demo/events?limit=1").await;
    let page: Value = serde_json::from_slice(&body).unwrap();
    let token = page["metadata"]["continue"].as_str().unwrap().to_owned();
    let token_rv: u64 = page["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let behind = cluster_with_events(SimConfig::default().too_large_wait(SHORT_WAIT)).await;
    let (head, body, _) = get(
        &behind,
        &format!("/api/v1/namespaces/demo/events?limit=1&continue={token}"),
    )
    .await;
    assert!(head.starts_with("http/1.1 504"), "{head}");
    let got: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(got, recorded_status(token_rv, behind.resource_version()));
}

#[tokio::test]
async fn a_list_that_the_server_catches_up_with_while_it_waits_is_served() {
    let cluster =
        cluster_with_events(SimConfig::default().too_large_wait(Duration::from_secs(10))).await;
    let ahead = cluster.resource_version() + 2;
    let url = format!("/api/v1/events?resourceVersion={ahead}&resourceVersionMatch=NotOlderThan");
    let request = get(&cluster, &url);
    let writes = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cluster.create_event(NewEvent::new("demo", "D"));
        cluster.create_event(NewEvent::new("demo", "E"));
    };
    let ((head, body, _), ()) = tokio::join!(request, writes);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let list: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["metadata"]["resourceVersion"], ahead.to_string());
    assert_eq!(list["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_quorum_list_returns_the_current_resource_version_at_once() {
    let cluster = cluster_with_events(SimConfig::default()).await;
    let (head, body, _) = get(&cluster, "/api/v1/events?limit=1").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let list: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        list["metadata"]["resourceVersion"],
        cluster.resource_version().to_string()
    );
    assert_eq!(cluster.stats().list_too_large, 0);
}

#[tokio::test]
async fn the_default_wait_is_the_real_servers() {
    assert_eq!(SimConfig::default().too_large_wait, Duration::from_secs(3));
    let cluster = cluster_with_events(SimConfig::default()).await;
    let started = Instant::now();
    let (head, _, _) = get(&cluster, "/api/v1/events?resourceVersion=1024603").await;
    assert!(head.starts_with("http/1.1 504"), "{head}");
    assert!(started.elapsed() >= Duration::from_secs(3));
}
