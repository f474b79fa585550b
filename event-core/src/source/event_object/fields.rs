//! The one-pass reader behind [`CoreV1Event`](super::CoreV1Event) and
//! [`EventsV1Event`](super::EventsV1Event).
//!
//! Near 500 lines: one serde visitor per nested object of both Events APIs (metadata, the
//! involved/regarding object, source, series), each a few lines, kept together because they
//! share the drain-and-note rule below and are read against each other.
//!
//! Each field an occurrence needs is read as its JSON type; every other field is skipped
//! unparsed. A value of the wrong type is drained and noted (the first one, with its path)
//! instead of failing the decode, and the fields after it are still read: the caller's list
//! page or watch stream goes on, and the object keeps the identity its metadata gave.

use std::fmt;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::de::{
    self, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Unexpected,
    Visitor,
};

use crate::event::EventParts;
use crate::source::unmanaged::Key;
use crate::{EventApi, ObjectRef};

/// A value that is not of the type its field's schema says, and where it is.
#[derive(Debug)]
pub(in crate::source) struct Mismatch {
    /// Dotted, from the object down (`metadata.uid`); empty for the object itself.
    path: String,
    source: serde_json::Error,
}

impl Mismatch {
    fn new(source: serde_json::Error) -> Self {
        Mismatch {
            path: String::new(),
            source,
        }
    }

    fn within(mut self, field: &str) -> Self {
        self.path = if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.path)
        };
        self
    }

    /// The path (`.` for the object itself) and the decoder's error.
    pub(in crate::source) fn into_parts(self) -> (String, serde_json::Error) {
        let path = if self.path.is_empty() {
            ".".to_owned()
        } else {
            self.path
        };
        (path, self.source)
    }
}

/// Keeps the first mismatch of an object, placed under the field it came from.
fn note(first: &mut Option<Mismatch>, field: &str, mismatch: Mismatch) {
    if first.is_none() {
        *first = Some(mismatch.within(field));
    }
}

/// A map read field by field: its value so far, and the first mismatch inside it.
type Partial<T> = (T, Option<Mismatch>);

/// Reads an Event of one API from its JSON.
pub(super) struct Fields {
    api: EventApi,
}

impl Fields {
    pub(super) fn new(api: EventApi) -> Self {
        Fields { api }
    }

    /// Reads the object into `event`, in place (it is large, and moving it through the layers
    /// of a decode showed in profiles); returns the first field that did not read as its type.
    /// Errs only on input that is not JSON.
    pub(super) fn read<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
        event: &mut EventParts,
    ) -> Result<Option<Mismatch>, D::Error> {
        Ok(
            match deserializer.deserialize_any(Any(EventShape(self.api, event)))? {
                Ok(mismatch) => mismatch,
                Err(mismatch) => Some(mismatch),
            },
        )
    }
}

/// What one JSON value is expected to be. A value of another type is drained (maps and arrays)
/// and becomes the [`Mismatch`] serde_json would have reported for it.
trait Shape<'de>: Sized {
    type Value;

    /// What the schema says, for the error (`a string`).
    const EXPECTED: &'static str;

    /// The value of `null`.
    fn null(self) -> Self::Value;

    fn text(self, text: &str) -> Result<Self::Value, Mismatch> {
        Err(unexpected(Unexpected::Str(text), Self::EXPECTED))
    }

    fn integer(self, value: i64) -> Result<Self::Value, Mismatch> {
        Err(unexpected(Unexpected::Signed(value), Self::EXPECTED))
    }

    fn map<M: MapAccess<'de>>(self, mut map: M) -> Result<Result<Self::Value, Mismatch>, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Err(unexpected(Unexpected::Map, Self::EXPECTED)))
    }
}

fn unexpected(found: Unexpected<'_>, expected: &'static str) -> Mismatch {
    Mismatch::new(serde_json::Error::invalid_type(found, &expected))
}

/// Reads any JSON value as the shape `S` expects it.
struct Any<S>(S);

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Any<S> {
    type Value = Result<S::Value, Mismatch>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Any<S> {
    type Value = Result<S::Value, Mismatch>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(S::EXPECTED)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(self.0.null()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(self.0.null()))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(self.0.text(text))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Err(unexpected(Unexpected::Bool(value), S::EXPECTED)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(self.0.integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(match i64::try_from(value) {
            Ok(value) => self.0.integer(value),
            Err(_) => Err(unexpected(Unexpected::Unsigned(value), S::EXPECTED)),
        })
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Err(unexpected(Unexpected::Float(value), S::EXPECTED)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(unexpected(Unexpected::Seq, S::EXPECTED)))
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
        self.0.map(map)
    }
}

/// A string.
struct Text;

impl Shape<'_> for Text {
    type Value = Option<String>;
    const EXPECTED: &'static str = "a string";

    fn null(self) -> Option<String> {
        None
    }

    fn text(self, text: &str) -> Result<Option<String>, Mismatch> {
        Ok(Some(text.to_owned()))
    }
}

/// An `int32`.
struct Int32;

impl Shape<'_> for Int32 {
    type Value = Option<i32>;
    const EXPECTED: &'static str = "i32";

    fn null(self) -> Option<i32> {
        None
    }

    fn integer(self, value: i64) -> Result<Option<i32>, Mismatch> {
        i32::try_from(value).map(Some).map_err(|_| {
            Mismatch::new(serde_json::Error::invalid_value(
                Unexpected::Signed(value),
                &Self::EXPECTED,
            ))
        })
    }
}

