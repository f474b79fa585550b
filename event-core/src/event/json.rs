//! [`Event::write_json`]: the record every sink writes, without serde's machinery.
//!
//! A profile of the consumer put an eighth of its instructions in serde_json's escaping loop,
//! which looks at every byte of every string on its own. This writer emits the same bytes as
//! `serde_json::to_writer(&event)` (the tests compare them on any event), and skips runs of text
//! that need no escape eight bytes at a time.

use jiff::Timestamp;

use super::{Event, ObjectRef};

impl Event {
    /// Appends the event's JSON to `out`: byte for byte what `serde_json::to_writer` writes for
    /// it (the [`Serialize`](serde::Serialize) impl stays the definition), and faster.
    ///
    /// ```
    /// use event_core::Event;
    ///
    /// let mut event = Event::new("7d3c6a2e", "1042");
    /// event.message = "Back-off \"pulling\"\n".into();
    /// let mut out = Vec::new();
    /// event.write_json(&mut out);
    /// assert_eq!(out, serde_json::to_vec(&event)?);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"uid\":");
        write_str(out, &self.uid);
        out.extend_from_slice(b",\"resourceVersion\":");
        write_str(out, &self.resource_version);
        optional(out, b",\"namespace\":", self.namespace.as_deref());
        out.extend_from_slice(b",\"name\":");
        write_str(out, &self.name);
        out.extend_from_slice(b",\"regarding\":");
        write_reference(out, &self.regarding);
        if let Some(related) = &self.related {
            out.extend_from_slice(b",\"related\":");
            write_reference(out, related);
        }
        out.extend_from_slice(b",\"reason\":");
        write_str(out, &self.reason);
        out.extend_from_slice(b",\"message\":");
        write_str(out, &self.message);
        out.extend_from_slice(b",\"type\":");
        write_str(out, &self.event_type);
        optional(out, b",\"action\":", self.action.as_deref());
        optional(
            out,
            b",\"reportingController\":",
            self.reporting_controller.as_deref(),
        );
        optional(
            out,
            b",\"reportingInstance\":",
            self.reporting_instance.as_deref(),
        );
        out.extend_from_slice(b",\"count\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.count).as_bytes());
        out.extend_from_slice(b",\"firstSeen\":");
        write_time(out, self.first_seen);
        out.extend_from_slice(b",\"lastSeen\":");
        write_time(out, self.last_seen);
        out.extend_from_slice(b",\"api\":");
        // The API names hold nothing to escape.
        out.push(b'"');
        out.extend_from_slice(self.api.as_str().as_bytes());
        out.push(b'"');
        optional(out, b",\"cluster\":", self.cluster.as_deref());
        out.push(b'}');
    }
}

fn write_reference(out: &mut Vec<u8>, reference: &ObjectRef) {
    out.extend_from_slice(b"{\"kind\":");
    write_str(out, &reference.kind);
    out.extend_from_slice(b",\"name\":");
    write_str(out, &reference.name);
    optional(out, b",\"namespace\":", reference.namespace.as_deref());
    optional(out, b",\"uid\":", reference.uid.as_deref());
    optional(out, b",\"apiVersion\":", reference.api_version.as_deref());
    optional(out, b",\"fieldPath\":", reference.field_path.as_deref());
    out.push(b'}');
}

/// A field that the `Serialize` impl skips when it is `None`.
fn optional(out: &mut Vec<u8>, key: &[u8], value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(key);
        write_str(out, value);
    }
}

fn write_time(out: &mut Vec<u8>, time: Timestamp) {
    // jiff's `Display`, as its `Serialize` uses; RFC 3339 text holds nothing to escape.
    out.push(b'"');
    super::rfc3339::write(out, time);
    out.push(b'"');
}

