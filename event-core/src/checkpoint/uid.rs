//! An event's uid as the ledger keys it: 16 bytes for the UUIDs API servers assign.
//!
//! During a list every listed event has an entry until the list ends, so the key's size is
//! paid 100,000 times in a large cluster. A UUID held as text costs a 36-byte allocation (48 with
//! the allocator's rounding) beside a 16-byte pointer; held as bytes it costs nothing beside the
//! entry.

use std::fmt;

/// The canonical text form: 8-4-4-4-12 lowercase hex digits.
const TEXT_LEN: usize = 36;
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

/// A uid: the bytes of a UUID in its canonical lowercase form, or any other text as it is, so
/// that [`Display`](fmt::Display) gives back exactly the text it was made from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Uid {
    /// A UUID written as `8-4-4-4-12` lowercase hex digits.
    Uuid([u8; 16]),
    /// Anything else (an uppercase UUID, a test's "u1").
    Text(Box<str>),
}

impl Uid {
    /// The key for `text`.
    pub(crate) fn new(text: &str) -> Uid {
        parse_uuid(text).map_or_else(|| Uid::Text(Box::from(text)), Uid::Uuid)
    }

    /// The uid's text, written into `buf` when it is a UUID.
    pub(super) fn as_str<'a>(&'a self, buf: &'a mut [u8; TEXT_LEN]) -> &'a str {
        match self {
            Uid::Text(text) => text,
            Uid::Uuid(bytes) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut at = 0;
                for (i, byte) in bytes.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        buf[at] = b'-';
                        at += 1;
                    }
                    buf[at] = HEX[usize::from(byte >> 4)];
                    buf[at + 1] = HEX[usize::from(byte & 0x0f)];
                    at += 2;
                }
                // Only ASCII hex digits and hyphens were written.
                std::str::from_utf8(buf).unwrap_or_default()
            }
        }
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str(&mut [0; TEXT_LEN]))
    }
}

impl serde::Serialize for Uid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str(&mut [0; TEXT_LEN]))
    }
}

/// The 16 bytes of `text` when it is a UUID in canonical lowercase form.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.as_bytes();
    if text.len() != TEXT_LEN || HYPHENS.iter().any(|&i| text[i] != b'-') {
        return None;
    }
    let mut digits = text
        .iter()
        .enumerate()
        .filter(|(i, _)| !HYPHENS.contains(i))
        .map(|(_, &c)| lowercase_hex(c));
    let mut bytes = [0u8; 16];
    for byte in &mut bytes {
        let high = digits.next()??;
        let low = digits.next()??;
        *byte = high << 4 | low;
    }
    Some(bytes)
}

fn lowercase_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canonical_uuid_is_held_as_bytes_and_written_back_exactly() {
        let text = "0b6c4a8e-3f1d-4c2a-9e7b-5d8f1a2c3e4f";
        let uid = Uid::new(text);
        assert!(matches!(uid, Uid::Uuid(_)), "{uid:?}");
        assert_eq!(uid.to_string(), text);
        assert_eq!(serde_json::to_string(&uid).unwrap(), format!("\"{text}\""));
        assert_eq!(Uid::new(&uid.to_string()), uid);
    }

    #[test]
    fn any_other_text_is_kept_as_it_is() {
        for text in [
            "u1",
            "",
            "0B6C4A8E-3F1D-4C2A-9E7B-5D8F1A2C3E4F",
            "0b6c4a8e-3f1d-4c2a-9e7b-5d8f1a2c3e4",
            "0b6c4a8e-3f1d-4c2a-9e7b-5d8f1a2c3e4fa",
            "0b6c4a8e+3f1d-4c2a-9e7b-5d8f1a2c3e4f",
            "0b6c4a8e-3f1d-4c2a-9e7b-5d8f1a2c3e4g",
            "é6c4a8e-3f1d-4c2a-9e7b-5d8f1a2c3e4f",
        ] {
            let uid = Uid::new(text);
            assert_eq!(uid, Uid::Text(Box::from(text)), "{text}");
            assert_eq!(uid.to_string(), text);
        }
    }

    #[test]
    fn distinct_uuids_are_distinct_keys() {
        let a = Uid::new("00000000-0000-0000-0000-000000000001");
        let b = Uid::new("10000000-0000-0000-0000-000000000000");
        assert_ne!(a, b);
        assert_ne!(a, Uid::new("00000000-0000-0000-0000-000000000000"));
    }

    #[test]
    fn a_uid_key_is_no_bigger_than_a_boxed_str_and_a_tag() {
        assert!(std::mem::size_of::<Uid>() <= 24);
    }
}
