//! Start-up faults of the real `eks_to_cloudwatch` binary.
//!
//! - What a restart cannot fix (no kubeconfig, a garbage one, the health port taken, credentials
//!   the API server refuses, a missing RBAC permission) stops the process with a non-zero exit
//!   and exactly one line on stderr naming the problem and what to do.
//! - An API server that is not there yet is waited for: the process stays alive (`/healthz`
//!   200), unready (`/readyz` 503, saying why) and counts its attempts, then exports every event
//!   exactly once when the server comes up.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use event_core::Event;
use serde_json::Value;
use testkit::{NewEvent, Refusal, SimCluster, SimConfig};
use tests::binary::{ExporterProcess, eks_to_cloudwatch, run_to_end};
use tests::{assert_exactly_once, init_tracing, key, wait_until};

/// A config with one stdout sink (JSON lines), a file checkpoint in `dir` and the health server
/// on `listen`.
fn config(dir: &Path, listen: &str) -> String {
    format!(
        "cluster: startup\ncheckpoint:\n  store: file\n  path: {}\n  interval_secs: 0.2\n\
         sinks:\n  - type: stdout\n    format: json\n\
         pipeline:\n  max_batch_wait_secs: 0.1\n\
         server:\n  listen: {listen}\nlog:\n  format: json\n",
        dir.join("checkpoint.json").display()
    )
}

/// A kubeconfig whose cluster is `server`, as `SimCluster::write_kubeconfig` writes it.
fn kubeconfig_for(server: &str, path: &Path) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {server}\n\
         contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: default\n\
         current-context: sim\nusers:\n- name: sim\n  user: {{}}\n"
    );
    std::fs::write(path, text).expect("kubeconfig written");
}

/// Runs the binary with `config` and `KUBECONFIG` set to `kubeconfig`: its exit code and the
/// one line of stderr that tells the error (asserting there is exactly one), with how long it
/// took.
async fn fatal(dir: &Path, config: &str, kubeconfig: &Path) -> (Option<i32>, String, Duration) {
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).expect("config written");
    let path = path.display().to_string();
    let kubeconfig = kubeconfig.display().to_string();
    // Built before the clock starts: the first call builds the binary.
    eks_to_cloudwatch().await;
    let started = Instant::now();
    let (status, _, stderr) =
        run_to_end(&["--config", &path], &[("KUBECONFIG", kubeconfig.as_str())]).await;
    let took = started.elapsed();
    (status.code(), the_error_line(&stderr), took)
}

/// The one line of `stderr` that is not an INFO/WARN/DEBUG log record: the error. Fails the
/// test unless there is exactly one, and returns its text (the `error` field of a JSON record).
fn the_error_line(stderr: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            let level = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["level"].as_str().map(str::to_owned));
            !matches!(level.as_deref(), Some("INFO" | "WARN" | "DEBUG" | "TRACE"))
        })
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly one error line expected; stderr:\n{stderr}"
    );
    let line = errors[0];
    match serde_json::from_str::<Value>(line) {
        Ok(record) => {
            assert_eq!(record["message"], "stopped with an error", "{line}");
            record["error"].as_str().unwrap_or_default().to_owned()
        }
        Err(_) => line.to_owned(),
    }
}

#[tokio::test]
async fn no_kubeconfig_a_garbage_one_and_a_taken_port_each_stop_with_one_line() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), "127.0.0.1:0");

    let missing = dir.path().join("no-such-kubeconfig");
    let (code, line, _) = fatal(dir.path(), &config, &missing).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("cannot configure the Kubernetes client")
            && line.contains("no-such-kubeconfig")
            && line.contains("point KUBECONFIG at a kubeconfig"),
        "{line}"
    );

    let garbage = dir.path().join("garbage-kubeconfig");
    std::fs::write(&garbage, "clusters: [\u{1b}[2J\n  - {oops\n").expect("written");
    let (code, line, _) = fatal(dir.path(), &config, &garbage).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("cannot configure the Kubernetes client")
            && line.contains("garbage-kubeconfig"),
        "{line}"
    );
    assert!(
        !line.contains('\u{1b}'),
        "no control character passes: {line}"
    );

    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address");
    let config = self::config(dir.path(), &addr.to_string());
    let (code, line, _) = fatal(dir.path(), &config, &kubeconfig).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.contains(&format!("{addr}: address in use"))
            && line.contains("pick another `server.listen`"),
        "{line}"
    );
}

