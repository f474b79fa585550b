//! A stored object (an event in its core/v1 form, or any other object as JSON) and one change
//! to it, with the serialized forms cached for watch fan-out.

use std::sync::OnceLock;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::convert::{EventView, event_json};
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
#[derive(Debug)]
pub(crate) struct Stored {
    pub resource: Resource,
    pub body: Body,
    pub rv: u64,
    /// When the object was last written; the TTL sweep measures from here.
    pub written: Instant,
    /// The standalone JSON per view (core/native, events.k8s.io), serialized on first use.
    typed: [OnceLock<Bytes>; 2],
}

impl Stored {
    /// Wraps `body`, setting its resourceVersion to `rv`.
    pub(crate) fn new(resource: Resource, mut body: Body, rv: u64, written: Instant) -> Self {
        body.set_resource_version(rv);
        Stored {
            resource,
            body,
            rv,
            written,
            typed: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// `(namespace, name)`.
    pub(crate) fn key(&self) -> Key {
        self.body.key()
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
        let view = def.event_view().unwrap_or(EventView::Core);
        let slot = match view {
            EventView::Core => 0,
            EventView::EventsV1 => 1,
        };
        if typed && let Some(bytes) = self.typed[slot].get() {
            return Ok(bytes.clone());
        }
        let bytes = Bytes::from(match &self.body {
            Body::Event(ev) => event_json(ev, view, typed)?,
            Body::Object(map) if typed => serde_json::to_vec(map)?,
            Body::Object(map) => serde_json::to_vec(&Untyped(map))?,
        });
        if typed {
            // A concurrent caller may have filled the slot; both values are identical.
            let _ = self.typed[slot].set(bytes.clone());
        }
        Ok(bytes)
    }

    /// The core/v1 event, if this is one.
    pub(crate) fn event(&self) -> Option<&CoreEvent> {
        match &self.body {
            Body::Event(ev) => Some(ev),
            Body::Object(_) => None,
        }
    }

    /// The object as JSON in its native form (core/v1 for events), with `kind`/`apiVersion`.
    pub(crate) fn to_value(&self, def: &ResourceDef) -> Value {
        match &self.body {
            Body::Object(map) => Value::Object(map.clone()),
            Body::Event(_) => self
                .render(def, true)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null),
        }
    }
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
    use super::Key;

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
