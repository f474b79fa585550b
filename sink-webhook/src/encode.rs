//! From a batch to request bodies: the records in JSON or NDJSON, cut to the request limits,
//! each body with the idempotency key of the events it carries.

use event_core::sink::BatchLimits;
use event_core::{Event, Rejection};
use serde::{Deserialize, Serialize};

use crate::idempotency::key_of;

/// How the records of one request are written in its body.
///
/// Each record is the event's JSON as every Event Keeper sink stores it
/// ([`Event::write_json`]): one flat object whose `uid` and `resourceVersion` are its
/// occurrence key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// One JSON array of records per request, `Content-Type: application/json`.
    #[default]
    Json,
    /// One record per line, each line ending in `\n`, `Content-Type: application/x-ndjson`.
    Ndjson,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// The size of a body holding records of `record_bytes` in total after `records_before`
    /// others: JSON adds `[`, `]` and a comma between records, NDJSON a newline after each.
    fn body_len(self, body_so_far: usize, records_before: usize, record: usize) -> usize {
        match self {
            Format::Json if records_before == 0 => body_so_far + record + 1,
            Format::Json => body_so_far + 1 + record + 1,
            Format::Ndjson => body_so_far + record + 1,
        }
    }

    /// The pipeline's batch limits that make a batch fit one request of at most `max_events`
    /// records and `max_body_bytes` bytes: one byte per record (comma or newline), and for
    /// JSON the brackets less the comma the first record does not have.
    pub(crate) fn batch_limits(self, max_events: usize, max_body_bytes: usize) -> BatchLimits {
        let framing = match self {
            Format::Json => 1,
            Format::Ndjson => 0,
        };
        BatchLimits::new(max_events, max_body_bytes.saturating_sub(framing)).per_event_overhead(1)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        })
    }
}

/// The most one request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestLimits {
    pub max_events: usize,
    pub max_body_bytes: usize,
}

/// One request to make: its body (uncompressed), its idempotency key, and which events of the
/// batch it carries.
#[derive(Debug)]
pub(crate) struct Request {
    pub body: Vec<u8>,
    pub idempotency_key: String,
    pub indexes: Vec<usize>,
}

/// The requests for a batch, in batch order, and the events too large for any request.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub requests: Vec<Request>,
    pub rejected: Vec<Rejection>,
}

/// A body being filled.
struct Open {
    body: Vec<u8>,
    indexes: Vec<usize>,
}

/// Cuts `batch` into requests within `limits`. The cut depends only on the batch, so a resend
/// of the same batch makes the same requests with the same keys. A batch cut by the pipeline
/// to [`Format::batch_limits`] makes one request.
pub(crate) fn plan(batch: &[Event], format: Format, limits: RequestLimits) -> Plan {
    let mut plan = Plan::default();
    let mut record = Vec::with_capacity(1024);
    let mut open: Option<Open> = None;
    for (index, event) in batch.iter().enumerate() {
        record.clear();
        event.write_json(&mut record);
        let empty = start(format).len();
        if format.body_len(empty, 0, record.len()) > limits.max_body_bytes {
            plan.rejected.push(Rejection::new(
                index,
                format!(
                    "its record is {} bytes, over the webhook's max_body_bytes ({}); raise max_body_bytes or filter the event out",
                    record.len(),
                    limits.max_body_bytes
                ),
            ));
            continue;
        }
        let fits = open.as_ref().is_some_and(|o| {
            o.indexes.len() < limits.max_events
                && format.body_len(o.body.len(), o.indexes.len(), record.len())
                    <= limits.max_body_bytes
        });
        if !fits && let Some(full) = open.take() {
            plan.requests.push(finish(full, batch, format));
        }
        let o = open.get_or_insert_with(|| Open {
            body: start(format),
            indexes: Vec::new(),
        });
        if format == Format::Json && !o.indexes.is_empty() {
            o.body.push(b',');
        }
        o.body.extend_from_slice(&record);
        if format == Format::Ndjson {
            o.body.push(b'\n');
        }
        o.indexes.push(index);
    }
    if let Some(last) = open {
        plan.requests.push(finish(last, batch, format));
    }
    plan
}

fn start(format: Format) -> Vec<u8> {
    match format {
        Format::Json => b"[".to_vec(),
        Format::Ndjson => Vec::new(),
    }
}

