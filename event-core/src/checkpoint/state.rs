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

/// How far a list that was under way had come: every object it listed with a key (`namespace/name`)
/// up to `key` was settled, the newest of them at `resource_version`.
///
/// A list returns objects in key order, from one snapshot of the cluster, so after a restart an
/// object listed again with a key up to `key` and a resourceVersion up to `resource_version` is
/// one that was already handled; one changed since has a newer resourceVersion and is a new
/// occurrence. Serialized as `[key, rv]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(String, u64)", into = "(String, u64)")]
pub struct ListedUpTo {
    /// The key (`namespace/name`, or `name` for a cluster-scoped object) of the last object of
    /// the settled prefix of the list.
    pub key: String,
    /// The newest resourceVersion among the objects of that prefix.
    pub resource_version: u64,
}

impl From<(String, u64)> for ListedUpTo {
    fn from((key, resource_version): (String, u64)) -> Self {
        ListedUpTo {
            key,
            resource_version,
        }
    }
}

impl From<ListedUpTo> for (String, u64) {
    fn from(listed: ListedUpTo) -> Self {
        (listed.key, listed.resource_version)
    }
}

impl ListedUpTo {
    /// Whether an object listed with `key` at `rv` is one this progress already handled.
    pub fn covers(&self, key: &str, rv: u64) -> bool {
        key <= self.key.as_str() && rv <= self.resource_version
    }
}

/// A snapshot of what has been exported, as saved by a [`CheckpointStore`](super::CheckpointStore).
///
/// Serialized as compact JSON: `{"version":1,"savedAt":...,"resume":{source: rv},"events":{uid:
/// [rv, lastSeen]},"dispatched":rv,"listed":{source: [[key, rv]]}}`. The resume points stand for
/// every event they passed, and `listed` for every object a list under way has settled, so
/// `events` holds only the few acknowledged ahead of them, whatever the size of the cluster.
#[derive(Clone, Debug, PartialEq, Deserialize)]
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
    #[serde(deserialize_with = "compact_events::deserialize")]
    pub events: HashMap<String, SeenEvent>,
    /// The newest resourceVersion that may have reached a sink, saved before it did: after a
    /// crash, occurrences up to it that are not recorded here may be stored already, and the
    /// sinks are asked before they are sent again.
    #[serde(default)]
    pub dispatched: Option<u64>,
    /// Per watch source whose list was under way, how far it had come (see [`ListedUpTo`]);
    /// more than one when lists were cut short more than once.
    #[serde(default)]
    pub listed: BTreeMap<String, Vec<ListedUpTo>>,
    /// Per watch source whose list was under way, the key up to which listed objects may have
    /// reached a sink, saved before they did: the list's counterpart of `dispatched`. After a
    /// crash only the objects listed up to it are asked about, not the whole list.
    #[serde(default)]
    pub dispatched_listed: BTreeMap<String, String>,
}

// Written through `CheckpointView`, the one definition of the layout, which the ledger
// writes its own state through too.
impl Serialize for Checkpoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
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
            listed: BTreeMap::new(),
            dispatched_listed: BTreeMap::new(),
        }
    }
}

/// A checkpoint serialized to its JSON: what a [`CheckpointStore`](super::CheckpointStore)
/// saves. The pipeline writes it straight from the ledger's state
/// ([`Ledger::encoded_snapshot`]), so a checkpoint with many events tracked one by one is never
/// held twice, once as a map and once as text; [`Checkpoint::encode`] writes one from a
/// [`Checkpoint`].
///
/// [`Ledger::encoded_snapshot`]: super::Ledger::encoded_snapshot
///
/// ```
/// use event_core::checkpoint::Checkpoint;
///
/// let encoded = Checkpoint::empty().encode();
/// assert_eq!(encoded.events(), 0);
/// assert!(encoded.as_bytes().starts_with(b"{"));
/// assert_eq!(encoded.decode()?, Checkpoint::empty().with_saved_at(encoded.saved_at()));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCheckpoint {
    json: String,
    saved_at: Timestamp,
    events: usize,
}

