//! The moto launcher against the real moto server and the real AWS SDK.

use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use testkit::cloudwatch::{client, ensure_stream, read_stream};
use testkit::moto::{Moto, MotoConfig, MotoError};

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Whether `pid` is a live process (a zombie waiting for a parent that will not reap it
/// counts as gone: it no longer runs or holds a port).
fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

#[tokio::test]
async fn moto_answers_the_sdk_restarts_empty_on_its_port_and_is_gone_after_drop() {
    let mut moto = Moto::start().await.unwrap();
    let endpoint = moto.endpoint();
    assert_eq!(endpoint, format!("http://127.0.0.1:{}", moto.port()));
    let logs = client(&endpoint).await;

    ensure_stream(&logs, "moto-launcher", "s").await.unwrap();
    let now = now_ms();
    logs.put_log_events()
        .log_group_name("moto-launcher")
        .log_stream_name("s")
        .log_events(
            InputLogEvent::builder()
                .timestamp(now - 1)
                .message("first")
                .build()
                .unwrap(),
        )
        .log_events(
            InputLogEvent::builder()
                .timestamp(now)
                .message("second")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stored = read_stream(&logs, "moto-launcher", "s").await.unwrap();
    let messages: Vec<_> = stored.iter().map(|e| e.message().unwrap()).collect();
    assert_eq!(messages, ["first", "second"]);
    assert_eq!(stored[0].timestamp(), Some(now - 1));

    let first_pid = moto.pid().unwrap();
    moto.restart().await.unwrap();
    assert_eq!(moto.endpoint(), endpoint, "restarted on the same port");
    assert!(!is_running(first_pid), "the first moto was killed");
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "state is gone: {groups:?}");
    ensure_stream(&logs, "moto-launcher", "s").await.unwrap();

    let pid = moto.pid().unwrap();
    let port = moto.port();
    assert!(is_running(pid));
    drop(moto);
    assert!(!is_running(pid), "moto still runs after drop");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "moto was not reaped: a zombie is left"
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[tokio::test]
async fn two_motos_get_different_ports() {
    let a = Moto::start().await.unwrap();
    let b = Moto::start().await.unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.pid(), b.pid());
}

#[tokio::test]
async fn an_interpreter_that_cannot_import_moto_says_how_to_install_it() {
    // `python3 -S` skips site-packages, where moto is installed: the same import failure
    // as a machine without moto.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("python-without-site");
    std::fs::write(&script, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();

    let config = MotoConfig::default().python(&script);
    let error = Moto::start_with(config).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    let cause = error.get_ref().and_then(|e| e.downcast_ref::<MotoError>());
    assert!(
        matches!(cause, Some(MotoError::NotInstalled { .. })),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("scripts/test.sh"), "{text}");
    assert!(text.contains("pip install 'moto[server]'"), "{text}");
    assert!(text.contains("No module named 'moto'"), "{text}");
}

#[tokio::test]
async fn a_missing_interpreter_is_a_not_found_error() {
    let config = MotoConfig::default().python("/nonexistent/python3");
    let error = Moto::start_with(config).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(error.to_string().contains("install Python 3"), "{error}");
}

#[tokio::test]
async fn the_shared_moto_is_started_once() {
    let first = Moto::shared().await.unwrap();
    let second = Moto::shared().await.unwrap();
    assert!(std::ptr::eq(first, second));
    let logs = client(&first.endpoint()).await;
    ensure_stream(&logs, "moto-shared", "s").await.unwrap();
}

#[tokio::test]
async fn moto_exits_with_a_test_process_that_never_dropped_it() {
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "starts_moto_and_exits_without_dropping_it"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env("TESTKIT_LEAK_MOTO", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pid: u32 = stdout
        .lines()
        .find_map(|line| line.split_once("moto pid ").map(|(_, pid)| pid))
        .unwrap_or_else(|| panic!("no pid in: {stdout}"))
        .trim()
        .parse()
        .unwrap();
    while is_running(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto {pid} outlived the test process that started it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run by `moto_exits_with_a_test_process_that_never_dropped_it` in a child process: it
/// starts moto and exits the way a test binary does with a `Moto` in a static (never
/// dropped).
#[tokio::test]
#[ignore = "run as a child process by moto_exits_with_a_test_process_that_never_dropped_it"]
async fn starts_moto_and_exits_without_dropping_it() {
    assert!(std::env::var_os("TESTKIT_LEAK_MOTO").is_some());
    let moto = Moto::start().await.unwrap();
    println!("moto pid {}", moto.pid().unwrap());
    std::mem::forget(moto);
    std::process::exit(0);
}
