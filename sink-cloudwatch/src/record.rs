//! The message body of one log event: the [`Event`] as JSON, its message cut when too large.
//!
//! A body is the event's JSON exactly as `serde_json` writes it, so every reader parses it back
//! with `serde_json::from_str::<Event>`. When that JSON is longer than
//! [`MAX_MESSAGE_BYTES`](crate::limits::MAX_MESSAGE_BYTES), the event's `message` is cut (on a
//! character boundary) to fit, and a marker is added so the cut is never silent:
//!
//! ```json
//! {"uid":"…","message":"Back-off restarting …","…":"…",
//!  "truncated":{"field":"message","originalBytes":1500000,"keptBytes":1048000}}
//! ```
//!
//! The record stays valid JSON and still parses as an [`Event`] (the extra key is ignored). An
//! event too large even with an empty message (huge names or labels) is refused for good and
//! reported as a per-event rejection.

use event_core::Event;
use serde::{Deserialize, Serialize};

use crate::template::truncate_at_char;

/// The marker added to a record whose message was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Truncation {
    /// The field that was cut: always `message`.
    pub field: String,
    /// Length of the original message, in UTF-8 bytes.
    pub original_bytes: usize,
    /// Length of the message kept, in UTF-8 bytes.
    pub kept_bytes: usize,
}

#[derive(Serialize)]
struct TruncatedRecord<'a> {
    #[serde(flatten)]
    event: &'a Event,
    truncated: Truncation,
}

/// A message body ready for PutLogEvents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body {
    /// The JSON text.
    pub message: String,
    /// Set when the message was cut.
    pub truncation: Option<Truncation>,
}

/// Why an event has no body that fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    /// Even with an empty message the record is larger than the limit.
    #[error(
        "the event is {bytes} bytes as JSON even with its message removed, over the {max}-byte CloudWatch Logs event limit"
    )]
    TooLarge { bytes: usize, max: usize },
    /// serde_json could not write the event.
    #[error("the event cannot be written as JSON: {0}")]
    Json(String),
}

/// The body of `event`, at most `max` bytes.
pub(crate) fn body(event: &Event, max: usize) -> Result<Body, BodyError> {
    let json = to_json(event)?;
    if json.len() <= max {
        return Ok(Body {
            message: json,
            truncation: None,
        });
    }
    let original = event.message.len();
    let mut cut = event.clone();
    // First guess: drop the excess plus room for the marker; escapes can make the JSON of the
    // kept text longer than its bytes, so shrink again by what is still over, a few times.
    let mut keep = original.saturating_sub(json.len() - max + 128);
    for _ in 0..16 {
        cut.message.clone_from(&event.message);
        truncate_at_char(&mut cut.message, keep);
        let record = TruncatedRecord {
            event: &cut,
            truncated: Truncation {
                field: "message".to_owned(),
                original_bytes: original,
                kept_bytes: cut.message.len(),
            },
        };
        let text = serde_json::to_string(&record).map_err(|e| BodyError::Json(e.to_string()))?;
        if text.len() <= max {
            return Ok(Body {
                message: text,
                truncation: Some(record.truncated),
            });
        }
        if cut.message.is_empty() {
            return Err(BodyError::TooLarge {
                bytes: text.len(),
                max,
            });
        }
        keep = cut.message.len().saturating_sub((text.len() - max).max(1));
    }
    Err(BodyError::TooLarge {
        bytes: json.len(),
        max,
    })
}

fn to_json(event: &Event) -> Result<String, BodyError> {
    let mut out = Vec::with_capacity(512);
    event.write_json(&mut out);
    String::from_utf8(out).map_err(|e| BodyError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use event_core::testing::sample_event;

    use super::*;
    use crate::limits::MAX_MESSAGE_BYTES;

    #[test]
    fn a_small_event_is_its_json_unchanged() {
        let event = sample_event("u1", 7, "payments");
        let body = body(&event, MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(body.message, serde_json::to_string(&event).unwrap());
        assert_eq!(body.truncation, None);
    }

    #[test]
    fn an_oversized_message_is_cut_to_fit_and_marked() {
        let mut event = sample_event("u1", 7, "payments");
        event.message = "x".repeat(2 * MAX_MESSAGE_BYTES);
        let body = body(&event, MAX_MESSAGE_BYTES).unwrap();
        assert!(body.message.len() <= MAX_MESSAGE_BYTES);
        assert!(
            body.message.len() > MAX_MESSAGE_BYTES - 200,
            "{}",
            body.message.len()
        );
        let value: serde_json::Value = serde_json::from_str(&body.message).unwrap();
        assert_eq!(value["truncated"]["field"], "message");
        assert_eq!(value["truncated"]["originalBytes"], 2 * MAX_MESSAGE_BYTES);
        let back: Event = serde_json::from_str(&body.message).unwrap();
        assert_eq!(back.key(), event.key());
        assert_eq!(
            value["truncated"]["keptBytes"].as_u64().unwrap() as usize,
            back.message.len()
        );
        assert!(event.message.starts_with(&back.message));
    }

    #[test]
    fn multibyte_text_is_cut_on_a_character_boundary() {
        let mut event = sample_event("u1", 7, "payments");
        event.message = "事件✓".repeat(2000);
        let body = body(&event, 4096).unwrap();
        assert!(body.message.len() <= 4096);
        let back: Event = serde_json::from_str(&body.message).unwrap();
        assert!(event.message.starts_with(&back.message));
        assert!(back.message.len() > 3000);
    }

    #[test]
    fn escaped_characters_still_fit_after_the_cut() {
        let mut event = sample_event("u1", 7, "payments");
        // Each control character is six bytes of JSON for one byte of text.
        event.message = "\u{1}\"".repeat(3000);
        let body = body(&event, 4096).unwrap();
        assert!(body.message.len() <= 4096, "{}", body.message.len());
        let back: Event = serde_json::from_str(&body.message).unwrap();
        assert!(event.message.starts_with(&back.message));
        assert!(body.truncation.is_some());
    }

    #[test]
    fn an_event_too_large_without_its_message_is_refused() {
        let mut event = sample_event("u1", 7, "payments");
        event.regarding.name = "n".repeat(5000);
        event.message = "m".repeat(100);
        let err = body(&event, 4096).unwrap_err();
        assert!(
            matches!(err, BodyError::TooLarge { max: 4096, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("4096-byte"), "{err}");
    }
}
