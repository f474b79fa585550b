//! Each fault of the strict proxy as the real AWS SDK meets it, against a real moto shared
//! by every test of this binary (each test uses its own log group).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_cloudwatchlogs::operation::put_log_events::{PutLogEventsError, PutLogEventsOutput};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use testkit::cloudwatch::{Fault, StrictProxy, client, config, ensure_stream, read_stream};
use testkit::moto::Moto;

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// A proxy in front of the shared moto, a client through it, a client straight to moto,
/// and a stream `group`/`s` ready.
async fn setup(group: &str) -> (StrictProxy, Client, Client) {
    let moto = Moto::shared().await.unwrap();
    let proxy = StrictProxy::start(&moto.endpoint()).await.unwrap();
    let logs = client(&proxy.endpoint()).await;
    ensure_stream(&logs, group, "s").await.unwrap();
    (proxy, logs, client(&moto.endpoint()).await)
}

/// A client through `proxy` that gives up on an operation after `timeout`.
fn client_with_timeout(proxy: &StrictProxy, timeout: Duration) -> Client {
    let timeouts = TimeoutConfig::builder().operation_timeout(timeout).build();
    Client::from_conf(config(&proxy.endpoint()).timeout_config(timeouts).build())
}

async fn put(
    logs: &Client,
    group: &str,
    message: &str,
) -> Result<PutLogEventsOutput, SdkError<PutLogEventsError>> {
    let event = InputLogEvent::builder()
        .timestamp(now_ms())
        .message(message)
        .build()
        .unwrap();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("s")
        .log_events(event)
        .send()
        .await
}

async fn stored(moto: &Client, group: &str) -> Vec<String> {
    read_stream(moto, group, "s")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message.unwrap_or_default())
        .collect()
}

/// Whether the SDK failed to get any answer (connection refused, closed or reset), and if
/// so whether it saw an I/O error.
fn dispatch_failure(error: &SdkError<PutLogEventsError>) -> Option<bool> {
    match error {
        SdkError::DispatchFailure(failure) => Some(failure.is_io()),
        _ => None,
    }
}

fn status(error: &SdkError<PutLogEventsError>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn throttling_is_a_throttling_exception_and_only_for_the_times_asked() {
    let (proxy, logs, moto) = setup("faults-throttle").await;
    proxy.inject(Fault::Throttle, 1);
    let error = put(&logs, "faults-throttle", "first").await.unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"), "{error:?}");
    assert_eq!(error.message(), Some("Rate exceeded"));
    assert_eq!(status(&error), Some(400));
    assert_eq!(stored(&moto, "faults-throttle").await, Vec::<String>::new());

    put(&logs, "faults-throttle", "second").await.unwrap();
    assert_eq!(stored(&moto, "faults-throttle").await, ["second"]);
    let stats = proxy.stats();
    assert_eq!(stats.faults_served, 1);
    assert_eq!(stats.put_log_events_calls, 2);
    assert_eq!(proxy.pending_faults(), 0);
}

#[tokio::test]
async fn server_errors_keep_their_status_and_503_is_service_unavailable() {
    let (proxy, logs, moto) = setup("faults-5xx").await;
    proxy.inject(Fault::ServerError(500), 1);
    proxy.inject(Fault::ServerError(503), 1);

    let error = put(&logs, "faults-5xx", "a").await.unwrap_err();
    assert_eq!(status(&error), Some(500));
    assert_eq!(error.code(), Some("InternalFailure"), "{error:?}");

    let error = put(&logs, "faults-5xx", "b").await.unwrap_err();
    assert_eq!(status(&error), Some(503));
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_service_unavailable_exception()),
        "{error:?}"
    );
    assert_eq!(stored(&moto, "faults-5xx").await, Vec::<String>::new());
}

#[tokio::test]
async fn access_denied_names_the_action() {
    let (proxy, logs, _) = setup("faults-denied").await;
    proxy.inject(Fault::AccessDenied, 1);
    let error = put(&logs, "faults-denied", "a").await.unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"), "{error:?}");
    assert_eq!(status(&error), Some(400));
    let message = error.message().unwrap();
    assert!(message.contains("logs:PutLogEvents"), "{message}");
    assert!(message.contains("faults-denied"), "{message}");
}

#[tokio::test]
async fn a_delay_slows_the_answer_and_still_stores() {
    let (proxy, logs, moto) = setup("faults-delay").await;
    proxy.inject(Fault::Delay(Duration::from_millis(400)), 1);
    let started = Instant::now();
    put(&logs, "faults-delay", "late").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(stored(&moto, "faults-delay").await, ["late"]);
}

#[tokio::test]
async fn a_delay_longer_than_the_client_timeout_is_a_timeout_and_still_stores() {
    let (proxy, _, moto) = setup("faults-delay-timeout").await;
    let impatient = client_with_timeout(&proxy, Duration::from_millis(300));
    proxy.inject(Fault::Delay(Duration::from_millis(800)), 1);
    let error = put(&impatient, "faults-delay-timeout", "late")
        .await
        .unwrap_err();
    assert!(matches!(error, SdkError::TimeoutError(_)), "{error:?}");
    // Like the service, the proxy carries out a request it received although the client
    // has hung up: the events arrive after the delay.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored(&moto, "faults-delay-timeout").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the delayed request was never forwarded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored(&moto, "faults-delay-timeout").await, ["late"]);
}

