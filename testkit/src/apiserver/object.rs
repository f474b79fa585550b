//! A stored object (an event as the JSON bytes it is served as, or any other object as JSON)
//! and one change to it.

use std::sync::OnceLock;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::convert::{CORE_V1, EVENTS_V1, EventView, event_json};
use super::model::CoreEvent;
use super::resource::{Resource, ResourceDef};

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
///
/// Ordered as etcd orders the keys kube-apiserver stores objects under: by the bytes of
/// `namespace/name`, so a list across namespaces serves `payments-eu/x` before `payments/a`
/// (`-` sorts before `/`), as a real API server does, where comparing the namespaces first
/// would not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key(pub(crate) String, pub(crate) String);

impl Key {
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.0
            .bytes()
            .chain(std::iter::once(b'/'))
            .chain(self.1.bytes())
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Names hold no `/`, so two keys with the same path are the same key; the tie-break
        // keeps the order total anyway.
        self.bytes()
            .cmp(other.bytes())
            .then_with(|| (&self.0, &self.1).cmp(&(&other.0, &other.1)))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// What is stored for one object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    /// An event, kept in its core/v1 form and converted per view on the way out.
    Event(Box<CoreEvent>),
    /// Any other object, including its `kind` and `apiVersion`.
    Object(Map<String, Value>),
}

impl Body {
    /// `(namespace, name)` of the object.
    pub(crate) fn key(&self) -> Key {
        match self {
            Body::Event(ev) => Key(ev.metadata.namespace.clone(), ev.metadata.name.clone()),
            Body::Object(map) => Key(
                meta_str(map, "namespace").to_owned(),
                meta_str(map, "name").to_owned(),
            ),
        }
    }

    /// `metadata.uid`.
    pub(crate) fn uid(&self) -> &str {
        match self {
            Body::Event(ev) => &ev.metadata.uid,
            Body::Object(map) => meta_str(map, "uid"),
        }
    }

    /// Sets `metadata.resourceVersion`.
    pub(crate) fn set_resource_version(&mut self, rv: u64) {
        match self {
            Body::Event(ev) => ev.metadata.resource_version = rv.to_string(),
            Body::Object(map) => {
                if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                    meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
                }
            }
        }
    }
}

fn meta_str<'a>(map: &'a Map<String, Value>, field: &str) -> &'a str {
    map.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// One version of an object, immutable once stored.
///
/// An event is held as the bytes it is served as, not as a parsed tree: its core/v1 JSON
/// without `kind`/`apiVersion` (exactly a list item), which is also the only copy of its
/// content; the events.k8s.io/v1 form is converted once, on first use. A list page is the
/// concatenation of these bytes and a watch line a prefix around them, so a server holding a
/// million events neither parses nor serializes them again per reader, and holds about the size
/// of their JSON. The key and uid are kept beside the bytes for the store's index and writes.
#[derive(Debug)]
pub(crate) struct Stored {
    pub resource: Resource,
    pub rv: u64,
    /// When the object was last written; the TTL sweep measures from here.
    pub written: Instant,
    key: Key,
    uid: Box<str>,
    content: Content,
}

#[derive(Debug)]
enum Content {
    Event {
        /// core/v1, untyped.
        core: Bytes,
        /// events.k8s.io/v1, untyped, made on first use.
        events_v1: OnceLock<Bytes>,
    },
    /// Any other object, including its `kind` and `apiVersion`.
    Object(Map<String, Value>),
}

impl Stored {
    /// Wraps `body`, setting its resourceVersion to `rv`.
    pub(crate) fn new(resource: Resource, mut body: Body, rv: u64, written: Instant) -> Self {
        body.set_resource_version(rv);
        let key = body.key();
        let uid = body.uid().into();
        let content = match body {
            Body::Event(ev) => Content::Event {
                // Serializing these derived structs of strings and numbers cannot fail; an
                // empty object would stand for the impossible error.
                core: Bytes::from(
                    event_json(&ev, EventView::Core, false).unwrap_or_else(|_| b"{}".to_vec()),
                ),
                events_v1: OnceLock::new(),
            },
            Body::Object(map) => Content::Object(map),
        };
        Stored {
            resource,
            rv,
            written,
            key,
            uid,
            content,
        }
    }

    /// `(namespace, name)`.
    pub(crate) fn key(&self) -> Key {
        self.key.clone()
    }

    /// `metadata.uid`.
    pub(crate) fn uid(&self) -> &str {
        &self.uid
    }

    /// The stored content as a [`Body`] again (an event is parsed from its bytes).
    pub(crate) fn body(&self) -> Body {
        match &self.content {
            Content::Event { .. } => Body::Event(Box::new(self.event().unwrap_or_default())),
            Content::Object(map) => Body::Object(map.clone()),
        }
    }

    /// The object as served by `def`: with `kind`/`apiVersion` when `typed`, without inside lists.
    ///
    /// # Errors
    ///
    /// Serialization errors, which the stored types cannot produce in practice.
    pub(crate) fn render(
        &self,
        def: &ResourceDef,
        typed: bool,
    ) -> Result<Bytes, serde_json::Error> {
        match &self.content {
            Content::Event { core, events_v1 } => {
                let (untyped, api_version) = match def.event_view().unwrap_or(EventView::Core) {
                    EventView::Core => (core.clone(), CORE_V1),
                    EventView::EventsV1 => (self.events_v1(core, events_v1)?, EVENTS_V1),
                };
                Ok(if typed {
                    with_kind(&untyped, "Event", api_version)
                } else {
                    untyped
                })
            }
            Content::Object(map) if typed => serde_json::to_vec(map).map(Bytes::from),
            Content::Object(map) => serde_json::to_vec(&Untyped(map)).map(Bytes::from),
        }
    }