#[tokio::test]
async fn credentials_the_server_refuses_and_a_missing_permission_stop_with_one_line() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let config = config(dir.path(), "127.0.0.1:0");

    cluster.set_refusal(Some(Refusal::Unauthorized));
    let (code, line, took) = fatal(dir.path(), &config, &kubeconfig).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("the API server refused the credentials (401 Unauthorized")
            && line.contains("check the user of the kubeconfig"),
        "{line}"
    );
    assert!(took < Duration::from_secs(20), "not retried: {took:?}");

    cluster.set_refusal(Some(Refusal::Forbidden));
    let (code, line, took) = fatal(dir.path(), &config, &kubeconfig).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("missing RBAC permission")
            && line.contains("list events.k8s.io/v1 events in all namespaces")
            && line.contains("User \"system:anonymous\" cannot list resource \"events\"")
            && line.contains("grant list and watch on events.events.k8s.io"),
        "{line}"
    );
    assert!(took < Duration::from_secs(20), "not retried: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_not_there_at_start_is_waited_for_then_every_event_is_exported_once() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nothing listens on until the simulated API server takes it.
    let addr: SocketAddr = {
        let reserved = TcpListener::bind("127.0.0.1:0").expect("a port");
        reserved.local_addr().expect("its address")
    };
    let kubeconfig = dir.path().join("kubeconfig");
    kubeconfig_for(&format!("http://{addr}"), &kubeconfig);
    let exporter =
        ExporterProcess::start(&config(dir.path(), "127.0.0.1:0"), &kubeconfig, &[]).await;

    // Two failed attempts at least: alive, unready with the reason, counted.
    let deadline = Instant::now() + Duration::from_secs(20);
    while exporter
        .metric("event_keeper_api_start_errors_total")
        .await
        .unwrap_or(0.0)
        < 2.0
    {
        assert!(
            Instant::now() < deadline,
            "no second attempt; log:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(exporter.get("/healthz").await.0, 200);
    let (code, body) = exporter.get("/readyz").await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("api-server: not ready") && body.contains("waiting for the API server"),
        "{body}"
    );
    assert_eq!(
        exporter.metric("event_keeper_api_unreachable").await,
        Some(1.0)
    );

    let cluster = SimCluster::start_at(addr, SimConfig::default())
        .await
        .expect("the simulated API server takes the reserved port");
    let mut made = Vec::new();
    for i in 0..10 {
        made.push(cluster.create_event(NewEvent::new("payments", format!("Before{i}"))));
    }
    exporter.wait_for_readyz(200, Duration::from_secs(40)).await;
    assert_eq!(
        exporter.metric("event_keeper_api_unreachable").await,
        Some(0.0)
    );
    for i in 0..10 {
        let created = cluster.create_event(NewEvent::new("payments", format!("After{i}")));
        made.push(cluster.bump_event(&created).expect("bumped"));
        made.push(created);
    }
    let expected: Vec<_> = made.iter().map(key).collect();
    wait_until("every event on stdout", Duration::from_secs(20), || {
        exporter.stdout_lines().len() >= expected.len()
    })
    .await;
    // A moment for a duplicate on its way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let printed: Vec<_> = exporter
        .stdout_lines()
        .iter()
        .map(|line| {
            serde_json::from_str::<Event>(line)
                .expect("a JSON event line")
                .key()
        })
        .collect();
    assert_exactly_once(&printed, &expected);

    // One warning per failed attempt, not a flood, and no error.
    let attempts = exporter
        .metric("event_keeper_api_start_errors_total")
        .await
        .unwrap_or(0.0);
    let logs = exporter.logs();
    let warnings = logs
        .lines()
        .filter(|l| l.contains("the API server does not answer"))
        .count();
    assert_eq!(warnings as f64, attempts, "{logs}");
    assert!(!logs.contains("\"level\":\"ERROR\""), "{logs}");
    let mut exporter = exporter;
    exporter.terminate();
    let status = exporter.wait(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}\n{}", exporter.logs());
}