impl EncodedCheckpoint {
    /// Writes the JSON of a [`CheckpointView`]; `events` is how many it lists.
    #[expect(
        clippy::expect_used,
        reason = "no input reaches a failure: serde_json fails only on a writer's error (a \
                  String never refuses a write) or a map key that is not a string, and every \
                  map of a checkpoint is keyed by strings (`a_checkpoint_of_any_strings_encodes` \
                  tries arbitrary ones)"
    )]
    pub(crate) fn from_view<E: Serialize>(view: &CheckpointView<'_, E>, events: usize) -> Self {
        let json = serde_json::to_string(view).expect("a checkpoint serializes to JSON");
        EncodedCheckpoint {
            json,
            saved_at: view.saved_at,
            events,
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// The JSON text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.json.as_bytes()
    }

    /// The JSON text, without a copy.
    pub fn into_string(self) -> String {
        self.json
    }

    /// The JSON text as bytes, without a copy.
    pub fn into_bytes(self) -> Vec<u8> {
        self.json.into_bytes()
    }

    /// When the snapshot was taken.
    pub fn saved_at(&self) -> Timestamp {
        self.saved_at
    }

    /// How many events it tracks one by one (those the resume points do not cover).
    pub fn events(&self) -> usize {
        self.events
    }

    /// Parses it back into a [`Checkpoint`].
    ///
    /// # Errors
    ///
    /// A [`serde_json::Error`] if the text is not a checkpoint (it always is when this crate
    /// wrote it).
    pub fn decode(&self) -> Result<Checkpoint, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}

impl Checkpoint {
    /// Serializes it, as a [`CheckpointStore`](super::CheckpointStore) saves it.
    ///
    /// ```
    /// use event_core::checkpoint::Checkpoint;
    ///
    /// let mut checkpoint = Checkpoint::empty();
    /// checkpoint.resume.insert("events@*".into(), 1042);
    /// let encoded = checkpoint.encode();
    /// assert_eq!(encoded.decode()?, checkpoint);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn encode(&self) -> EncodedCheckpoint {
        let view = self.view();
        EncodedCheckpoint::from_view(&view, self.events.len())
    }

    fn view(&self) -> CheckpointView<'_, compact_events::Pairs<'_>> {
        CheckpointView {
            version: self.version,
            saved_at: self.saved_at,
            resume: &self.resume,
            events: compact_events::Pairs(&self.events),
            dispatched: self.dispatched,
            listed: &self.listed,
            dispatched_listed: &self.dispatched_listed,
        }
    }

    /// The same checkpoint with `saved_at` replaced.
    #[must_use]
    pub fn with_saved_at(mut self, saved_at: Timestamp) -> Self {
        self.saved_at = saved_at;
        self
    }
}

/// The fields of a [`Checkpoint`] borrowed from wherever they are kept: the serialized layout of
/// a checkpoint, for a `Checkpoint` and for the ledger, which writes its state without copying
/// it into one first. `events` must serialize as `{uid: [rv, lastSeen]}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckpointView<'a, E> {
    pub(crate) version: u32,
    pub(crate) saved_at: Timestamp,
    pub(crate) resume: &'a BTreeMap<String, u64>,
    pub(crate) events: E,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dispatched: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) listed: &'a BTreeMap<String, Vec<ListedUpTo>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) dispatched_listed: &'a BTreeMap<String, String>,
}

/// `uid → [rv, lastSeen]`: a pair instead of an object keeps 100,000 events near 7 MB.
mod compact_events {
    use std::collections::HashMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::SeenEvent;