fn finish(mut open: Open, batch: &[Event], format: Format) -> Request {
    if format == Format::Json {
        open.body.push(b']');
    }
    Request {
        idempotency_key: key_of(open.indexes.iter().filter_map(|&i| batch.get(i))),
        body: open.body,
        indexes: open.indexes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::idempotency_key;

    fn batch(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let mut e = Event::new(format!("uid-{i}"), format!("{}", 100 + i));
                e.message = format!("message {i}");
                e
            })
            .collect()
    }

    fn record_len(event: &Event) -> usize {
        let mut out = Vec::new();
        event.write_json(&mut out);
        out.len()
    }

    const ROOMY: RequestLimits = RequestLimits {
        max_events: 1000,
        max_body_bytes: 1 << 20,
    };

    #[test]
    fn json_is_one_array_of_the_records_every_sink_writes() {
        let events = batch(3);
        let plan = plan(&events, Format::Json, ROOMY);
        assert_eq!(plan.requests.len(), 1);
        let parsed: Vec<Event> = serde_json::from_slice(&plan.requests[0].body).unwrap();
        assert_eq!(parsed, events);
        assert_eq!(plan.requests[0].indexes, [0, 1, 2]);
        assert_eq!(plan.requests[0].idempotency_key, idempotency_key(&events));
    }

    #[test]
    fn ndjson_is_one_record_per_line() {
        let events = batch(2);
        let plan = plan(&events, Format::Ndjson, ROOMY);
        let body = String::from_utf8(plan.requests[0].body.clone()).unwrap();
        assert!(body.ends_with('\n'));
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], serde_json::to_string(&events[0]).unwrap());
    }

    #[test]
    fn bodies_are_cut_at_the_event_limit() {
        let events = batch(5);
        let limits = RequestLimits {
            max_events: 2,
            max_body_bytes: 1 << 20,
        };
        let plan = plan(&events, Format::Json, limits);
        let cut: Vec<Vec<usize>> = plan.requests.iter().map(|r| r.indexes.clone()).collect();
        assert_eq!(cut, [vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(
            plan.requests[1].idempotency_key,
            idempotency_key(&events[2..4])
        );
    }

    #[test]
    fn a_body_exactly_at_the_byte_limit_is_one_request_and_a_byte_less_is_two() {
        for format in [Format::Json, Format::Ndjson] {
            let events = batch(3);
            let exact = plan(&events, format, ROOMY).requests[0].body.len();
            let at = RequestLimits {
                max_events: 1000,
                max_body_bytes: exact,
            };
            assert_eq!(plan(&events, format, at).requests.len(), 1, "{format}");
            let under = RequestLimits {
                max_body_bytes: exact - 1,
                ..at
            };
            let split = plan(&events, format, under);
            assert_eq!(split.requests.len(), 2, "{format}");
            assert!(split.requests.iter().all(|r| r.body.len() < exact));
        }
    }

    #[test]
    fn the_pipelines_batch_limits_make_one_request() {
        // The pipeline counts each event's JSON plus the per-event overhead against max_bytes.
        for format in [Format::Json, Format::Ndjson] {
            let events = batch(4);
            let body = plan(&events, format, ROOMY).requests[0].body.len();
            let limits = format.batch_limits(1000, body);
            let counted: usize = events
                .iter()
                .map(|e| record_len(e) + limits.per_event_overhead)
                .sum();
            assert_eq!(
                counted, limits.max_bytes,
                "{format}: a full batch is exactly one body"
            );
        }
    }

    #[test]
    fn a_record_too_large_for_any_body_is_rejected_and_the_rest_sent() {
        let mut events = batch(3);
        events[1].message = "x".repeat(600);
        let limits = RequestLimits {
            max_events: 1000,
            max_body_bytes: 500,
        };
        let plan = plan(&events, Format::Json, limits);
        assert_eq!(plan.rejected.len(), 1);
        assert_eq!(plan.rejected[0].index, 1);
        assert!(plan.rejected[0].reason.contains("max_body_bytes (500)"));
        let sent: Vec<usize> = plan
            .requests
            .iter()
            .flat_map(|r| r.indexes.clone())
            .collect();
        assert_eq!(sent, [0, 2]);
    }

    #[test]
    fn the_same_batch_is_cut_the_same_way_with_the_same_keys() {
        let events = batch(7);
        let limits = RequestLimits {
            max_events: 3,
            max_body_bytes: 1 << 20,
        };
        let keys = |p: Plan| -> Vec<String> {
            p.requests.into_iter().map(|r| r.idempotency_key).collect()
        };
        assert_eq!(
            keys(plan(&events, Format::Json, limits)),
            keys(plan(&events, Format::Ndjson, limits))
        );
    }
}