#[tokio::test]
async fn a_timeout_after_forwarding_leaves_the_events_stored() {
    let (proxy, _, moto) = setup("faults-stored-timeout").await;
    let impatient = client_with_timeout(&proxy, Duration::from_millis(500));
    proxy.inject(Fault::TimeoutAfterForward(Duration::from_secs(10)), 1);
    let started = Instant::now();
    let error = put(&impatient, "faults-stored-timeout", "stored anyway")
        .await
        .unwrap_err();
    assert!(matches!(error, SdkError::TimeoutError(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        stored(&moto, "faults-stored-timeout").await,
        ["stored anyway"]
    );
    assert_eq!(proxy.stats().faults_served, 1);
}

#[tokio::test]
async fn a_drop_before_forwarding_fails_the_call_and_stores_nothing() {
    let (proxy, logs, moto) = setup("faults-drop-before").await;
    proxy.inject(Fault::DropBeforeForward, 1);
    let error = put(&logs, "faults-drop-before", "lost").await.unwrap_err();
    // The connection closed after the request was sent: hyper's incomplete message.
    assert!(dispatch_failure(&error).is_some(), "{error:?}");
    assert!(error.raw_response().is_none(), "no answer was sent");
    assert_eq!(
        stored(&moto, "faults-drop-before").await,
        Vec::<String>::new()
    );
    // The client's next call gets a fresh connection and goes through.
    put(&logs, "faults-drop-before", "next").await.unwrap();
    assert_eq!(stored(&moto, "faults-drop-before").await, ["next"]);
}

#[tokio::test]
async fn a_drop_after_forwarding_fails_the_call_but_stores_the_events() {
    let (proxy, logs, moto) = setup("faults-drop-after").await;
    proxy.inject(Fault::DropAfterForward, 1);
    let error = put(&logs, "faults-drop-after", "stored").await.unwrap_err();
    // The connection closed after the request was sent: hyper's incomplete message.
    assert!(dispatch_failure(&error).is_some(), "{error:?}");
    assert!(error.raw_response().is_none(), "no answer was sent");
    assert_eq!(stored(&moto, "faults-drop-after").await, ["stored"]);
}

#[tokio::test]
async fn faults_can_target_another_operation() {
    let (proxy, logs, _) = setup("faults-other-op").await;
    proxy.inject_on("CreateLogStream", Fault::AccessDenied, 1);
    put(&logs, "faults-other-op", "unaffected").await.unwrap();
    let error = logs
        .create_log_stream()
        .log_group_name("faults-other-op")
        .log_stream_name("second")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"), "{error:?}");
    assert!(error.message().unwrap().contains("logs:CreateLogStream"));
    assert_eq!(proxy.stats().faults_served, 1);
}

#[tokio::test]
async fn a_request_that_breaks_a_limit_does_not_use_up_a_fault() {
    let (proxy, logs, _) = setup("faults-after-violation").await;
    proxy.inject(Fault::Throttle, 1);
    let error = put(&logs, "faults-after-violation", "").await.unwrap_err();
    assert_eq!(error.code(), Some("InvalidParameterException"), "{error:?}");
    assert_eq!(proxy.pending_faults(), 1);
    let error = put(&logs, "faults-after-violation", "x").await.unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_proxy_is_a_dispatch_failure_until_it_is_reachable_again() {
    let (proxy, logs, moto) = setup("faults-unreachable").await;
    // An open keep-alive connection first, so cutting it is exercised too.
    put(&logs, "faults-unreachable", "before").await.unwrap();
    proxy.set_unreachable(true);
    // The kept-alive connection was cut and new ones are closed on accept: no answer.
    for _ in 0..2 {
        let error = put(&logs, "faults-unreachable", "during")
            .await
            .unwrap_err();
        assert_eq!(dispatch_failure(&error), Some(true), "{error:?}");
    }
    assert!(proxy.stats().connections_refused >= 1);

    proxy.set_unreachable(false);
    put(&logs, "faults-unreachable", "after").await.unwrap();
    assert_eq!(
        stored(&moto, "faults-unreachable").await,
        ["before", "after"]
    );
}

#[tokio::test]
async fn a_proxy_whose_moto_is_down_answers_502() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = StrictProxy::start(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    let logs = client(&proxy.endpoint()).await;
    let error = put(&logs, "faults-no-moto", "x").await.unwrap_err();
    assert_eq!(status(&error), Some(502));
    assert_eq!(
        error.code(),
        Some("ServiceUnavailableException"),
        "{error:?}"
    );
    assert_eq!(proxy.stats().upstream_errors, 1);
}

#[tokio::test]
async fn a_bad_upstream_endpoint_is_invalid_input() {
    let error = StrictProxy::start("https://logs.us-east-1.amazonaws.com")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
