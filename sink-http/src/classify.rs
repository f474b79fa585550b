//! [`classify`]: one reading of an HTTP answer for every HTTP sink.

use std::time::{Duration, SystemTime};

use event_core::SinkError;
use http::{HeaderMap, StatusCode, header};

use crate::HttpResponse;

/// The most of a body's first line an error message carries.
const MAX_LINE_CHARS: usize = 300;

/// What the pipeline should do with an answer: `Ok` for 2xx; retryable for 408, 429 and 5xx
/// (with `Retry-After` as the delay); fatal for any other status, naming it and the body's
/// first line.
///
/// # Errors
///
/// [`SinkError::Retryable`] or [`SinkError::Fatal`] as above.
pub fn classify(response: HttpResponse) -> Result<HttpResponse, SinkError> {
    let status = response.status;
    if status.is_success() {
        return Ok(response);
    }
    let line = first_line(&response.body);
    let message = if line.is_empty() {
        format!("the server answered {status}")
    } else {
        format!("the server answered {status}: {line}")
    };
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if retryable {
        let error = SinkError::retryable_msg(message);
        return Err(match retry_after(&response.headers, SystemTime::now()) {
            Some(delay) => error.with_retry_after(delay),
            None => error,
        });
    }
    Err(SinkError::fatal_msg(format!(
        "{message}; retrying cannot fix this: check the endpoint, its path and the credentials"
    )))
}

/// The delay a `Retry-After` header asks for, in seconds or as an HTTP date (RFC 9110
/// §10.2.3) relative to `now`; a date in the past is no delay. `None` when the header is
/// absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The first non-blank line of `body`, trimmed, lossily decoded, without control characters
/// and cut to a few hundred characters, for an error message.
pub fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    let mut out: String = line
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LINE_CHARS)
        .collect();
    if line.chars().count() > MAX_LINE_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderValue;

    fn answer(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> HttpResponse {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn success_passes_the_answer_through() {
        let response = classify(answer(200, &[], "{}")).unwrap();
        assert_eq!(response.body, "{}");
    }

    #[test]
    fn throttling_timeouts_and_server_errors_are_retryable() {
        for status in [408, 429, 500, 502, 503, 504] {
            let error = classify(answer(status, &[], "busy")).unwrap_err();
            assert!(error.is_retryable(), "{status}: {error}");
            assert!(!error.is_maybe_stored(), "{status}");
        }
    }

    #[test]
    fn retry_after_in_seconds_becomes_the_delay() {
        let error = classify(answer(429, &[("retry-after", "7")], "")).unwrap_err();
        let SinkError::Retryable { retry_after, .. } = error else {
            panic!("not retryable: {error}");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_as_an_http_date_counts_from_now() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn other_client_errors_are_fatal_with_the_first_line_of_the_body() {
        let error = classify(answer(
            401,
            &[],
            "\n  invalid API key\u{1b}[31m\nsecond line",
        ))
        .unwrap_err();
        assert!(matches!(error, SinkError::Fatal { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("401"), "{message}");
        assert!(message.contains("invalid API key[31m"), "{message}");
        assert!(!message.contains("second line"), "{message}");
        assert!(!message.contains('\u{1b}'), "{message}");
        let error = classify(answer(404, &[], "")).unwrap_err();
        assert!(matches!(error, SinkError::Fatal { .. }), "{error}");
    }

    #[test]
    fn a_long_first_line_is_cut() {
        let line = "x".repeat(1000);
        let cut = first_line(line.as_bytes());
        assert_eq!(cut.chars().count(), MAX_LINE_CHARS + 1);
    }
}
