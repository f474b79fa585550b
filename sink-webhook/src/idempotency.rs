//! The `Idempotency-Key` of a request: a digest of the occurrence keys it carries, so that a
//! resend of the same events carries the same key and a receiver can drop it.

use event_core::Event;
use sha2::{Digest, Sha256};

/// The default name of the header that carries [`idempotency_key`].
pub const DEFAULT_IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The idempotency key of a request carrying `events`, in that order.
///
/// It is the lowercase hex SHA-256 of, for each event, its `uid`, a newline, its
/// `resourceVersion` and a newline (neither holds a newline in Kubernetes). A receiver can
/// recompute it from the records of the body; in Python:
///
/// ```text
/// sha256("".join(f"{r['uid']}\n{r['resourceVersion']}\n" for r in records).encode()).hexdigest()
/// ```
///
/// The same events in the same order give the same key, whichever process sends them and
/// however the body is encoded (JSON or NDJSON, gzip or not).
///
/// ```
/// use event_core::Event;
/// use sink_webhook::idempotency_key;
///
/// let batch = [Event::new("7d3c6a2e", "1042"), Event::new("9f1b", "1043")];
/// let key = idempotency_key(&batch);
/// assert_eq!(key.len(), 64);
/// assert_eq!(key, idempotency_key(&batch.clone()), "stable across resends");
/// assert_ne!(key, idempotency_key(&batch[..1]));
/// ```
pub fn idempotency_key(events: &[Event]) -> String {
    key_of(events)
}

/// [`idempotency_key`] of the events in iteration order.
pub(crate) fn key_of<'a>(events: impl IntoIterator<Item = &'a Event>) -> String {
    let mut digest = Sha256::new();
    for event in events {
        digest.update(event.uid.as_bytes());
        digest.update(b"\n");
        digest.update(event.resource_version.as_bytes());
        digest.update(b"\n");
    }
    hex(&digest.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_documented_digest() {
        // printf '7d3c6a2e\n1042\n' | sha256sum
        let key = idempotency_key(&[Event::new("7d3c6a2e", "1042")]);
        assert_eq!(
            key,
            "a401f6b5218fb393b5b1b07d57267290c085232ed4d9b73beeab3cf8ba7bcced"
        );
    }

    #[test]
    fn an_update_of_the_same_event_is_another_key() {
        let first = idempotency_key(&[Event::new("u", "1")]);
        let update = idempotency_key(&[Event::new("u", "2")]);
        assert_ne!(first, update);
    }

    #[test]
    fn the_separator_keeps_keys_apart_that_concatenate_alike() {
        let a = idempotency_key(&[Event::new("ab", "1")]);
        let b = idempotency_key(&[Event::new("a", "b1")]);
        assert_ne!(a, b);
    }

    #[test]
    fn fields_other_than_the_key_do_not_change_it() {
        let mut event = Event::new("u", "1");
        let before = idempotency_key(std::slice::from_ref(&event));
        event.message = "another text".into();
        assert_eq!(before, idempotency_key(&[event]));
    }
}