    fn events_v1(&self, core: &Bytes, cache: &OnceLock<Bytes>) -> Result<Bytes, serde_json::Error> {
        if let Some(bytes) = cache.get() {
            return Ok(bytes.clone());
        }
        let ev: CoreEvent = serde_json::from_slice(core)?;
        let bytes = Bytes::from(event_json(&ev, EventView::EventsV1, false)?);
        // A concurrent caller may have filled the slot; both values are identical.
        let _ = cache.set(bytes.clone());
        Ok(bytes)
    }

    /// The core/v1 event, if this is one, parsed from its bytes.
    pub(crate) fn event(&self) -> Option<CoreEvent> {
        match &self.content {
            Content::Event { core, .. } => serde_json::from_slice(core).ok(),
            Content::Object(_) => None,
        }
    }

    /// The JSON object, if this is not an event.
    pub(crate) fn object(&self) -> Option<&Map<String, Value>> {
        match &self.content {
            Content::Event { .. } => None,
            Content::Object(map) => Some(map),
        }
    }

    /// The object as JSON in its native form (core/v1 for events), with `kind`/`apiVersion`.
    pub(crate) fn to_value(&self, def: &ResourceDef) -> Value {
        match &self.content {
            Content::Object(map) => Value::Object(map.clone()),
            Content::Event { .. } => self
                .render(def, true)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null),
        }
    }
}

/// `untyped` (a JSON object) with `kind` and `apiVersion` first, as Go writes a typed object:
/// the same bytes [`Typed`](super::model::Typed) serializes to.
fn with_kind(untyped: &[u8], kind: &str, api_version: &str) -> Bytes {
    let mut out = Vec::with_capacity(untyped.len() + kind.len() + api_version.len() + 32);
    out.extend_from_slice(br#"{"kind":""#);
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(br#"","apiVersion":""#);
    out.extend_from_slice(api_version.as_bytes());
    out.push(b'"');
    match untyped.strip_prefix(b"{") {
        Some(b"}") | None => out.push(b'}'),
        Some(rest) => {
            out.push(b',');
            out.extend_from_slice(rest);
        }
    }
    Bytes::from(out)
}

/// A JSON object written without its `kind` and `apiVersion`, as list items are.
struct Untyped<'a>(&'a Map<String, Value>);

impl Serialize for Untyped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.0 {
            if k != "kind" && k != "apiVersion" {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// The type of a watch notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    /// The `type` of the WatchEvent.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One write, as kept in the history window.
#[derive(Debug)]
pub(crate) struct Change {
    pub kind: ChangeKind,
    /// The object after the change; for a deletion, the last state with the deletion's RV.
    pub object: std::sync::Arc<Stored>,
    /// The object before the change, to rebuild older snapshots for paginated lists.
    pub prev: Option<std::sync::Arc<Stored>>,
}

impl Change {
    pub(crate) fn rv(&self) -> u64 {
        self.object.rv
    }
}

#[cfg(test)]
mod tests {
    use super::super::convert::{EventView, event_json};
    use super::super::model::CoreEvent;
    use super::super::resource::{Resource, by_kind};
    use super::{Body, Key, Stored};
    use tokio::time::Instant;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-cluster/");

    #[test]
    fn stored_events_render_the_bytes_their_parsed_form_serializes_to_in_both_views() {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}watch-core-v1-with-series-and-ttl.jsonl"))
                .unwrap();
        let mut seen = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] == "BOOKMARK" {
                continue;
            }
            let mut ev: CoreEvent = serde_json::from_value(v["object"].clone()).unwrap();
            let stored = Stored::new(
                Resource::Events,
                Body::Event(Box::new(ev.clone())),
                77,
                Instant::now(),
            );
            ev.metadata.resource_version = "77".into();
            for (api_version, view) in [
                ("v1", EventView::Core),
                ("events.k8s.io/v1", EventView::EventsV1),
            ] {
                let def = by_kind(api_version, "Event").unwrap();
                for typed in [true, false] {
                    assert_eq!(
                        stored.render(&def, typed).unwrap(),
                        event_json(&ev, view, typed).unwrap(),
                        "{view:?}, typed {typed}: {line}"
                    );
                }
            }
            assert_eq!(stored.event().as_ref(), Some(&ev));
            assert_eq!(stored.uid(), ev.metadata.uid);
            seen += 1;
        }
        assert!(seen > 10);
        let empty = super::with_kind(b"{}", "Event", "v1");
        assert_eq!(&empty[..], br#"{"kind":"Event","apiVersion":"v1"}"#);
    }

    fn key(ns: &str, name: &str) -> Key {
        Key(ns.to_owned(), name.to_owned())
    }

    #[test]
    fn keys_sort_as_etcd_sorts_namespace_slash_name() {
        let mut keys = [
            key("payments", "a"),
            key("payments-eu", "x"),
            key("pay", "z"),
            key("payments", "a.1"),
            key("payments", "a-1"),
        ];
        keys.sort();
        let paths: Vec<String> = keys.iter().map(|k| format!("{}/{}", k.0, k.1)).collect();
        let mut bytewise = paths.clone();
        bytewise.sort();
        assert_eq!(paths, bytewise);
        assert_eq!(paths[1], "payments-eu/x", "`-` sorts before `/`: {paths:?}");
    }
}
