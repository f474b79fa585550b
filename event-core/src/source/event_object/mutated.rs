//! Damaged watch lines through the one-pass decoders: the recorded lines of a real API server
//! with bits flipped, cut short, and spliced with each other, as the normal test run's share of
//! what `fuzz/` does at length. Nothing may panic, and every outcome must be one the source
//! handles: a serde error, an undecodable object naming its field, a normalize error, or an
//! occurrence whose record is exact.

use std::path::PathBuf;
use std::sync::OnceLock;

use kube::core::{ObjectList, WatchEvent};
use proptest::prelude::*;

use super::*;

/// Every line of the four recorded watch streams.
fn recorded_lines() -> &'static [Vec<u8>] {
    static LINES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testkit/fixtures/real-cluster");
        let mut lines = Vec::new();
        for file in [
            "watch-core-v1.jsonl",
            "watch-events.k8s.io-v1.jsonl",
            "watch-core-v1-with-series-and-ttl.jsonl",
            "watch-events.k8s.io-v1-with-series-and-ttl.jsonl",
        ] {
            let text = std::fs::read(dir.join(file)).expect("the recorded fixtures are readable");
            lines.extend(
                text.split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(<[u8]>::to_vec),
            );
        }
        assert!(lines.len() > 50, "the fixtures hold the recorded streams");
        lines
    })
}

/// Decodes `bytes` as a watch line and as a list page of both APIs and checks every outcome.
fn decode_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    check_line::<CoreV1Event>(bytes, CoreV1Event::into_event)?;
    check_line::<EventsV1Event>(bytes, EventsV1Event::into_event)?;
    check_list::<CoreV1Event>(bytes, CoreV1Event::into_event)?;
    check_list::<EventsV1Event>(bytes, EventsV1Event::into_event)
}

fn check_line<K: LenientDecode + Clone>(
    bytes: &[u8],
    into_event: fn(K) -> Result<Event, NormalizeError>,
) -> Result<(), TestCaseError> {
    match serde_json::from_slice::<WatchEvent<Lenient<K>>>(bytes) {
        Err(error) => check_serde_error(&error),
        Ok(WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o)) => {
            check_object(o, into_event)
        }
        Ok(WatchEvent::Bookmark(_) | WatchEvent::Error(_)) => Ok(()),
    }
}

fn check_list<K: LenientDecode + Clone>(
    bytes: &[u8],
    into_event: fn(K) -> Result<Event, NormalizeError>,
) -> Result<(), TestCaseError> {
    match serde_json::from_slice::<ObjectList<Lenient<K>>>(bytes) {
        Err(error) => check_serde_error(&error),
        Ok(page) => page
            .items
            .into_iter()
            .try_for_each(|o| check_object(o, into_event)),
    }
}

fn check_serde_error(error: &serde_json::Error) -> Result<(), TestCaseError> {
    prop_assert!(!error.to_string().is_empty());
    prop_assert!(!error.is_io(), "a slice has no I/O: {error}");
    Ok(())
}

fn check_object<K>(
    object: Lenient<K>,
    into_event: fn(K) -> Result<Event, NormalizeError>,
) -> Result<(), TestCaseError> {
    match object.into_decoded() {
        Err(error) => {
            prop_assert!(!error.path().is_empty(), "{error}");
            prop_assert!(error.to_string().contains("does not decode at"), "{error}");
        }
        Ok(decoded) => match into_event(decoded) {
            Err(error) => prop_assert!(!error.to_string().is_empty()),
            Ok(event) => {
                prop_assert!(!event.uid.is_empty() && !event.resource_version.is_empty());
                let mut written = Vec::new();
                event.write_json(&mut written);
                prop_assert_eq!(&written, &serde_json::to_vec(&event).unwrap_or_default());
                let back: Event = serde_json::from_slice(&written)
                    .map_err(|e| TestCaseError::fail(format!("record does not read back: {e}")))?;
                prop_assert_eq!(back, event);
            }
        },
    }
    Ok(())
}

/// One change to a line.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    Truncate {
        at: usize,
    },
    /// Part of another recorded line, inserted.
    Splice {
        at: usize,
        from: usize,
        start: usize,
        len: usize,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Byte {
        at: usize,
        value: u8,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>;
    prop_oneof![
        4 => (at(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => at().prop_map(|at| Mutation::Truncate { at }),
        2 => (at(), any::<usize>(), any::<usize>(), 1usize..400)
            .prop_map(|(at, from, start, len)| Mutation::Splice { at, from, start, len }),
        1 => (at(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (at(), prop_oneof![Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b','),
                               Just(b':'), Just(b'0'), Just(b'9'), Just(b'n'), Just(b'['),
                               Just(0x1b), Just(0xff), Just(0xc3)])
            .prop_map(|(at, value)| Mutation::Byte { at, value }),
    ]
}

fn apply(line: &mut Vec<u8>, change: &Mutation) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match *change {
        Mutation::FlipBit { at, bit } if !line.is_empty() => {
            let i = at % line.len();
            line[i] ^= 1 << bit;
        }
        Mutation::FlipBit { .. } => {}
        Mutation::Truncate { at } => line.truncate(pos(at, line.len())),
        Mutation::Splice {
            at,
            from,
            start,
            len,
        } => {
            let lines = recorded_lines();
            let other = &lines[from % lines.len()];
            let start = start % other.len().max(1);
            let end = (start + len).min(other.len());
            let i = pos(at, line.len());
            line.splice(i..i, other[start..end].iter().copied());
        }
        Mutation::Delete { at, len } => {
            let i = pos(at, line.len());
            let end = (i + len).min(line.len());
            line.drain(i..end);
        }
        Mutation::Byte { at, value } => {
            let i = pos(at, line.len());
            line.insert(i, value);
        }
    }
}

#[test]
fn every_recorded_line_decodes_to_an_exact_record() {
    for line in recorded_lines() {
        decode_all(line).unwrap();
        let core: WatchEvent<Lenient<CoreV1Event>> = serde_json::from_slice(line).unwrap();
        if let WatchEvent::Added(o) | WatchEvent::Modified(o) = core {
            assert!(o.decoded().is_ok(), "{}", String::from_utf8_lossy(line));
        }
    }
}

#[test]
fn every_prefix_of_a_recorded_line_is_an_error_or_an_occurrence() {
    // The torn line of a watch connection cut mid-object, at every byte of a few lines.
    for line in recorded_lines().iter().step_by(17) {
        for cut in 0..line.len() {
            decode_all(&line[..cut]).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damaged_watch_lines_never_panic_and_fail_cleanly(
        index in any::<usize>(),
        changes in proptest::collection::vec(mutation(), 1..6),
    ) {
        let lines = recorded_lines();
        let mut line = lines[index % lines.len()].clone();
        for change in &changes {
            apply(&mut line, change);
        }
        decode_all(&line)?;
    }

    #[test]
    fn two_lines_run_together_never_panic(a in any::<usize>(), b in any::<usize>(), gap in 0usize..3) {
        let lines = recorded_lines();
        let mut line = lines[a % lines.len()].clone();
        line.extend(std::iter::repeat_n(b' ', gap));
        line.extend_from_slice(&lines[b % lines.len()]);
        decode_all(&line)?;
    }
}
