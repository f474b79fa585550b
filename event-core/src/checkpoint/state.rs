//! The persisted form of a checkpoint.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The format version written by this crate; a newer file is refused rather than misread.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// What the checkpoint remembers of one exported event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEvent {
    /// The last resourceVersion of this event that every sink acknowledged.
    pub resource_version: u64,
    /// When the event was last seen (its `last_seen`), in seconds since the Unix epoch; drives
    /// pruning.
    pub last_seen: i64,
}

/// A snapshot of what has been exported, as saved by a [`CheckpointStore`](super::CheckpointStore).
///
/// Serialized as compact JSON: `{"version":1,"savedAt":...,"resume":{source: rv},"events":{uid:
/// [rv, lastSeen]},"dispatched":rv}`. The resume points stand for every event they passed, so
/// `events` holds only the few acknowledged ahead of them, whatever the size of the cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Checkpoint {
    /// Format version of the file (1).
    pub version: u32,
    /// When this snapshot was taken.
    pub saved_at: Timestamp,
    /// Per watch source (e.g. `events@*`), the resourceVersion to resume watching from.
    pub resume: BTreeMap<String, u64>,
    /// Per event uid, the last acknowledged occurrence, for the events the resume points do not
    /// cover yet (acknowledged ahead of an older occurrence still in flight).
    #[serde(with = "compact_events")]
    pub events: HashMap<String, SeenEvent>,
    /// The newest resourceVersion that may have reached a sink, saved before it did: after a
    /// crash, occurrences up to it that are not recorded here may be stored already, and the
    /// sinks are asked before they are sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched: Option<u64>,
}

impl Checkpoint {
    /// An empty checkpoint: nothing exported, no resume point.
    pub fn empty() -> Self {
        Checkpoint {
            version: FORMAT_VERSION,
            saved_at: Timestamp::now(),
            resume: BTreeMap::new(),
            events: HashMap::new(),
            dispatched: None,
        }
    }
}

/// `uid → [rv, lastSeen]`: a pair instead of an object keeps 100,000 events near 7 MB.
mod compact_events {
    use std::collections::HashMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::SeenEvent;

    pub(super) fn serialize<S: Serializer>(
        events: &HashMap<String, SeenEvent>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        // Streamed from the map itself: a copy would double the memory of a large save.
        serializer.collect_map(
            events
                .iter()
                .map(|(uid, seen)| (uid.as_str(), (seen.resource_version, seen.last_seen))),
        )
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashMap<String, SeenEvent>, D::Error> {
        let pairs = HashMap::<String, (u64, i64)>::deserialize(deserializer)?;
        Ok(pairs
            .into_iter()
            .map(|(uid, (resource_version, last_seen))| {
                (
                    uid,
                    SeenEvent {
                        resource_version,
                        last_seen,
                    },
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_compact_json() {
        let mut cp = Checkpoint::empty();
        cp.resume.insert("events@*".into(), 120);
        cp.events.insert(
            "u1".into(),
            SeenEvent {
                resource_version: 118,
                last_seen: 1_700_000_000,
            },
        );
        let json = serde_json::to_string(&cp).unwrap();
        assert!(json.contains(r#""u1":[118,1700000000]"#), "{json}");
        let back: Checkpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cp);
    }

    #[test]
    fn rejects_unknown_fields() {
        let json =
            r#"{"version":1,"savedAt":"2026-11-24T10:00:00Z","resume":{},"events":{},"extra":1}"#;
        assert!(serde_json::from_str::<Checkpoint>(json).is_err());
    }
}
