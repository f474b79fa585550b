//! The AWS JSON 1.1 wire format as far as the proxy reads or writes it: the operation name,
//! PutLogEvents bodies, `rejectedLogEventsInfo`, and error responses.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::fault::Fault;
use super::limits::{EventInfo, Rejected};

/// The `X-Amz-Target` prefix of CloudWatch Logs operations.
const TARGET_PREFIX: &str = "Logs_20140328.";

/// The content type of every AWS JSON 1.1 request and response.
pub(crate) const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// The account moto uses by default, for error messages that name an ARN.
const ACCOUNT: &str = "123456789012";

/// The operation a request calls: `PutLogEvents` for `X-Amz-Target:
/// Logs_20140328.PutLogEvents`, `unknown` without the header.
pub(crate) fn operation(headers: &HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .map(|target| target.strip_prefix(TARGET_PREFIX).unwrap_or(target))
        .unwrap_or("unknown")
        .to_owned()
}

/// A PutLogEvents request body, kept whole so it can be forwarded with fewer events.
#[derive(Debug)]
pub(crate) struct PutLogEvents {
    body: Map<String, Value>,
    pub log_group: String,
    pub log_stream: String,
    pub events: Vec<EventInfo>,
}

impl PutLogEvents {
    /// Parses a request body; `None` when it is not a PutLogEvents document (moto will
    /// answer such a request with its own error).
    pub(crate) fn parse(body: &[u8]) -> Option<PutLogEvents> {
        let Value::Object(body) = serde_json::from_slice(body).ok()? else {
            return None;
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let log_group = text("logGroupName")?;
        let log_stream = text("logStreamName")?;
        let events = body
            .get("logEvents")?
            .as_array()?
            .iter()
            .map(|event| {
                Some(EventInfo {
                    timestamp: event.get("timestamp")?.as_i64()?,
                    message_bytes: event.get("message")?.as_str()?.len(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(PutLogEvents {
            body,
            log_group,
            log_stream,
            events,
        })
    }

    /// The body with only the events at `kept` (ascending positions).
    pub(crate) fn with_events(&self, kept: &[usize]) -> Bytes {
        let mut body = self.body.clone();
        if let Some(Value::Array(events)) = body.get_mut("logEvents") {
            let all = std::mem::take(events);
            let mut kept = kept.iter().copied().peekable();
            for (position, event) in all.into_iter().enumerate() {
                if kept.next_if_eq(&position).is_some() {
                    events.push(event);
                }
            }
        }
        Bytes::from(Value::Object(body).to_string())
    }
}

/// The `logGroupName` and `retentionInDays` of a PutRetentionPolicy body.
pub(crate) fn retention_policy(body: &[u8]) -> Option<(String, Option<u32>)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let group = value.get("logGroupName")?.as_str()?.to_owned();
    let days = value
        .get("retentionInDays")
        .and_then(Value::as_u64)
        .and_then(|days| u32::try_from(days).ok());
    Some((group, days))
}

/// The `logGroupName` of a request body, if it has one.
pub(crate) fn log_group(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some(value.get("logGroupName")?.as_str()?.to_owned())
}

/// moto's PutLogEvents answer with `rejectedLogEventsInfo` replaced by `rejected`, whose
/// positions refer to the request as the client sent it (moto saw only the kept events).
pub(crate) fn with_rejected_info(moto_body: &[u8], rejected: &Rejected) -> Option<Bytes> {
    let Value::Object(mut answer) = serde_json::from_slice(moto_body).ok()? else {
        return None;
    };
    answer.remove("rejectedLogEventsInfo");
    if !rejected.is_empty() {
        let mut info = Map::new();
        let fields = [
            ("tooNewLogEventStartIndex", rejected.too_new_start),
            ("tooOldLogEventEndIndex", rejected.too_old_end),
            ("expiredLogEventEndIndex", rejected.expired_end),
        ];
        for (name, index) in fields {
            if let Some(index) = index {
                info.insert(name.to_owned(), json!(index));
            }
        }
        answer.insert("rejectedLogEventsInfo".to_owned(), Value::Object(info));
    }
    Some(Bytes::from(Value::Object(answer).to_string()))
}

/// An AWS JSON 1.1 error: `{"__type": code, "message": message}` with the
/// `x-amzn-ErrorType` header the SDK also reads.
pub(crate) fn aws_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({ "__type": code, "message": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

/// The answer to a fault that is served without forwarding; `None` for the others.
pub(crate) fn fault_response(
    fault: &Fault,
    operation: &str,
    log_group: Option<&str>,
) -> Option<Response<Full<Bytes>>> {
    match fault {
        Fault::Throttle => Some(aws_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        )),
        Fault::ServerError(code) => {
            let status = StatusCode::from_u16(*code)
                .ok()
                .filter(StatusCode::is_server_error)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(if status == StatusCode::SERVICE_UNAVAILABLE {
                aws_error(
                    status,
                    "ServiceUnavailableException",
                    "The service cannot complete the request.",
                )
            } else {
                aws_error(
                    status,
                    "InternalFailure",
                    "The request processing has failed because of an unknown error, exception or failure.",
                )
            })
        }
        Fault::AccessDenied => {
            let resource = log_group.map_or_else(
                || "*".to_owned(),
                |group| format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:*"),
            );
            let message = format!(
                "User: arn:aws:sts::{ACCOUNT}:assumed-role/event-keeper/testkit is not \
                 authorized to perform: logs:{operation} on resource: {resource} because no \
                 identity-based policy allows the logs:{operation} action"
            );
            Some(aws_error(
                StatusCode::BAD_REQUEST,
                "AccessDeniedException",
                &message,
            ))
        }
        Fault::Delay(_)
        | Fault::TimeoutAfterForward(_)
        | Fault::DropBeforeForward
        | Fault::DropAfterForward => None,
    }
}

fn request_id() -> String {
    let mut id = String::with_capacity(36);
    for (i, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            id.push('-');
        }
        for _ in 0..len {
            id.push(fastrand::alphanumeric().to_ascii_lowercase());
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    #[test]
    fn the_operation_is_the_target_without_its_prefix() {
        let mut headers = HeaderMap::new();
        assert_eq!(operation(&headers), "unknown");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("Logs_20140328.DescribeLogStreams"),
        );
        assert_eq!(operation(&headers), "DescribeLogStreams");
    }

    #[test]
    fn put_log_events_bodies_are_measured_in_utf8_bytes() {
        let body = br#"{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":5,"message":"\u00e9t\u00e9"}]}"#;
        let put = PutLogEvents::parse(body).unwrap();
        assert_eq!(
            (put.log_group.as_str(), put.log_stream.as_str()),
            ("g", "s")
        );
        assert_eq!(put.events.len(), 1);
        assert_eq!(put.events[0].timestamp, 5);
        assert_eq!(put.events[0].message_bytes, 5, "été is 3 chars, 5 bytes");
        assert!(PutLogEvents::parse(b"{\"logGroupName\":\"g\"}").is_none());
    }

    #[test]
    fn forwarded_bodies_keep_only_the_kept_events_and_other_fields() {
        let body = br#"{"logGroupName":"g","logStreamName":"s","sequenceToken":"t","logEvents":[{"timestamp":1,"message":"a"},{"timestamp":2,"message":"b"},{"timestamp":3,"message":"c"}]}"#;
        let put = PutLogEvents::parse(body).unwrap();
        let forwarded: Value = serde_json::from_slice(&put.with_events(&[1, 2])).unwrap();
        assert_eq!(forwarded["sequenceToken"], "t");
        let messages: Vec<&str> = forwarded["logEvents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["b", "c"]);
    }

    #[test]
    fn rejected_info_replaces_motos_own() {
        let moto =
            br#"{"nextSequenceToken":"1","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":0}}"#;
        let rejected = Rejected {
            too_new_start: Some(4),
            too_old_end: None,
            expired_end: Some(1),
        };
        let patched: Value =
            serde_json::from_slice(&with_rejected_info(moto, &rejected).unwrap()).unwrap();
        assert_eq!(
            patched,
            json!({"nextSequenceToken": "1", "rejectedLogEventsInfo":
                {"tooNewLogEventStartIndex": 4, "expiredLogEventEndIndex": 1}})
        );
        let clean: Value =
            serde_json::from_slice(&with_rejected_info(moto, &Rejected::default()).unwrap())
                .unwrap();
        assert_eq!(clean, json!({"nextSequenceToken": "1"}));
    }

    #[tokio::test]
    async fn throttling_has_the_aws_error_shape() {
        let response = fault_response(&Fault::Throttle, "PutLogEvents", None).unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ThrottlingException"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
        );
    }

    #[test]
    fn server_errors_keep_their_status_and_503_is_service_unavailable() {
        let unavailable = fault_response(&Fault::ServerError(503), "PutLogEvents", None).unwrap();
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            unavailable.headers()["x-amzn-errortype"],
            "ServiceUnavailableException"
        );
        let internal = fault_response(&Fault::ServerError(500), "PutLogEvents", None).unwrap();
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(internal.headers()["x-amzn-errortype"], "InternalFailure");
        let odd = fault_response(&Fault::ServerError(404), "PutLogEvents", None).unwrap();
        assert_eq!(odd.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn access_denied_names_the_action_and_the_group() {
        let response = fault_response(&Fault::AccessDenied, "CreateLogStream", Some("g")).unwrap();
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "AccessDeniedException"
        );
        let body = format!("{:?}", response.body());
        assert!(body.contains("logs:CreateLogStream"), "{body}");
        assert!(body.contains("log-group:g:*"), "{body}");
    }

    #[test]
    fn faults_that_forward_have_no_canned_answer() {
        assert!(fault_response(&Fault::DropAfterForward, "PutLogEvents", None).is_none());
        assert!(fault_response(&Fault::DropBeforeForward, "PutLogEvents", None).is_none());
    }
}
