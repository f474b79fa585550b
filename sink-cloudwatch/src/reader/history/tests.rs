use event_history::{ObjectSelector, Selection};

use super::*;

fn client() -> Client {
    Client::from_conf(
        aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .build(),
    )
}

fn source() -> CloudWatchHistory {
    CloudWatchHistory::new(client(), "/g")
}

fn ms(s: &str) -> i64 {
    s.parse::<Timestamp>().unwrap().as_millisecond()
}

#[test]
fn an_empty_selection_has_no_pattern() {
    assert_eq!(
        source().select(&Selection::default()).filter_pattern(),
        None
    );
}

#[test]
fn exact_fields_become_terms_and_alternatives_are_grouped() {
    let object: ObjectSelector = "pod/api-7d9f".parse().unwrap();
    let selection = Selection::default()
        .namespaces(["payments"])
        .types(["WARNING"])
        .reasons(["BackOff", "FailedScheduling"])
        .object(object)
        .kinds(["Pod"])
        .message("^Back-off");
    assert_eq!(
        source()
            .select(&selection)
            .cluster("prod")
            .filter_pattern()
            .unwrap(),
        r#"{ $.namespace = "payments" && $.type = "Warning" && ($.reason = "BackOff" || $.reason = "FailedScheduling") && $.regarding.name = "api-7d9f" && $.cluster = "prod" }"#
    );
}

#[test]
fn values_that_cannot_be_quoted_are_left_to_the_selection() {
    let selection =
        Selection::default()
            .namespaces(["pay\"ments"])
            .reasons(["Back\\Off", "", "BackOff"]);
    assert_eq!(
        source().select(&selection).filter_pattern().unwrap(),
        r#"{ $.reason = "BackOff" }"#
    );
    let only_odd = Selection::default()
        .namespaces(["a\"b"])
        .types(["Sometimes"]);
    assert_eq!(source().select(&only_odd).filter_pattern(), None);
}

#[test]
fn a_pattern_keeps_the_terms_that_fit_the_service_limit() {
    let many: Vec<String> = (0..60)
        .map(|i| format!("namespace-number-{i:03}"))
        .collect();
    let selection = Selection::default().namespaces(many).types(["Warning"]);
    let pattern = source().select(&selection).filter_pattern().unwrap();
    assert!(
        pattern.len() <= MAX_FILTER_PATTERN_CHARS,
        "{}",
        pattern.len()
    );
    assert_eq!(pattern, r#"{ $.type = "Warning" }"#);
}

#[test]
fn the_first_read_starts_at_the_range_and_later_ones_the_overlap_before_the_newest() {
    let range = TimeRange::new(Some("2026-11-24T10:00:00Z".parse().unwrap()), None).unwrap();
    let source = source()
        .range(range)
        .follow_overlap(SignedDuration::from_mins(2));
    assert_eq!(source.start(), Some(ms("2026-11-24T10:00:00Z")));
    let read = Read {
        pattern: None,
        since: source.start(),
        slice: Slice {
            start: source.start(),
            end: None,
        },
        started: ms("2026-11-24T12:00:00Z"),
        source: source.clone(),
        token: None,
        first: false,
    };
    source.cursor.lock().unwrap().newest = Some(ms("2026-11-24T11:30:00Z"));
    read.finish();
    assert_eq!(source.start(), Some(ms("2026-11-24T11:28:00Z")));
}

#[test]
fn a_read_that_found_nothing_moves_the_start_to_the_overlap_before_it_began() {
    let range = TimeRange::new(Some("2026-11-24T10:00:00Z".parse().unwrap()), None).unwrap();
    let source = source().range(range);
    let read = Read {
        pattern: None,
        since: source.start(),
        slice: Slice {
            start: source.start(),
            end: None,
        },
        started: ms("2026-11-24T12:00:00Z"),
        source: source.clone(),
        token: None,
        first: false,
    };
    read.finish();
    assert_eq!(source.start(), Some(ms("2026-11-24T11:58:00Z")));
}

#[test]
fn the_start_never_moves_back_or_before_the_range() {
    let range = TimeRange::new(Some("2026-11-24T11:59:00Z".parse().unwrap()), None).unwrap();
    let source = source().range(range);
    let read = Read {
        pattern: None,
        since: source.start(),
        slice: Slice {
            start: source.start(),
            end: None,
        },
        started: ms("2026-11-24T12:00:00Z"),
        source: source.clone(),
        token: None,
        first: false,
    };
    read.finish();
    assert_eq!(
        source.start(),
        Some(ms("2026-11-24T11:59:00Z")),
        "not before the range"
    );
    source.cursor.lock().unwrap().next_since = Some(ms("2026-11-24T12:30:00Z"));
    read.finish();
    assert_eq!(source.start(), Some(ms("2026-11-24T12:30:00Z")), "not back");
}

#[test]
fn the_overlap_is_what_the_history_dedupes_for() {
    let source = source().follow_overlap(SignedDuration::from_secs(45));
    assert_eq!(source.overlap(), SignedDuration::from_secs(45));
    let negative =
        CloudWatchHistory::new(client(), "/g").follow_overlap(SignedDuration::from_secs(-1));
    assert_eq!(negative.overlap(), SignedDuration::ZERO);
}

#[tokio::test]
async fn the_read_client_retries_and_bounds_long_scans() {
    let config = CloudWatchSinkConfig::new()
        .region("eu-west-1")
        .endpoint_url("http://127.0.0.1:9");
    let client = history_client(&config).await.unwrap();
    let conf = client.config();
    assert_eq!(conf.retry_config().unwrap().max_attempts(), READ_ATTEMPTS);
    let timeouts = conf.timeout_config().unwrap();
    assert_eq!(timeouts.operation_timeout(), Some(READ_CALL_TIMEOUT));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(READ_ATTEMPT_TIMEOUT)
    );
    assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-1"));
}
