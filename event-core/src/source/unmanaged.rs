//! Decoding an object from its JSON text without its `metadata.managedFields`.
//!
//! The API server sends every object with its managedFields (server-side apply's record of who
//! owns which field): on an Event, about a third of its JSON, decoded into a list of JSON trees.
//! Nothing reads an Event's, so [`Lenient`](super::Lenient) decodes k8s-openapi's Events through
//! here, with them skipped unparsed (validated, never built). Other kinds keep theirs: an object
//! change takes its time from them. (The source itself reads Events as
//! [`CoreV1Event`](super::CoreV1Event) and [`EventsV1Event`](super::EventsV1Event), which skip
//! every field they do not need.)
//!
//! Only `managedFields` directly under the top-level `metadata` is skipped: the same key
//! anywhere else (an annotation, a field of a spec) is decoded as usual.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeSeed, IgnoredAny, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Decodes `text` as `K` with its `metadata.managedFields` left out (`None`).
pub(super) fn from_json<'de, K: Deserialize<'de>>(text: &'de str) -> serde_json::Result<K> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let object = deserializer.deserialize_map(Object(PhantomData))?;
    deserializer.end()?;
    Ok(object)
}

/// The top-level object: hands `K` its fields, with `metadata` read through [`Metadata`].
struct Object<K>(PhantomData<K>);

impl<'de, K: Deserialize<'de>> Visitor<'de> for Object<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<K, M::Error> {
        K::deserialize(MapAccessDeserializer::new(Fields::new(map, Level::Object)))
    }
}

/// The fields of one level: the object's own, where `metadata` is read through [`Metadata`], or
/// the metadata's, where `managedFields` is skipped.
struct Fields<M> {
    map: M,
    level: Level,
    /// The key just handed over was the object's `metadata`.
    metadata_next: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Object,
    Metadata,
}

impl<M> Fields<M> {
    fn new(map: M, level: Level) -> Self {
        Fields {
            map,
            level,
            metadata_next: false,
        }
    }
}

impl<'de, M: MapAccess<'de>> MapAccess<'de> for Fields<M> {
    type Error = M::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, M::Error> {
        while let Some(key) = self.map.next_key::<Key<'de>>()? {
            match self.level {
                Level::Metadata if key.as_str() == "managedFields" => {
                    self.map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Level::Object => self.metadata_next = key.as_str() == "metadata",
                Level::Metadata => {}
            }
            return key.hand_to(seed).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, M::Error> {
        if std::mem::take(&mut self.metadata_next) {
            self.map.next_value_seed(Metadata(seed))
        } else {
            self.map.next_value_seed(seed)
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// The value of `metadata`: decoded by the kind's own seed from a map without `managedFields`.
struct Metadata<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Metadata<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        // Anything but an object (null, a number) fails here, and the caller decodes the object
        // again the ordinary way, which reports the field as it would.
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Metadata<S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the metadata of a Kubernetes object")
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<S::Value, M::Error> {
        self.0
            .deserialize(MetadataMap(Fields::new(map, Level::Metadata)))
    }
}

/// The metadata map as a deserializer. Unlike serde's `MapAccessDeserializer` it reads as
/// `Some` when asked for an option: a kind's generated code decodes its metadata as
/// `Option<ObjectMeta>` before it checks that it is there.
struct MetadataMap<M>(Fields<M>);

impl<'de, M: MapAccess<'de>> Deserializer<'de> for MetadataMap<M> {
    type Error = M::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, M::Error> {
        visitor.visit_map(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, M::Error> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A map key as serde_json read it: borrowed from the text unless it held escapes.
pub(super) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Key<'de> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    /// Gives the key to the kind's field seed, as if it came from serde_json itself.
    fn hand_to<S: DeserializeSeed<'de>, E: de::Error>(self, seed: S) -> Result<S::Value, E> {
        match self {
            Key::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::new(key)),
            Key::Owned(key) => seed.deserialize(key.as_str().into_deserializer()),
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(key.to_owned()))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(key))
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Event, Pod};
    use serde_json::json;

    use super::*;

    fn with_managed_fields() -> serde_json::Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {
                "namespace": "payments", "name": "web.1", "uid": "u1", "resourceVersion": "41",
                "managedFields": [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:count": {}}}],
                "annotations": {"managedFields": "kept: not metadata's own field"},
            },
            "involvedObject": {"kind": "Pod", "name": "web-0"},
            "reason": "BackOff",
            "count": 3,
        })
    }

    #[test]
    fn managed_fields_are_left_out_and_everything_else_decodes() {
        let text = with_managed_fields().to_string();
        let full: Event = serde_json::from_str(&text).unwrap();
        assert!(full.metadata.managed_fields.is_some());
        let lean: Event = from_json(&text).unwrap();
        assert_eq!(lean.metadata.managed_fields, None);
        let mut expected = full;
        expected.metadata.managed_fields = None;
        assert_eq!(lean, expected);
        assert_eq!(
            lean.metadata.annotations.unwrap()["managedFields"],
            "kept: not metadata's own field"
        );
    }

    #[test]
    fn keys_with_escapes_are_matched_by_their_decoded_text() {
        let text =
            r#"{"metadata":{"name":"p","managed\u0046ields":[1,2]},"spe\u0063":{"nodeName":"n1"}}"#;
        let pod: Pod = from_json(text).unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("p"));
        assert_eq!(pod.metadata.managed_fields, None);
        assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some("n1"));
    }

    #[test]
    fn malformed_managed_fields_are_skipped_as_long_as_they_are_json() {
        let text = r#"{"metadata":{"name":"e","managedFields":"not a list"},"involvedObject":{}}"#;
        let event: Event = from_json(text).unwrap();
        assert_eq!(event.metadata.name.as_deref(), Some("e"));
    }

    #[test]
    fn what_the_ordinary_decode_rejects_is_still_rejected() {
        for text in [
            r#"{"metadata":7,"involvedObject":{}}"#,
            r#"{"metadata":{"name":"e"},"involvedObject":{},"count":"three"}"#,
            r#"{"metadata":{"name":"e"},"involvedObject":{}} trailing"#,
            r#"[1,2]"#,
        ] {
            assert!(from_json::<Event>(text).is_err(), "{text}");
            assert!(serde_json::from_str::<Event>(text).is_err(), "{text}");
        }
    }
}
