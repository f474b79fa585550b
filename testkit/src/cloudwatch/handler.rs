//! One request through the proxy: count it, check a PutLogEvents against the limits, serve
//! an injected fault, forward to moto, and fix up the answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::fault::{Fault, FaultQueue};
use super::limits::{self, Limits, Verdict};
use super::stats::Counters;
use super::upstream;
use super::violation::Violation;
use super::wire::{self, PutLogEvents};

/// What every connection of one proxy shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// moto's `host:port`.
    pub upstream: String,
    pub limits: Limits,
    pub faults: FaultQueue,
    pub counters: Counters,
    pub violations: Mutex<Vec<Violation>>,
    /// Retention in days per log group, as set through the proxy with PutRetentionPolicy.
    pub retention: Mutex<HashMap<String, u32>>,
}

/// Why a connection is closed without an answer; hyper closes it when the service fails.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Closed {
    /// An injected fault asked for it.
    #[error("connection closed by an injected {0:?} fault")]
    Fault(Fault),
    /// The client went away before its request was read.
    #[error("the request body could not be read")]
    Body(#[source] hyper::Error),
}

/// What was decided about a PutLogEvents before it was forwarded.
struct Put {
    verdict: Verdict,
    /// Events in the request as sent.
    total: usize,
}

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Closed> {
    let (head, incoming) = request.into_parts();
    let operation = wire::operation(&head.headers);
    shared.counters.update(|s| {
        s.requests += 1;
        *s.operations.entry(operation.clone()).or_default() += 1;
    });
    let body = incoming.collect().await.map_err(Closed::Body)?.to_bytes();

    let mut forwarded = body.clone();
    let mut put = None;
    if operation == "PutLogEvents" {
        shared.counters.update(|s| s.put_log_events_calls += 1);
        if let Some(request) = PutLogEvents::parse(&body) {
            match check(&shared, &request) {
                Err(message) => {
                    return Ok(wire::aws_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterException",
                        &message,
                    ));
                }
                Ok(verdict) => {
                    if !verdict.rejected.is_empty() {
                        forwarded = request.with_events(&verdict.kept);
                    }
                    put = Some(Put {
                        verdict,
                        total: request.events.len(),
                    });
                }
            }
        }
    }

    let fault = shared.faults.take(&operation);
    let mut delay = None;
    if let Some(fault) = &fault {
        shared.counters.update(|s| s.faults_served += 1);
        tracing::info!(operation, fault = ?fault, "serving an injected fault");
        let group = wire::log_group(&body);
        if let Some(response) = wire::fault_response(fault, &operation, group.as_deref()) {
            return Ok(response);
        }
        match fault {
            Fault::DropBeforeForward => return Err(Closed::Fault(fault.clone())),
            Fault::Delay(pause) => delay = Some(*pause),
            _ => {}
        }
    }

    // A request that reached the service is carried out even if the client hangs up (hyper
    // drops this future when it does): forward from a task of its own.
    let task = tokio::spawn({
        let shared = shared.clone();
        let operation = operation.clone();
        async move {
            if let Some(pause) = delay {
                tokio::time::sleep(pause).await;
            }
            forward(&shared, &operation, &head, body, forwarded, put).await
        }
    });
    let response = task.await.unwrap_or_else(|error| {
        tracing::warn!(%error, operation, "the forwarding task failed");
        wire::aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "the strict proxy's forwarding task failed",
        )
    });

    match fault {
        Some(Fault::TimeoutAfterForward(hold)) => {
            tokio::time::sleep(hold).await;
            Err(Closed::Fault(Fault::TimeoutAfterForward(hold)))
        }
        Some(fault @ Fault::DropAfterForward) => Err(Closed::Fault(fault)),
        _ => Ok(response),
    }
}

