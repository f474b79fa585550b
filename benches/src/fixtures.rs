//! The recorded watch streams of `testkit/fixtures/real-cluster/`, replicated into as many
//! distinct occurrences as a bench needs.
//!
//! Only `metadata.name`, `metadata.uid` and `metadata.resourceVersion` of each copy are
//! rewritten, in place, so every byte the API server sent is otherwise kept: Go's field order,
//! `null`s, `managedFields`. Copies of one recorded line differ only in those three values.

use serde_json::Value;

/// Which Events API a stream was recorded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Group {
    /// `core/v1` (`/api/v1/events`).
    CoreV1,
    /// `events.k8s.io/v1`.
    EventsV1,
}

impl Group {
    /// Both groups, core/v1 first.
    pub const ALL: [Group; 2] = [Group::CoreV1, Group::EventsV1];

    /// A short name for bench ids and reports: `core-v1` or `events-v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::CoreV1 => "core-v1",
            Group::EventsV1 => "events-v1",
        }
    }

    fn recordings(self) -> [&'static str; 2] {
        match self {
            Group::CoreV1 => [
                include_str!("../../testkit/fixtures/real-cluster/watch-core-v1.jsonl"),
                include_str!(
                    "../../testkit/fixtures/real-cluster/watch-core-v1-with-series-and-ttl.jsonl"
                ),
            ],
            Group::EventsV1 => [
                include_str!("../../testkit/fixtures/real-cluster/watch-events.k8s.io-v1.jsonl"),
                include_str!(
                    "../../testkit/fixtures/real-cluster/watch-events.k8s.io-v1-with-series-and-ttl.jsonl"
                ),
            ],
        }
    }
}

/// The first resourceVersion of a replicated stream; later copies count up from it.
pub const FIRST_RESOURCE_VERSION: u64 = 1_000_000;

/// The recorded ADDED and MODIFIED lines of `group` (the notifications that carry an
/// occurrence), in recorded order.
pub fn recorded(group: Group) -> Vec<&'static str> {
    group
        .recordings()
        .into_iter()
        .flat_map(str::lines)
        .filter(|line| {
            line.starts_with(r#"{"type":"ADDED""#) || line.starts_with(r#"{"type":"MODIFIED""#)
        })
        .collect()
}

/// `n` watch lines of `group`, cycling through [`recorded`], copy `i` with resourceVersion
/// `FIRST_RESOURCE_VERSION + i`, a uid and a name of its own.
pub fn replicate(group: Group, n: usize) -> Vec<String> {
    replicate_range(group, 0..n)
}

/// Copies `range` of the sequence [`replicate`] starts, without making the ones before.
pub fn replicate_range(group: Group, range: std::ops::Range<usize>) -> Vec<String> {
    let lines = recorded(group);
    range
        .map(|i| rewrite(lines[i % lines.len()], i as u64))
        .collect()
}

/// The lines joined as the API server sends them: one JSON document per line.
pub fn to_stream(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// The `object` of each line, to load into a `SimCluster` with `insert_raw_event`, with every
/// timestamp set to now: a live event was last seen within the TTL, and the checkpoint prunes
/// events whose last sighting is older.
///
/// # Errors
///
/// The JSON error of a line that is not a watch event.
pub fn objects(lines: &[String]) -> Result<Vec<Value>, serde_json::Error> {
    let now = jiff::Timestamp::now();
    let time = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let micro = now.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string();
    lines
        .iter()
        .map(|line| {
            let mut event: Value = serde_json::from_str(line)?;
            let mut object = event["object"].take();
            freshen(&mut object, &time, &micro);
            Ok(object)
        })
        .collect()
}

/// The keys that hold a time in an Event (`time` is a managedFields entry's).
const TIME_KEYS: [&str; 8] = [
    "creationTimestamp",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "lastObservedTime",
    "deprecatedFirstTimestamp",
    "deprecatedLastTimestamp",
    "time",
];

/// Sets every time in `value` to `time` (a Time) or `micro` (a MicroTime, recorded with a
/// fraction), keeping `null`s.
fn freshen(value: &mut Value, time: &str, micro: &str) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(s) if TIME_KEYS.contains(&key.as_str()) => {
                        *s = if s.contains('.') { micro } else { time }.to_owned();
                    }
                    _ => freshen(field, time, micro),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| freshen(v, time, micro)),
        _ => {}
    }
}

