use super::*;
use crate::secret::Secret;

fn error_of(json: &str) -> ConfigError {
    match WebhookSinkConfig::from_json(json) {
        Ok(config) => panic!("unexpectedly valid: {config:?}"),
        Err(error) => error,
    }
}

#[test]
fn only_the_url_is_required_and_the_defaults_are_as_documented() {
    let config = WebhookSinkConfig::from_json(r#"{"url": "http://127.0.0.1:9000/hook"}"#).unwrap();
    assert_eq!(config, WebhookSinkConfig::new("http://127.0.0.1:9000/hook"));
    assert_eq!(config.format, Format::Json);
    assert_eq!(config.max_batch_events, 500);
    assert_eq!(config.max_body_bytes, 1_048_576);
    assert_eq!(config.timeout(), Duration::from_secs(10));
    assert_eq!(config.send_timeout(), Duration::from_secs(45));
    assert!(!config.gzip && config.auth.is_none() && config.headers.is_empty());
}

#[test]
fn every_key_reads() {
    let config = WebhookSinkConfig::from_json(
        r#"{"url": "https://hooks.example.com/k8s?team=a", "format": "ndjson",
            "headers": {"X-Team": "platform", "X-Api-Key": {"env": "HOOK_KEY"}},
            "auth": {"basic": {"username": "ek", "password": {"file": "/run/secrets/pw"}}},
            "gzip": true, "ca_file": "/etc/ek/ca.pem", "idempotency_header": "X-Request-Id",
            "max_batch_events": 100, "max_body_bytes": 65536,
            "connect_timeout_secs": 3, "timeout_secs": 5, "send_timeout_secs": 20}"#,
    )
    .unwrap();
    assert_eq!(config.format, Format::Ndjson);
    assert_eq!(
        config.auth,
        Some(Auth::Basic {
            username: "ek".into(),
            password: Secret::File("/run/secrets/pw".into())
        })
    );
    assert_eq!(
        config.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/ek/ca.pem"))
    );
    assert_eq!(config.idempotency_header, "X-Request-Id");
    assert_eq!(
        (config.max_batch_events, config.max_body_bytes),
        (100, 65536)
    );
    assert_eq!(
        (
            config.connect_timeout_secs,
            config.timeout_secs,
            config.send_timeout_secs
        ),
        (3, 5, 20)
    );
    assert_eq!(config.endpoint_for_logs(), "https://hooks.example.com");
}

#[test]
fn the_url_is_checked_and_never_echoed_in_logs_with_its_path() {
    for (url, text) in [
        ("", "is missing"),
        ("hooks.example.com/k8s", "http:// or https://"),
        ("ftp://hooks.example.com/", "http:// or https://"),
        ("https://user:pw@hooks.example.com/", "holds credentials"),
        ("https://exa mple.com/", "is not a URL"),
    ] {
        let error = error_of(&format!(r#"{{"url": {url:?}}}"#));
        assert_eq!(error.key(), Some("url"), "{url}: {error}");
        assert!(error.to_string().contains(text), "{url}: {error}");
    }
    let config = WebhookSinkConfig::new("https://hooks.slack.example/services/T0/B0/s3cret");
    assert!(!config.endpoint_for_logs().contains("s3cret"));
}

#[test]
fn out_of_range_values_name_their_key() {
    let url = r#""url": "http://127.0.0.1:1/""#;
    for (extra, key, text) in [
        (
            r#""max_batch_events": 0"#,
            "max_batch_events",
            "is 0; use 1 to 10000",
        ),
        (r#""max_body_bytes": 10"#, "max_body_bytes", "is 10"),
        (r#""timeout_secs": 0"#, "timeout_secs", "is 0"),
        (
            r#""connect_timeout_secs": 601"#,
            "connect_timeout_secs",
            "is 601",
        ),
        (
            r#""timeout_secs": 30, "send_timeout_secs": 20"#,
            "send_timeout_secs",
            "below timeout_secs",
        ),
        (
            r#""idempotency_header": "bad header""#,
            "idempotency_header",
            "bad header",
        ),
        (
            r#""headers": {"Content-Type": "text/plain"}"#,
            "headers",
            "sets Content-Type",
        ),
        (
            r#""headers": {"idempotency-key": "x"}"#,
            "headers",
            "idempotency header",
        ),
        (
            r#""headers": {"X-A": "a\nb"}"#,
            "headers",
            "X-A: the value holds control characters",
        ),
        (r#""headers": {"X-A": {"env": "1X"}}"#, "headers", "\"1X\""),
        (
            r#""headers": {"Authorization": "x"}, "auth": {"bearer": {"env": "T"}}"#,
            "headers",
            "keep one",
        ),
        (
            r#""auth": {"bearer": {"env": ""}}"#,
            "auth",
            "bearer names the environment variable",
        ),
    ] {
        let error = error_of(&format!("{{{url}, {extra}}}"));
        assert_eq!(error.key(), Some(key), "{extra}: {error}");
        assert!(error.to_string().contains(text), "{extra}: {error}");
    }
}

#[test]
fn unknown_keys_and_shapes_are_syntax_errors_naming_the_key() {
    let error = error_of(r#"{"url": "http://a/", "gzipped": true}"#);
    assert!(error.key().is_none());
    assert!(
        error.to_string().contains("unknown field `gzipped`"),
        "{error}"
    );
    let error = error_of(r#"{"url": "http://a/", "format": "xml"}"#);
    assert!(
        error.to_string().contains("unknown variant `xml`"),
        "{error}"
    );
    let error = error_of(r#"{"url": "http://a/", "auth": {"token": {"env": "T"}}}"#);
    assert!(
        error.to_string().contains("unknown variant `token`"),
        "{error}"
    );
}

#[test]
fn debug_of_a_config_shows_no_written_header_value() {
    let config = WebhookSinkConfig::new("http://a/")
        .header("X-Api-Key", crate::HeaderValue::Value("s3cret".into()));
    assert!(!format!("{config:?}").contains("s3cret"));
}
