//! [`Key`]: an occurrence key as a [`DedupeWindow`](super::DedupeWindow) holds it.
//!
//! A window over a busy day holds tens of thousands of keys, each twice (in the set and in the
//! time index). As two strings, a uid and a resourceVersion, a key is about 130 bytes of heap;
//! the uids Kubernetes gives are UUIDs and resourceVersions are decimal numbers, which fit in 24
//! bytes with no heap at all. The history bench over a 1,000,000-record day measured the window
//! at about 49,000 keys. Any other text is kept as it is, so two keys are equal exactly when
//! their uids and resourceVersions are.

use event_core::Event;

/// An occurrence key: compact when the uid is a canonical (lowercase, hyphenated) UUID and the
/// resourceVersion a canonical decimal number, its text otherwise. The two forms never meet:
/// only text that has no compact form is kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Compact { uid: u128, resource_version: u64 },
    Text(Box<str>),
}

impl Key {
    pub(super) fn of(event: &Event) -> Key {
        match (uuid(&event.uid), decimal(&event.resource_version)) {
            (Some(uid), Some(resource_version)) => Key::Compact {
                uid,
                resource_version,
            },
            // The uid's length first, so that no two pairs run together into one text.
            _ => Key::Text(
                format!(
                    "{}:{}{}",
                    event.uid.len(),
                    event.uid,
                    event.resource_version
                )
                .into_boxed_str(),
            ),
        }
    }
}

/// The value of a UUID in its canonical text form, `8-4-4-4-12` lowercase hex digits.
fn uuid(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut value: u128 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        value = (value << 4) | u128::from(digit);
    }
    Some(value)
}

/// The value of a decimal number written as Go writes one: digits, no sign, no leading zero.
fn decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let canonical = match bytes {
        [] => false,
        [b'0'] => true,
        [first, ..] => *first != b'0' && bytes.iter().all(u8::is_ascii_digit),
    };
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(uid: &str, rv: &str) -> Key {
        Key::of(&Event::new(uid, rv))
    }

    #[test]
    fn kubernetes_uids_and_versions_are_compact() {
        assert_eq!(
            key("7d3c6a2e-0b1f-4c5d-9e8f-0123456789ab", "1042"),
            Key::Compact {
                uid: 0x7d3c6a2e_0b1f_4c5d_9e8f_0123456789ab,
                resource_version: 1042
            }
        );
    }

    #[test]
    fn anything_else_is_kept_as_text_and_never_equals_a_compact_key() {
        let canonical = key("7d3c6a2e-0b1f-4c5d-9e8f-0123456789ab", "1042");
        for (uid, rv) in [
            ("7D3C6A2E-0B1F-4C5D-9E8F-0123456789AB", "1042"),
            ("7d3c6a2e-0b1f-4c5d-9e8f-0123456789ab", "01042"),
            ("7d3c6a2e-0b1f-4c5d-9e8f-0123456789ab", "+1042"),
            ("7d3c6a2e0b1f4c5d9e8f0123456789ab", "1042"),
            (
                "7d3c6a2e-0b1f-4c5d-9e8f-0123456789ab",
                "99999999999999999999999",
            ),
        ] {
            let other = key(uid, rv);
            assert!(matches!(other, Key::Text(_)), "{uid} {rv}");
            assert_ne!(other, canonical, "{uid} {rv}");
        }
    }

    proptest! {
        /// Two keys are equal exactly when the uids and the resourceVersions are.
        #[test]
        fn keys_are_equal_exactly_when_their_texts_are(
            a in ("[0-9a-f-]{0,37}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-fA-F]{12}", "[0-9+]{0,21}"),
            b in ("[0-9a-f-]{0,37}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-fA-F]{12}", "[0-9+]{0,21}"),
        ) {
            prop_assert_eq!(key(&a.0, &a.1) == key(&b.0, &b.1), a == b);
            prop_assert_eq!(key(&a.0, &a.1), key(&a.0, &a.1));
        }
    }
}