/// A `metav1.Time` or `MicroTime`: RFC 3339 text, read as k8s-openapi reads it (jiff).
struct TimeText;

impl Shape<'_> for TimeText {
    type Value = Option<Timestamp>;
    const EXPECTED: &'static str = "an RFC 3339 time";

    fn null(self) -> Option<Timestamp> {
        None
    }

    fn text(self, text: &str) -> Result<Option<Timestamp>, Mismatch> {
        crate::event::rfc3339::parse(text)
            .map(Some)
            .map_err(|e| Mismatch::new(serde_json::Error::custom(e)))
    }
}

/// Reads the fields of a JSON object one by one: `field` reads the value of each key it knows
/// and returns `false` for the others, which are skipped unparsed.
fn read_fields<'de, M, T>(
    mut map: M,
    mut value: T,
    mut field: impl FnMut(&mut T, &str, &mut M, &mut Option<Mismatch>) -> Result<bool, M::Error>,
) -> Result<Partial<T>, M::Error>
where
    M: MapAccess<'de>,
{
    let mut first = None;
    while let Some(key) = map.next_key::<Key<'de>>()? {
        if !field(&mut value, key.as_str(), &mut map, &mut first)? {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok((value, first))
}

/// Reads the value of `key` as `shape`, noting a mismatch under `key`.
fn value<'de, M: MapAccess<'de>, S: Shape<'de>>(
    map: &mut M,
    key: &str,
    shape: S,
    first: &mut Option<Mismatch>,
) -> Result<Option<S::Value>, M::Error> {
    Ok(match map.next_value_seed(Any(shape))? {
        Ok(value) => Some(value),
        Err(mismatch) => {
            note(first, key, mismatch);
            None
        }
    })
}

/// Reads the value of `key`, a JSON object, keeping what it read of it and its first mismatch.
fn object<'de, M: MapAccess<'de>, T, S: Shape<'de, Value = Option<Partial<T>>>>(
    map: &mut M,
    key: &str,
    shape: S,
    first: &mut Option<Mismatch>,
) -> Result<Option<T>, M::Error> {
    let Some(Some((object, inner))) = value(map, key, shape, first)? else {
        return Ok(None);
    };
    if let Some(mismatch) = inner {
        note(first, key, mismatch);
    }
    Ok(Some(object))
}

/// The top-level object of an Event, with the field names of its API, read into its place.
struct EventShape<'a>(EventApi, &'a mut EventParts);

impl<'de> Shape<'de> for EventShape<'_> {
    /// The first mismatch inside the object.
    type Value = Option<Mismatch>;
    const EXPECTED: &'static str = "an Event object";

    fn null(self) -> Option<Mismatch> {
        Some(unexpected(Unexpected::Unit, Self::EXPECTED))
    }

    fn map<M: MapAccess<'de>>(
        self,
        map: M,
    ) -> Result<Result<Option<Mismatch>, Mismatch>, M::Error> {
        let core = self.0 == EventApi::CoreV1;
        read_fields(map, self.1, |event, key, map, first| {
            match (key, core) {
                ("metadata", _) => {
                    if let Some(Some(inner)) =
                        value(map, key, MetaShape(&mut event.metadata), first)?
                    {
                        note(first, key, inner);
                    }
                }
                ("involvedObject", true) | ("regarding", false) => {
                    event.regarding = object(map, key, ReferenceShape, first)?;
                }
                ("related", _) => event.related = object(map, key, ReferenceShape, first)?,
                ("reason", _) => event.reason = value(map, key, Text, first)?.flatten(),
                ("message", true) | ("note", false) => {
                    event.message = value(map, key, Text, first)?.flatten();
                }
                ("type", _) => event.event_type = value(map, key, Text, first)?.flatten(),
                ("action", _) => event.action = value(map, key, Text, first)?.flatten(),
                ("reportingComponent", true) | ("reportingController", false) => {
                    event.reporting_controller = value(map, key, Text, first)?.flatten();
                }
                ("reportingInstance", _) => {
                    event.reporting_instance = value(map, key, Text, first)?.flatten();
                }
                ("source", true) | ("deprecatedSource", false) => {
                    if let Some((component, host)) = object(map, key, SourceShape, first)? {
                        event.source_component = component;
                        event.source_host = host;
                    }
                }
                ("count", true) | ("deprecatedCount", false) => {
                    event.count = value(map, key, Int32, first)?.flatten();
                }
                ("series", _) => {
                    if let Some((count, last)) = object(map, key, SeriesShape, first)? {
                        event.series_count = count;
                        event.series_last = last;
                    }
                }
                ("firstTimestamp", true) | ("deprecatedFirstTimestamp", false) => {
                    event.first_timestamp = value(map, key, TimeText, first)?.flatten();
                }
                ("lastTimestamp", true) | ("deprecatedLastTimestamp", false) => {
                    event.last_timestamp = value(map, key, TimeText, first)?.flatten();
                }
                ("eventTime", _) => event.event_time = value(map, key, TimeText, first)?.flatten(),
                _ => return Ok(false),
            }
            Ok(true)
        })
        .map(|(_, first)| Ok(first))
    }
}

