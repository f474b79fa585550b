//! [`Receiver`]: an OTLP/HTTP logs receiver for tests and benches. It decodes each request with
//! the official protobuf definitions (`opentelemetry-proto`'s prost messages), gzip aware, and
//! keeps every log record it accepted, as a Collector's OTLP receiver would pass them on.

use std::collections::VecDeque;
use std::io::{self, Read as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::serve;

/// One log record the receiver accepted, with its resource's attributes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReceivedRecord {
    /// The attributes of the record's resource.
    pub resource: Vec<KeyValue>,
    /// The record as decoded.
    pub record: LogRecord,
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn as_str(value: Option<&any_value::Value>) -> Option<&str> {
    match value {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

impl ReceivedRecord {
    /// The value of the record's attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        find(&self.record.attributes, key)
    }

    /// The record's attribute `key` when it is a string.
    pub fn string_attribute(&self, key: &str) -> Option<&str> {
        as_str(self.attribute(key))
    }

    /// The resource's attribute `key` when it is a string.
    pub fn resource_string(&self, key: &str) -> Option<&str> {
        as_str(find(&self.resource, key))
    }

    /// The body when it is a string.
    pub fn body(&self) -> Option<&str> {
        as_str(self.record.body.as_ref().and_then(|b| b.value.as_ref()))
    }
}

/// What a [`Receiver`] has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Export requests decoded (with or without records).
    pub requests: u64,
    /// Requests without any record (health checks).
    pub empty_requests: u64,
    /// Requests whose body was gzipped.
    pub gzip_requests: u64,
    /// Log records accepted and kept.
    pub records: u64,
    /// Log records refused through a partial success.
    pub refused_records: u64,
    /// Bytes of request bodies as sent (compressed when gzipped).
    pub wire_bytes: u64,
    /// Requests answered 4xx because they were not valid OTLP/HTTP protobuf.
    pub bad_requests: u64,
}

#[derive(Debug, Default)]
struct Shared {
    records: Mutex<Vec<ReceivedRecord>>,
    stats: Mutex<ReceiverStats>,
    refusals: Mutex<VecDeque<i64>>,
}

/// An OTLP/HTTP receiver on `127.0.0.1` for `POST /v1/logs` with `application/x-protobuf`
/// bodies (identity or gzip). It stops when dropped.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let receiver = testkit::otlp::Receiver::start().await?;
/// // point an OTLP exporter at receiver.endpoint(), then:
/// for record in receiver.records() {
///     println!("{:?}", record.string_attribute("k8s.event.reason"));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
    addr: SocketAddr,
    token: CancellationToken,
}

impl Receiver {
    /// Starts a receiver on a free port. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// The error of binding the listening socket.
    pub async fn start() -> io::Result<Receiver> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let token = CancellationToken::new();
        let handler = shared.clone();
        tokio::spawn(serve::accept_loop(
            listener,
            token.clone(),
            "the OTLP receiver",
            move |request| {
                let shared = handler.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&shared, request).await) }
            },
        ));
        Ok(Receiver {
            shared,
            addr,
            token,
        })
    }

    /// The base URL to give an exporter: `http://127.0.0.1:PORT` (records go to `/v1/logs`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every record accepted so far, in arrival order.
    pub fn records(&self) -> Vec<ReceivedRecord> {
        self.shared
            .records
            .lock()
            .map(|records| records.clone())
            .unwrap_or_default()
    }

    /// The string attribute `key` of every record accepted so far (records without it are
    /// skipped).
    pub fn string_attributes(&self, key: &str) -> Vec<String> {
        self.shared
            .records
            .lock()
            .map(|records| {
                records
                    .iter()
                    .filter_map(|r| r.string_attribute(key).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The counters so far.
    pub fn stats(&self) -> ReceiverStats {
        self.shared
            .stats
            .lock()
            .map(|stats| stats.clone())
            .unwrap_or_default()
    }

    /// Makes the next request with records a partial success: the last `n` records of it are
    /// refused (not kept) and the answer says `rejected_log_records: n`.
    pub fn refuse_next(&self, n: i64) {
        if let Ok(mut refusals) = self.shared.refusals.lock() {
            refusals.push_back(n);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

fn answer(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

fn refuse(shared: &Shared, status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    if let Ok(mut stats) = shared.stats.lock() {
        stats.bad_requests += 1;
    }
    answer(status, "text/plain", format!("{message}\n").into_bytes())
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::POST || request.uri().path() != "/v1/logs" {
        return refuse(
            shared,
            StatusCode::NOT_FOUND,
            "only POST /v1/logs is served",
        );
    }
    let header_value = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    let content_type = header_value(header::CONTENT_TYPE).unwrap_or_default();
    let encoding = header_value(header::CONTENT_ENCODING);
    if !content_type.starts_with("application/x-protobuf") {
        return refuse(
            shared,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type must be application/x-protobuf",
        );
    }
    let wire = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return refuse(shared, StatusCode::BAD_REQUEST, &error.to_string()),
    };
    let gzip = match encoding.as_deref() {
        None | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            return refuse(
                shared,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("content-encoding {other} is not supported"),
            );
        }
    };
    let body = if gzip {
        let mut plain = Vec::new();
        if let Err(error) = flate2::read::GzDecoder::new(wire.as_ref()).read_to_end(&mut plain) {
            return refuse(shared, StatusCode::BAD_REQUEST, &format!("gzip: {error}"));
        }
        Bytes::from(plain)
    } else {
        wire.clone()
    };
    let request = match ExportLogsServiceRequest::decode(body) {
        Ok(request) => request,
        Err(error) => {
            return refuse(
                shared,
                StatusCode::BAD_REQUEST,
                &format!("not an ExportLogsServiceRequest: {error}"),
            );
        }
    };

    let mut received = Vec::new();
    for resource_logs in request.resource_logs {
        let resource = resource_logs
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default();
        for scope_logs in resource_logs.scope_logs {
            for record in scope_logs.log_records {
                received.push(ReceivedRecord {
                    resource: resource.clone(),
                    record,
                });
            }
        }
    }
    let refused = if received.is_empty() {
        0
    } else {
        shared
            .refusals
            .lock()
            .ok()
            .and_then(|mut refusals| refusals.pop_front())
            .unwrap_or(0)
            .clamp(0, received.len() as i64)
    };
    received.truncate(received.len() - refused as usize);
    if let Ok(mut stats) = shared.stats.lock() {
        stats.requests += 1;
        stats.gzip_requests += u64::from(gzip);
        stats.wire_bytes += wire.len() as u64;
        stats.records += received.len() as u64;
        stats.refused_records += refused as u64;
        if received.is_empty() && refused == 0 {
            stats.empty_requests += 1;
        }
    }
    if let Ok(mut records) = shared.records.lock() {
        records.extend(received);
    }
    let response = ExportLogsServiceResponse {
        partial_success: (refused > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: refused,
            error_message: format!("{refused} records refused by the test receiver"),
        }),
    };
    answer(
        StatusCode::OK,
        "application/x-protobuf",
        response.encode_to_vec(),
    )
}