/// The uid of copy `i`: UUID-shaped, so it is as long as a real one.
pub fn uid(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

/// Rewrites the metadata identity of one recorded line for copy `i`.
fn rewrite(line: &str, i: u64) -> String {
    let Some(meta) = line.find(r#""metadata":{"#) else {
        return line.to_owned();
    };
    let (head, tail) = line.split_at(meta);
    let tail = replace_first(tail, "name", |old| renamed(old, i));
    let tail = replace_first(&tail, "uid", |_| uid(i));
    let tail = replace_first(&tail, "resourceVersion", |_| {
        (FIRST_RESOURCE_VERSION + i).to_string()
    });
    format!("{head}{tail}")
}

/// Replaces the string value of the first `"key":"..."` in `text`.
fn replace_first(text: &str, key: &str, new: impl FnOnce(&str) -> String) -> String {
    let pattern = format!(r#""{key}":""#);
    let Some(start) = text.find(&pattern).map(|p| p + pattern.len()) else {
        return text.to_owned();
    };
    let Some(len) = text[start..].find('"') else {
        return text.to_owned();
    };
    let old = &text[start..start + len];
    format!("{}{}{}", &text[..start], new(old), &text[start + len..])
}

/// `web.18ead50b32963864` → `web.{i as 16 hex digits}`, as the recorder names events.
fn renamed(old: &str, i: u64) -> String {
    let object = old.rsplit_once('.').map_or(old, |(object, _)| object);
    format!("{object}.{i:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recording_has_occurrences_of_about_a_kilobyte() {
        for group in Group::ALL {
            let lines = recorded(group);
            assert!(lines.len() >= 40, "{group:?}: {}", lines.len());
            let mean = lines.iter().map(|l| l.len()).sum::<usize>() / lines.len();
            assert!((800..1600).contains(&mean), "{group:?}: {mean} bytes");
        }
    }

    #[test]
    fn copies_differ_in_name_uid_and_resource_version_only() {
        let lines = replicate(Group::EventsV1, recorded(Group::EventsV1).len() + 1);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        let again: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        let meta = |v: &Value, k: &str| v["object"]["metadata"][k].as_str().unwrap().to_owned();
        assert_eq!(meta(&first, "uid"), uid(0));
        assert_eq!(
            meta(&first, "resourceVersion"),
            FIRST_RESOURCE_VERSION.to_string()
        );
        assert_ne!(meta(&first, "uid"), meta(&again, "uid"));
        assert_ne!(meta(&first, "name"), meta(&again, "name"));
        assert!(
            meta(&again, "name").starts_with("web."),
            "{}",
            meta(&again, "name")
        );
        let mut a = first.clone();
        let mut b = again.clone();
        for v in [&mut a, &mut b] {
            let m = v["object"]["metadata"].as_object_mut().unwrap();
            for k in ["name", "uid", "resourceVersion"] {
                m.remove(k);
            }
        }
        assert_eq!(a, b);
        let regarding = &first["object"]["regarding"];
        assert_ne!(
            regarding["uid"].as_str(),
            Some(uid(0).as_str()),
            "only metadata is rewritten"
        );
    }

    #[test]
    fn a_range_is_the_same_copies_as_the_whole_sequence() {
        let all = replicate(Group::CoreV1, 10);
        assert_eq!(replicate_range(Group::CoreV1, 7..10), all[7..]);
    }

    #[test]
    fn the_stream_is_one_document_per_line() {
        let lines = replicate(Group::CoreV1, 3);
        let stream = to_stream(&lines);
        assert_eq!(stream.iter().filter(|&&b| b == b'\n').count(), 3);
        let objects = objects(&lines).unwrap();
        assert_eq!(objects[2]["metadata"]["uid"], uid(2));
        assert_eq!(objects[2]["kind"], "Event");
        let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        let created = objects[2]["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap();
        assert!(created.starts_with(&today), "{created}");
        let managed = objects[2]["metadata"]["managedFields"][0]["time"]
            .as_str()
            .unwrap();
        assert!(managed.starts_with(&today), "{managed}");
    }
}