/// Forwards to moto and fixes up its answer; a 502 when moto cannot be reached.
async fn forward(
    shared: &Shared,
    operation: &str,
    head: &hyper::http::request::Parts,
    body: Bytes,
    forwarded: Bytes,
    put: Option<Put>,
) -> Response<Full<Bytes>> {
    match upstream::forward(&shared.upstream, head, forwarded).await {
        Ok(response) => after_forward(shared, operation, &body, put, response),
        Err(error) => {
            tracing::warn!(%error, operation, "forwarding to moto failed");
            shared.counters.update(|s| s.upstream_errors += 1);
            wire::aws_error(
                StatusCode::BAD_GATEWAY,
                "ServiceUnavailableException",
                &format!("the strict proxy could not forward to moto: {error}"),
            )
        }
    }
}

/// Checks a PutLogEvents: the verdict when it may be forwarded; when it may not, the
/// violations are recorded and the service's `InvalidParameterException` message returned.
fn check(shared: &Shared, request: &PutLogEvents) -> Result<Verdict, String> {
    let bytes: usize = request
        .events
        .iter()
        .map(|e| e.message_bytes + limits::EVENT_OVERHEAD_BYTES)
        .sum();
    shared.counters.update(|s| {
        s.put_log_events_events += request.events.len() as u64;
        s.put_log_events_bytes += bytes as u64;
    });
    let retention = shared
        .retention
        .lock()
        .ok()
        .and_then(|retention| retention.get(&request.log_group).copied());
    let verdict = limits::check(&shared.limits, &request.events, now_ms(), retention);
    let Some(first) = verdict.broken.first() else {
        return Ok(verdict);
    };
    for rule in &verdict.broken {
        tracing::warn!(
            log_group = request.log_group,
            log_stream = request.log_stream,
            rule = %rule,
            "PutLogEvents breaks a CloudWatch Logs limit"
        );
    }
    if let Ok(mut violations) = shared.violations.lock() {
        violations.extend(verdict.broken.iter().map(|rule| Violation {
            rule: rule.clone(),
            log_group: request.log_group.clone(),
            log_stream: request.log_stream.clone(),
        }));
    }
    shared.counters.update(|s| s.violations += 1);
    Err(first.aws_message())
}

/// Learns retention policies from moto's successful answers, counts stored and dropped
/// events, and puts the proxy's own `rejectedLogEventsInfo` into a PutLogEvents answer.
fn after_forward(
    shared: &Shared,
    operation: &str,
    body: &[u8],
    put: Option<Put>,
    response: Response<Bytes>,
) -> Response<Full<Bytes>> {
    let (parts, moto_body) = response.into_parts();
    if !parts.status.is_success() {
        return Response::from_parts(parts, Full::new(moto_body));
    }
    match operation {
        "PutRetentionPolicy" => {
            if let (Some((group, Some(days))), Ok(mut retention)) =
                (wire::retention_policy(body), shared.retention.lock())
            {
                retention.insert(group, days);
            }
        }
        "DeleteRetentionPolicy" | "DeleteLogGroup" => {
            if let (Some(group), Ok(mut retention)) =
                (wire::log_group(body), shared.retention.lock())
            {
                retention.remove(&group);
            }
        }
        _ => {}
    }
    let Some(Put { verdict, total }) = put else {
        return Response::from_parts(parts, Full::new(moto_body));
    };
    // A batch that got here is chronological: the too-old events come first, then the
    // expired ones, and every event from the first too-new one on is too new.
    let rejected = &verdict.rejected;
    let too_new = rejected
        .too_new_start
        .map_or(0, |start| total.saturating_sub(start));
    let too_old = rejected.too_old_end.map_or(0, |end| end + 1);
    let expired = rejected
        .expired_end
        .map_or(0, |end| (end + 1).saturating_sub(too_old));
    shared.counters.update(|s| {
        s.events_stored += verdict.kept.len() as u64;
        s.events_too_new += too_new as u64;
        s.events_too_old += too_old as u64;
        s.events_expired += expired as u64;
    });
    let patched = wire::with_rejected_info(&moto_body, rejected).unwrap_or(moto_body);
    Response::from_parts(parts, Full::new(patched))
}

/// Milliseconds since the epoch by the system clock, as the service compares timestamps.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(i64::MAX)
}
