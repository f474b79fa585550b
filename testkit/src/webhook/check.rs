//! Reading one webhook request as a careful receiver would: credentials, headers, gzip, the
//! body in its declared format, and the idempotency key recomputed from the records.

use std::io::Read as _;

use bytes::Bytes;
use http::request::Parts;
use http_body_util::Full;
use sha2::{Digest as _, Sha256};

use super::{Accepted, ReceiverConfig};

/// What to do with a request.
pub(super) enum Verdict {
    Unauthorized,
    Refused {
        status: u16,
        problem: String,
    },
    Accepted {
        request: Accepted,
        records: Vec<serde_json::Value>,
        /// Things wrong that do not stop a lenient receiver (a missing extra header).
        problems: Vec<String>,
    },
}

/// The idempotency key a webhook sink documents for records with these keys, in order: the
/// lowercase hex SHA-256 of `uid\nresourceVersion\n` for each. Computed here independently of
/// the sink's code.
pub fn idempotency_key<'a>(keys: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut digest = Sha256::new();
    for (uid, rv) in keys {
        digest.update(format!("{uid}\n{rv}\n").as_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn record_key(record: &serde_json::Value) -> Option<(String, String)> {
    Some((
        record.get("uid")?.as_str()?.to_owned(),
        record.get("resourceVersion")?.as_str()?.to_owned(),
    ))
}

pub(super) fn answer(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

fn header<'a>(head: &'a Parts, name: &str) -> Option<&'a str> {
    head.headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn check(config: &ReceiverConfig, head: &Parts, body: &Bytes) -> Verdict {
    let refuse = |status: u16, problem: String| Verdict::Refused { status, problem };
    if head.method != http::Method::POST {
        return refuse(405, format!("method {} instead of POST", head.method));
    }
    if head.uri.path() != config.path {
        return refuse(
            404,
            format!("path {} instead of {}", head.uri.path(), config.path),
        );
    }
    if let Some(expected) = &config.authorization
        && header(head, "authorization") != Some(expected.as_str())
    {
        return Verdict::Unauthorized;
    }
    let mut problems = Vec::new();
    for (name, value) in &config.headers {
        if header(head, name) != Some(value.as_str()) {
            problems.push(format!("header {name} missing or not {value:?}"));
        }
    }
    let gzip = match header(head, "content-encoding") {
        None | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => return refuse(415, format!("Content-Encoding {other:?}")),
    };
    let text = if gzip {
        if !body.starts_with(&[0x1f, 0x8b]) {
            return refuse(
                400,
                "Content-Encoding gzip but the body is not gzip".to_owned(),
            );
        }
        let mut out = Vec::new();
        if let Err(error) = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out) {
            return refuse(400, format!("the gzip body does not decompress: {error}"));
        }
        out
    } else {
        if body.starts_with(&[0x1f, 0x8b]) {
            problems.push("a gzip body without Content-Encoding: gzip".to_owned());
        }
        body.to_vec()
    };
    let content_type = header(head, "content-type").unwrap_or_default().to_owned();
    let records: Vec<serde_json::Value> = match content_type.split(';').next().map(str::trim) {
        Some("application/json") => match serde_json::from_slice(&text) {
            Ok(serde_json::Value::Array(records)) => records,
            Ok(_) => return refuse(400, "a JSON body that is not an array".to_owned()),
            Err(error) => return refuse(400, format!("the JSON body does not parse: {error}")),
        },
        Some("application/x-ndjson") => {
            if !text.is_empty() && !text.ends_with(b"\n") {
                problems.push("an NDJSON body whose last line has no newline".to_owned());
            }
            let mut records = Vec::new();
            for (n, line) in text.split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                match serde_json::from_slice(line) {
                    Ok(record) => records.push(record),
                    Err(error) => {
                        return refuse(
                            400,
                            format!("NDJSON line {} does not parse: {error}", n + 1),
                        );
                    }
                }
            }
            records
        }
        _ => return refuse(415, format!("Content-Type {content_type:?}")),
    };
    let mut keys = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        match record_key(record) {
            Some(key) => keys.push(key),
            None => {
                return refuse(
                    400,
                    format!("record {i} has no string uid and resourceVersion"),
                );
            }
        }
    }
    let Some(key) = header(head, &config.idempotency_header) else {
        return refuse(400, format!("no {} header", config.idempotency_header));
    };
    let expected = idempotency_key(keys.iter().map(|(u, r)| (u.as_str(), r.as_str())));
    if key != expected {
        problems.push(format!(
            "{} {key} is not the digest of the records' keys ({expected})",
            config.idempotency_header
        ));
    }
    Verdict::Accepted {
        request: Accepted {
            idempotency_key: key.to_owned(),
            keys,
            gzip,
            content_type,
            wire_bytes: body.len(),
            repeated: false,
        },
        records,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_matches_the_documented_formula() {
        // printf '7d3c6a2e\n1042\n' | sha256sum
        assert_eq!(
            idempotency_key([("7d3c6a2e", "1042")]),
            "a401f6b5218fb393b5b1b07d57267290c085232ed4d9b73beeab3cf8ba7bcced"
        );
    }
}