/// `metadata`: the identity of the occurrence and its creation time, read into its place;
/// labels, annotations, owner references and managedFields are skipped.
struct MetaShape<'a>(&'a mut ObjectMeta);

impl<'de> Shape<'de> for MetaShape<'_> {
    /// The first mismatch inside the metadata.
    type Value = Option<Mismatch>;
    const EXPECTED: &'static str = "the metadata of an object";

    fn null(self) -> Option<Mismatch> {
        None
    }

    fn map<M: MapAccess<'de>>(
        self,
        map: M,
    ) -> Result<Result<Option<Mismatch>, Mismatch>, M::Error> {
        read_fields(map, self.0, |meta, key, map, first| {
            match key {
                "name" => meta.name = value(map, key, Text, first)?.flatten(),
                "namespace" => meta.namespace = value(map, key, Text, first)?.flatten(),
                "uid" => meta.uid = value(map, key, Text, first)?.flatten(),
                "resourceVersion" => {
                    meta.resource_version = value(map, key, Text, first)?.flatten();
                }
                "creationTimestamp" => {
                    meta.creation_timestamp = value(map, key, TimeText, first)?.flatten().map(Time);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })
        .map(|(_, first)| Ok(first))
    }
}

/// An `ObjectReference` (`involvedObject`, `regarding`, `related`), empty fields left out as
/// [`ObjectRef`] wants them.
struct ReferenceShape;

impl<'de> Shape<'de> for ReferenceShape {
    type Value = Option<Partial<ObjectRef>>;
    const EXPECTED: &'static str = "an object reference";

    fn null(self) -> Self::Value {
        None
    }

    fn map<M: MapAccess<'de>>(self, map: M) -> Result<Result<Self::Value, Mismatch>, M::Error> {
        read_fields(map, ObjectRef::default(), |reference, key, map, first| {
            let slot = match key {
                "kind" => &mut reference.kind,
                "name" => &mut reference.name,
                "namespace" => return set(&mut reference.namespace, map, key, first),
                "uid" => return set(&mut reference.uid, map, key, first),
                "apiVersion" => return set(&mut reference.api_version, map, key, first),
                "fieldPath" => return set(&mut reference.field_path, map, key, first),
                _ => return Ok(false),
            };
            *slot = value(map, key, Text, first)?.flatten().unwrap_or_default();
            Ok(true)
        })
        .map(|partial| Ok(Some(partial)))
    }
}

/// Reads an optional string field of a reference, an empty one as absent.
fn set<'de, M: MapAccess<'de>>(
    slot: &mut Option<String>,
    map: &mut M,
    key: &str,
    first: &mut Option<Mismatch>,
) -> Result<bool, M::Error> {
    *slot = value(map, key, Text, first)?
        .flatten()
        .filter(|s| !s.is_empty());
    Ok(true)
}

/// The deprecated `source`: component and host.
struct SourceShape;

impl<'de> Shape<'de> for SourceShape {
    type Value = Option<Partial<(Option<String>, Option<String>)>>;
    const EXPECTED: &'static str = "an event source";

    fn null(self) -> Self::Value {
        None
    }

    fn map<M: MapAccess<'de>>(self, map: M) -> Result<Result<Self::Value, Mismatch>, M::Error> {
        read_fields(map, (None, None), |(component, host), key, map, first| {
            match key {
                "component" => *component = value(map, key, Text, first)?.flatten(),
                "host" => *host = value(map, key, Text, first)?.flatten(),
                _ => return Ok(false),
            }
            Ok(true)
        })
        .map(|partial| Ok(Some(partial)))
    }
}

/// `series`: its count and when it was last observed.
struct SeriesShape;

impl<'de> Shape<'de> for SeriesShape {
    type Value = Option<Partial<(Option<i32>, Option<Timestamp>)>>;
    const EXPECTED: &'static str = "an event series";

    fn null(self) -> Self::Value {
        None
    }

    fn map<M: MapAccess<'de>>(self, map: M) -> Result<Result<Self::Value, Mismatch>, M::Error> {
        read_fields(map, (None, None), |(count, last), key, map, first| {
            match key {
                "count" => *count = value(map, key, Int32, first)?.flatten(),
                "lastObservedTime" => *last = value(map, key, TimeText, first)?.flatten(),
                _ => return Ok(false),
            }
            Ok(true)
        })
        .map(|partial| Ok(Some(partial)))
    }
}