/// What serde_json writes for a byte that needs escaping: a short escape, or `\u00XX` (0).
const ESCAPES: [u8; 32] = [
    0, 0, 0, 0, 0, 0, 0, 0, b'b', b't', b'n', 0, b'f', b'r', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0,
];

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Whether any of the eight bytes is a control character, `"` or `\`. Exact: a false answer
/// means none is.
fn needs_escape(chunk: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    let below_space = chunk.wrapping_sub(ONES * 0x20) & !chunk & HIGHS != 0;
    below_space
        || has_zero(chunk ^ (ONES * u64::from(b'"')))
        || has_zero(chunk ^ (ONES * u64::from(b'\\')))
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it.
fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut clean_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !needs_escape(u64::from_ne_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0..0x20 => match ESCAPES[usize::from(byte)] {
                0 => {
                    out.extend_from_slice(&bytes[clean_from..i]);
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(byte >> 4)]);
                    out.push(HEX[usize::from(byte & 0xf)]);
                    i += 1;
                    clean_from = i;
                    continue;
                }
                short => &[b'\\', short],
            },
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[clean_from..i]);
        out.extend_from_slice(escape);
        i += 1;
        clean_from = i;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

const HEX: [u8; 16] = *b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::EventApi;

    fn written(event: &Event) -> String {
        let mut out = Vec::new();
        event.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_field_is_written_as_serde_writes_it() {
        let mut event = Event::new("u1", "42");
        event.namespace = Some("payments".into());
        event.name = "web-0.17".into();
        event.regarding = ObjectRef::new("Pod", "web-0");
        event.regarding.namespace = Some("payments".into());
        event.regarding.uid = Some("p1".into());
        event.regarding.api_version = Some("v1".into());
        event.regarding.field_path = Some("spec.containers{web}".into());
        event.related = Some(ObjectRef::new("Node", "node-1"));
        event.reason = "BackOff".into();
        event.message = "Back-off restarting failed container".into();
        event.event_type = "Warning".into();
        event.action = Some("Restarting".into());
        event.reporting_controller = Some("kubelet".into());
        event.reporting_instance = Some("node-1".into());
        event.count = u32::MAX;
        event.api = EventApi::ObjectChange;
        event.cluster = Some("prod-eu-1".into());
        assert_eq!(written(&event), serde_json::to_string(&event).unwrap());
        let bare = Event::new("u2", "1");
        assert_eq!(written(&bare), serde_json::to_string(&bare).unwrap());
    }

    #[test]
    fn text_is_escaped_as_serde_escapes_it() {
        for text in [
            "",
            "plain text longer than eight bytes",
            "\"quoted\" and \\back\\slashed\\",
            "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}",
            "事件✓🚀\u{202e}\u{feff} and more",
            "12345678\"",
            "1234567\n89",
        ] {
            let mut event = Event::new(text, text);
            event.message = text.to_owned();
            assert_eq!(
                written(&event),
                serde_json::to_string(&event).unwrap(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_eight_byte_check_finds_every_byte_that_needs_escaping() {
        for byte in 0..=u8::MAX {
            for at in 0..8 {
                let mut chunk = [b'a'; 8];
                chunk[at] = byte;
                let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                assert_eq!(
                    needs_escape(u64::from_ne_bytes(chunk)),
                    expected,
                    "{byte:#x} at {at}"
                );
            }
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[ -~\\n\\t\u{0}\u{1f}\"\\\\]{0,40}"]
    }

    fn reference() -> impl Strategy<Value = ObjectRef> {
        (
            text(),
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
        )
            .prop_map(|(kind, name, namespace, field_path)| {
                let mut reference = ObjectRef::new(kind, name);
                reference.namespace = namespace;
                reference.field_path = field_path;
                reference
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_event_is_written_byte_for_byte_as_serde_writes_it(
            (uid, message, reason) in (text(), text(), text()),
            (namespace, cluster) in (proptest::option::of(text()), proptest::option::of(text())),
            (regarding, related) in (reference(), proptest::option::of(reference())),
            count in any::<u32>(),
            (first, last) in (-377_705_116_800i64..253_402_207_200, 0i32..1_000_000_000),
        ) {
            let mut event = Event::new(uid, "7");
            event.message = message;
            event.reason = reason;
            event.namespace = namespace;
            event.cluster = cluster;
            event.regarding = regarding;
            event.related = related;
            event.count = count;
            event.first_seen = Timestamp::new(first, last).unwrap_or(Timestamp::UNIX_EPOCH);
            prop_assert_eq!(written(&event), serde_json::to_string(&event).unwrap());
        }
    }
}
