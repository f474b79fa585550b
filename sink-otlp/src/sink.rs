//! [`OtlpSink`]: the [`Sink`] that posts each batch as one OTLP/HTTP logs export request.

use async_trait::async_trait;
use event_core::{BatchLimits, Event, Rejection, Sink, SinkError};
use http::Uri;
use jiff::Timestamp;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message as _;
use sink_http::{HttpClient, HttpConfigError, HttpResponse};

use crate::config::{Encoding, OtlpConfigError, OtlpSinkConfig};
use crate::record::{export_request, unix_nanos};

/// Why an [`OtlpSink`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpSinkError {
    /// A setting is invalid.
    #[error("invalid OTLP sink settings")]
    Config(#[from] OtlpConfigError),
    /// The HTTP client could not be built (CA bundle, headers, TLS).
    #[error("the OTLP sink's HTTP client could not be built")]
    Http(#[from] HttpConfigError),
}

/// Ships events as OpenTelemetry log records over OTLP/HTTP: one export request per batch,
/// to `{endpoint}/v1/logs`. See the crate docs for what it guarantees.
#[derive(Debug)]
pub struct OtlpSink {
    client: HttpClient,
    uri: Uri,
    config: OtlpSinkConfig,
}

impl OtlpSink {
    /// A sink for `config`; reads the CA bundle and header values now.
    ///
    /// # Errors
    ///
    /// [`OtlpSinkError`] naming the setting to fix.
    pub fn new(config: OtlpSinkConfig) -> Result<Self, OtlpSinkError> {
        config.validate()?;
        let uri = config.logs_uri()?;
        let client = HttpClient::new(&config.http_options())?;
        Ok(OtlpSink {
            client,
            uri,
            config,
        })
    }

    /// The URL records are posted to.
    pub fn logs_uri(&self) -> &Uri {
        &self.uri
    }

    fn content_type(&self) -> &'static str {
        match self.config.encoding {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    fn encode(&self, request: &ExportLogsServiceRequest) -> Result<Vec<u8>, SinkError> {
        match self.config.encoding {
            Encoding::Protobuf => Ok(request.encode_to_vec()),
            #[cfg(feature = "json")]
            Encoding::Json => serde_json::to_vec(request)
                .map_err(|error| SinkError::fatal("encoding OTLP/JSON failed", error)),
            #[cfg(not(feature = "json"))]
            Encoding::Json => Err(SinkError::fatal_msg(
                OtlpConfigError::JsonNotBuilt.to_string(),
            )),
        }
    }

    async fn export(&self, request: &ExportLogsServiceRequest) -> Result<HttpResponse, SinkError> {
        let body = self.encode(request)?;
        self.client
            .post(&self.uri, self.content_type(), body, &[])
            .await
    }
}

/// The partial success of an answer, if the body holds one: `(rejected, message)`.
fn partial_success(response: &HttpResponse, encoding: Encoding) -> Option<(i64, String)> {
    if response.body.is_empty() {
        return None;
    }
    let json = response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map_or(encoding == Encoding::Json, |v| {
            v.starts_with("application/json")
        });
    let decoded: Option<ExportLogsServiceResponse> = if json {
        decode_json(&response.body)
    } else {
        ExportLogsServiceResponse::decode(response.body.as_ref()).ok()
    };
    let Some(decoded) = decoded else {
        tracing::warn!(
            sink = "otlp",
            bytes = response.body.len(),
            "the collector's answer is not an ExportLogsServiceResponse; taking the 2xx as success"
        );
        return None;
    };
    let partial = decoded.partial_success?;
    Some((partial.rejected_log_records, partial.error_message))
}

/// The partial success of an OTLP/JSON answer. Read by hand rather than with serde: proto3's
/// JSON mapping writes int64 as a string (`"rejectedLogRecords": "3"`), which the serde
/// derive of the wire types does not accept, and a miss here would acknowledge refused records.
fn decode_json(body: &[u8]) -> Option<ExportLogsServiceResponse> {
    let text = std::str::from_utf8(body).ok()?;
    let number = |key: &str| -> Option<i64> {
        let at = text.find(key)?;
        let rest = text[at + key.len()..]
            .trim_start()
            .strip_prefix(':')?
            .trim_start()
            .trim_start_matches('"');
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let rejected = number("\"rejectedLogRecords\"")
        .or_else(|| number("\"rejected_log_records\""))
        .unwrap_or(0);
    Some(ExportLogsServiceResponse {
        partial_success: Some(ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message: String::new(),
        }),
    })
}

/// The rejection for a partial success of `rejected` records out of `total`.
///
/// OTLP reports how many records were refused, not which. Naming some of them would risk
/// acknowledging a refused record as stored, so every event of the batch is routed as
/// rejected, the reason saying how many of them the collector actually refused.
fn rejections(total: usize, rejected: i64, message: &str) -> Vec<Rejection> {
    let reason = format!(
        "the OTLP receiver refused {rejected} of the {total} records of this request without saying which (OTLP partial success: {}); this event may be one it stored",
        if message.is_empty() {
            "no message"
        } else {
            message
        }
    );
    (0..total)
        .map(|i| Rejection::new(i, reason.clone()))
        .collect()
}

#[async_trait]
impl Sink for OtlpSink {
    fn name(&self) -> &str {
        "otlp"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let request = export_request(
            batch,
            &self.config.service_name,
            self.config.cluster_name.as_deref(),
            unix_nanos(Timestamp::now()),
        );
        let response = self.export(&request).await?;
        match partial_success(&response, self.config.encoding) {
            Some((rejected, message)) if rejected > 0 => {
                tracing::warn!(
                    sink = "otlp",
                    rejected,
                    records = batch.len(),
                    error_message = %message,
                    "the OTLP receiver refused records of a request"
                );
                Err(SinkError::rejected(rejections(
                    batch.len(),
                    rejected,
                    &message,
                )))
            }
            Some((_, message)) if !message.is_empty() => {
                tracing::warn!(sink = "otlp", error_message = %message, "the OTLP receiver accepted the request with a warning");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        Some(BatchLimits::new(
            self.config.max_batch_events,
            self.config.max_batch_bytes,
        ))
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        // An export request without records is valid OTLP: receivers answer it with 2xx and
        // store nothing, so it checks the URL, TLS and credentials without side effects.
        self.export(&ExportLogsServiceRequest::default())
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, StatusCode};

    fn answer(content_type: &'static str, bytes: Vec<u8>) -> HttpResponse {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        HttpResponse::new(StatusCode::OK, headers, bytes)
    }

    #[test]
    fn a_protobuf_partial_success_is_read() {
        let response = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: 2,
                error_message: "too old".into(),
            }),
        };
        let answer = answer("application/x-protobuf", response.encode_to_vec());
        assert_eq!(
            partial_success(&answer, Encoding::Protobuf),
            Some((2, "too old".into()))
        );
    }

    #[test]
    fn a_json_partial_success_is_read() {
        for body in [
            &br#"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}"#[..],
            &br#"{"partialSuccess": {"rejectedLogRecords": 3}}"#[..],
        ] {
            let answer = answer("application/json", body.to_vec());
            let (rejected, _) = partial_success(&answer, Encoding::Protobuf).unwrap();
            assert_eq!(rejected, 3);
        }
        let answer = answer("application/json", b"{}".to_vec());
        assert_eq!(
            partial_success(&answer, Encoding::Json),
            Some((0, String::new()))
        );
    }

    #[test]
    fn an_empty_or_unreadable_answer_is_plain_success() {
        assert_eq!(
            partial_success(
                &answer("application/x-protobuf", vec![]),
                Encoding::Protobuf
            ),
            None
        );
        assert_eq!(
            partial_success(
                &answer("application/x-protobuf", vec![0xff, 0xff]),
                Encoding::Protobuf
            ),
            None
        );
    }

    #[test]
    fn a_partial_success_routes_the_whole_batch_saying_how_many_were_refused() {
        let rejected = rejections(4, 1, "bad attribute");
        assert_eq!(rejected.len(), 4);
        assert!(
            rejected[3].reason.contains("refused 1 of the 4"),
            "{}",
            rejected[3].reason
        );
        assert!(rejected[0].reason.contains("bad attribute"));
    }
}