    /// A checkpoint's events, serialized as `{uid: [rv, lastSeen]}`.
    pub(super) struct Pairs<'a>(pub(super) &'a HashMap<String, SeenEvent>);

    impl Serialize for Pairs<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            // Streamed from the map itself: a copy would double the memory of a large save.
            serializer.collect_map(
                self.0
                    .iter()
                    .map(|(uid, seen)| (uid.as_str(), (seen.resource_version, seen.last_seen))),
            )
        }
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
    fn a_view_serializes_exactly_as_the_checkpoint_does() {
        let mut cp = Checkpoint::empty();
        cp.resume.insert("events@*".into(), 120);
        cp.dispatched = Some(125);
        cp.events.insert(
            "u1".into(),
            SeenEvent {
                resource_version: 122,
                last_seen: 1_700_000_000,
            },
        );
        let view = CheckpointView {
            version: FORMAT_VERSION,
            saved_at: cp.saved_at,
            resume: &cp.resume,
            events: std::collections::BTreeMap::from([("u1", (122u64, 1_700_000_000i64))]),
            dispatched: cp.dispatched,
            listed: &cp.listed,
            dispatched_listed: &cp.dispatched_listed,
        };
        let encoded = EncodedCheckpoint::from_view(&view, 1);
        assert_eq!(encoded.as_bytes(), serde_json::to_vec(&cp).unwrap());
        assert_eq!(encoded.decode().unwrap(), cp);
        assert_eq!(encoded, cp.encode());
    }

    #[test]
    fn list_progress_round_trips_as_key_version_pairs() {
        let mut cp = Checkpoint::empty();
        cp.listed.insert(
            "events@*".into(),
            vec![ListedUpTo {
                key: "payments/api.17a".into(),
                resource_version: 9_000,
            }],
        );
        let json = serde_json::to_string(&cp).unwrap();
        assert!(
            json.contains(r#""listed":{"events@*":[["payments/api.17a",9000]]}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), cp);
        let plain = serde_json::to_string(&Checkpoint::empty()).unwrap();
        assert!(
            !plain.contains("listed"),
            "written only while a list is under way"
        );
    }

    #[test]
    fn listed_up_to_covers_earlier_keys_at_versions_not_newer() {
        let up_to = ListedUpTo {
            key: "b/x".into(),
            resource_version: 50,
        };
        assert!(up_to.covers("a/z", 50));
        assert!(up_to.covers("b/x", 10));
        assert!(!up_to.covers("b/y", 10), "listed after the prefix");
        assert!(!up_to.covers("a/z", 51), "changed since");
    }

    #[test]
    fn rejects_unknown_fields() {
        let json =
            r#"{"version":1,"savedAt":"2026-11-24T10:00:00Z","resume":{},"events":{},"extra":1}"#;
        assert!(serde_json::from_str::<Checkpoint>(json).is_err());
    }

    proptest::proptest! {
        /// `EncodedCheckpoint::from_view` expects serialization never to fail: any strings the
        /// cluster could hand over (uids, keys, names) encode and read back the same.
        #[test]
        fn a_checkpoint_of_any_strings_encodes(
            resume in proptest::collection::btree_map(".*", proptest::num::u64::ANY, 0..4),
            events in proptest::collection::hash_map(".*", (proptest::num::u64::ANY, proptest::num::i64::ANY), 0..4),
            listed in proptest::collection::btree_map(".*", (".*", proptest::num::u64::ANY), 0..4),
        ) {
            let mut cp = Checkpoint::empty();
            cp.resume = resume;
            cp.events = events
                .into_iter()
                .map(|(uid, (resource_version, last_seen))| (uid, SeenEvent { resource_version, last_seen }))
                .collect();
            cp.dispatched_listed = listed.iter().map(|(scope, (key, _))| (scope.clone(), key.clone())).collect();
            cp.listed = listed.into_iter().map(|(scope, up_to)| (scope, vec![up_to.into()])).collect();
            let encoded = cp.encode();
            proptest::prop_assert_eq!(encoded.decode().unwrap(), cp);
        }
    }
}
