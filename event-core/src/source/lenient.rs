//! Objects decoded one at a time: one the client cannot read is kept as an error beside its
//! metadata, so the list or the watch it came in goes on past it.
//!
//! kube-rs decodes a list page as one typed value, so one Event with a time k8s-openapi cannot
//! hold (past year 9999) or a field of the wrong JSON type fails the whole page, and its watcher
//! retries the list until that object is gone (an Event's TTL: an hour, during which new events
//! could be made and expire unseen). Reading each object as JSON first, then as its kind,
//! confines the failure to the object.
//!
//! Over 400 lines with its tests only (about 340 without).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An object of kind `K` as the API server sent it: decoded, or, when it does not decode as `K`,
/// as much of its metadata as could be read and why the rest could not.
///
/// It is a [`Resource`] of the same kind, group, version, plural and scope as `K`, so an
/// `Api<Lenient<K>>` lists and watches the same objects as an `Api<K>`; its
/// [`meta`](Resource::meta) is the object's metadata either way, which lets kube-rs's watcher
/// follow resourceVersions past an object it could not decode.
///
/// ```
/// use event_core::source::Lenient;
/// use k8s_openapi::api::core::v1::Event;
/// use kube::ResourceExt;
///
/// let late: Lenient<Event> = serde_json::from_value(serde_json::json!({
///     "metadata": {"namespace": "payments", "name": "late", "uid": "u1", "resourceVersion": "7"},
///     "lastTimestamp": "9999-12-31T23:59:59Z",
/// }))?;
/// let error = late.decoded().unwrap_err();
/// assert_eq!(error.path(), "lastTimestamp");
/// assert_eq!(late.resource_version().as_deref(), Some("7"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Lenient<K> {
    inner: Inner<K>,
}

#[derive(Clone, Debug)]
enum Inner<K> {
    Decoded(K),
    // Boxed: rare, and a list page holds many objects.
    Undecodable(Box<Undecodable>),
}

#[derive(Clone, Debug)]
struct Undecodable {
    metadata: ObjectMeta,
    error: DecodeError,
}

/// Why an object did not decode as its kind: the field, and the decoder's error.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{kind} {object} does not decode at `{path}`: {source}")]
pub struct DecodeError {
    kind: String,
    object: String,
    path: String,
    // Shared so that the object stays `Clone`, as kube-rs's watcher needs.
    #[source]
    source: Arc<serde_json::Error>,
}

impl DecodeError {
    /// The error of an object of `kind` with `metadata` that did not decode at `path`.
    pub(super) fn new(
        kind: String,
        metadata: &ObjectMeta,
        path: String,
        source: serde_json::Error,
    ) -> Self {
        let object = match (&metadata.namespace, &metadata.name) {
            (Some(ns), Some(name)) => format!("{ns}/{name}"),
            (None, Some(name)) => name.clone(),
            (_, None) => "(unnamed)".to_owned(),
        };
        DecodeError {
            kind,
            object,
            path,
            source: Arc::new(source),
        }
    }

    /// The path of the field that did not decode, e.g. `lastTimestamp` or
    /// `metadata.labels`; `.` for the object itself.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl<K> Lenient<K> {
    /// The object as its kind, or why it does not decode as one.
    ///
    /// # Errors
    ///
    /// The [`DecodeError`] of an object that did not decode.
    pub fn decoded(&self) -> Result<&K, &DecodeError> {
        match &self.inner {
            Inner::Decoded(object) => Ok(object),
            Inner::Undecodable(undecodable) => Err(&undecodable.error),
        }
    }

    /// Like [`decoded`](Self::decoded), by value.
    ///
    /// # Errors
    ///
    /// The [`DecodeError`] of an object that did not decode.
    pub fn into_decoded(self) -> Result<K, DecodeError> {
        match self.inner {
            Inner::Decoded(object) => Ok(object),
            Inner::Undecodable(undecodable) => Err(undecodable.error),
        }
    }
}

impl<K: Resource<DynamicType = ()> + DeserializeOwned> Lenient<K> {
    fn from_value(value: &Value) -> Self {
        // The common case pays for one decode; only a bad object is decoded again to find where.
        if let Ok(object) = K::deserialize(value) {
            return Lenient::from(object);
        }
        let (path, source) = match serde_path_to_error::deserialize::<_, K>(value) {
            Ok(object) => return Lenient::from(object),
            Err(e) => (e.path().to_string(), e.into_inner()),
        };
        let metadata = metadata_of(value);
        let error = DecodeError::new(K::kind(&()).into_owned(), &metadata, path, source);
        Lenient::undecodable(metadata, error)
    }
}

impl<K> Lenient<K> {
    /// An object that did not decode: what of its metadata could be read, and why.
    pub(super) fn undecodable(metadata: ObjectMeta, error: DecodeError) -> Self {
        Lenient {
            inner: Inner::Undecodable(Box::new(Undecodable { metadata, error })),
        }
    }
}

/// The metadata of an object that did not decode: all of it when it reads as `ObjectMeta`, else
/// the identity fields that are strings, so that its resourceVersion still counts.
fn metadata_of(value: &Value) -> ObjectMeta {
    let Some(meta) = value.get("metadata") else {
        return ObjectMeta::default();
    };
    ObjectMeta::deserialize(meta).unwrap_or_else(|_| {
        let text = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_owned);
        ObjectMeta {
            name: text("name"),
            namespace: text("namespace"),
            uid: text("uid"),
            resource_version: text("resourceVersion"),
            ..ObjectMeta::default()
        }
    })
}

impl<K> From<K> for Lenient<K> {
    fn from(object: K) -> Self {
        Lenient {
            inner: Inner::Decoded(object),
        }
    }
}

/// The name under which serde_json's deserializer hands over an object's raw JSON text (the
/// mechanism of `serde_json::value::RawValue`). Any other deserializer, or a serde_json whose
/// name differs, treats it as a plain newtype struct: the slower [`Value`] path then applies.
const RAW_JSON: &str = "$serde_json::private::RawValue";

/// How [`Lenient`] reads an object of a kind: decoded, or undecodable with its metadata.
///
/// Every kind with k8s-openapi's `Deserialize` has it: the object's JSON is read whole, then
/// decoded as the kind. [`CoreV1Event`](super::CoreV1Event) and
/// [`EventsV1Event`](super::EventsV1Event) read theirs in one pass.
pub trait LenientDecode: Sized {
    /// Reads one object.
    ///
    /// # Errors
    ///
    /// The deserializer's error, only when the input is not JSON at all: an object that does
    /// not decode as its kind is an [`Ok`] [`Lenient`] holding a [`DecodeError`].
    fn decode_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Lenient<Self>, D::Error>;
}

impl<'de, K: LenientDecode> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        K::decode_lenient(deserializer)
    }
}

impl<K: Resource<DynamicType = ()> + DeserializeOwned> LenientDecode for K {
    fn decode_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Lenient<Self>, D::Error> {
        // From serde_json (lists, and watch lines whose `type` comes before `object` as the API
        // server writes them), take the object's JSON text without building it, then decode it
        // as `K` in one pass: a good object costs about what decoding `K` directly costs. From
        // anything else (serde's buffering of a watch line written `object` first), read a
        // `Value`. Only what is not JSON at all fails here.
        deserializer.deserialize_newtype_struct(RAW_JSON, LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<K>(PhantomData<K>);

impl<'de, K: Resource<DynamicType = ()> + DeserializeOwned> Visitor<'de> for LenientVisitor<K> {
    type Value = Lenient<K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    /// serde_json's raw-text path: one entry, the text under the private name.
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        // The key is the private name itself; the value must be text, or this fails.
        match map.next_key::<IgnoredAny>()? {
            Some(IgnoredAny) => map.next_value_seed(FromJsonText(PhantomData)),
            None => Err(de::Error::custom(
                "expected the raw JSON text of an object from serde_json",
            )),
        }
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(Lenient::from_value(&value))
    }
}

/// Decodes the raw JSON text serde_json hands over.
struct FromJsonText<K>(PhantomData<K>);

impl<'de, K: Resource<DynamicType = ()> + DeserializeOwned> DeserializeSeed<'de>
    for FromJsonText<K>
{
    type Value = Lenient<K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: Resource<DynamicType = ()> + DeserializeOwned> Visitor<'de> for FromJsonText<K> {
    type Value = Lenient<K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the JSON text of a Kubernetes object")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Lenient::from_json(text))
    }
}

impl<K: Resource<DynamicType = ()> + DeserializeOwned> Lenient<K> {
    fn from_json(text: &str) -> Self {
        // An Event's managedFields are never read, and skipping them unparsed is the cheaper
        // decode. Every other kind keeps them: their times say when an object change was made
        // (see `event::change`).
        let decoded = if K::kind(&()) == "Event" {
            super::unmanaged::from_json::<K>(text)
        } else {
            serde_json::from_str::<K>(text)
        };
        if let Ok(object) = decoded {
            return Lenient::from(object);
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value) => Lenient::from_value(&value),
            // Unreachable for text serde_json itself captured; kept total rather than trusted.
            Err(_) => Lenient::from_value(&Value::Null),
        }
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Lenient<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }

    fn api_version(dt: &()) -> Cow<'_, str> {
        K::api_version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn metadata_api() -> bool {
        K::metadata_api()
    }

    fn url_path(dt: &(), namespace: Option<&str>) -> String {
        K::url_path(dt, namespace)
    }

    fn meta(&self) -> &ObjectMeta {
        match &self.inner {
            Inner::Decoded(object) => object.meta(),
            Inner::Undecodable(undecodable) => &undecodable.metadata,
        }
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match &mut self.inner {
            Inner::Decoded(object) => object.meta_mut(),
            Inner::Undecodable(undecodable) => &mut undecodable.metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Event, Node, Pod};
    use kube::ResourceExt;
    use kube::core::{ObjectList, WatchEvent};
    use serde_json::json;

    use super::*;

    fn event(name: &str, extra: Value) -> Value {
        let mut event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"namespace": "payments", "name": name, "uid": format!("uid-{name}"), "resourceVersion": "41"},
            "involvedObject": {"kind": "Pod", "name": "web-0"},
            "reason": "BackOff",
            "lastTimestamp": "2026-11-24T10:00:00Z",
        });
        if let (Value::Object(event), Value::Object(extra)) = (&mut event, extra) {
            event.extend(extra);
        }
        event
    }

    #[test]
    fn a_good_object_decodes_as_its_kind() {
        let lenient: Lenient<Event> = serde_json::from_value(event("good", json!({}))).unwrap();
        let decoded = lenient.decoded().unwrap();
        assert_eq!(decoded.reason.as_deref(), Some("BackOff"));
        assert_eq!(lenient.uid().as_deref(), Some("uid-good"));
        assert_eq!(lenient.resource_version().as_deref(), Some("41"));
        assert_eq!(
            lenient.into_decoded().unwrap().metadata.name.as_deref(),
            Some("good")
        );
    }

    #[test]
    fn events_lose_their_managed_fields_and_other_kinds_keep_them() {
        let managed =
            json!([{"manager": "kubelet", "operation": "Update", "time": "2026-11-24T10:00:00Z"}]);
        let mut event = event("managed", json!({}));
        event["metadata"]["managedFields"] = managed.clone();
        let event: Lenient<Event> = serde_json::from_str(&event.to_string()).unwrap();
        assert_eq!(event.decoded().unwrap().metadata.managed_fields, None);
        let pod = json!({"metadata": {"name": "web-0", "uid": "p1", "resourceVersion": "5", "managedFields": managed}});
        let pod: Lenient<Pod> = serde_json::from_str(&pod.to_string()).unwrap();
        let fields = pod
            .decoded()
            .unwrap()
            .metadata
            .managed_fields
            .as_ref()
            .unwrap();
        assert_eq!(fields[0].manager.as_deref(), Some("kubelet"));
        assert!(fields[0].time.is_some());
    }

    #[test]
    fn a_time_past_year_9999_is_an_error_naming_the_field_and_keeps_the_metadata() {
        let lenient: Lenient<Event> = serde_json::from_value(event(
            "late",
            json!({"lastTimestamp": "9999-12-31T23:59:59Z"}),
        ))
        .unwrap();
        let error = lenient.decoded().unwrap_err();
        assert_eq!(error.path(), "lastTimestamp");
        let message = error.to_string();
        assert!(
            message.starts_with("Event payments/late does not decode at `lastTimestamp`: "),
            "{message}"
        );
        assert!(std::error::Error::source(error).is_some());
        assert_eq!(lenient.uid().as_deref(), Some("uid-late"));
        assert_eq!(lenient.resource_version().as_deref(), Some("41"));
        assert_eq!(lenient.namespace().as_deref(), Some("payments"));
    }

    #[test]
    fn a_field_of_the_wrong_json_type_is_an_error_naming_the_field() {
        let lenient: Lenient<Event> =
            serde_json::from_value(event("odd", json!({"count": "three"}))).unwrap();
        assert_eq!(lenient.decoded().unwrap_err().path(), "count");
        assert_eq!(lenient.resource_version().as_deref(), Some("41"));
    }

    #[test]
    fn unreadable_metadata_still_yields_its_identity_fields() {
        let lenient: Lenient<Event> = serde_json::from_value(event(
            "labelled",
            json!({"metadata": {"name": "labelled", "uid": "u9", "resourceVersion": "9", "labels": "not a map"}}),
        ))
        .unwrap();
        let error = lenient.decoded().unwrap_err();
        assert_eq!(error.path(), "metadata.labels");
        assert!(error.to_string().contains(" labelled "), "{error}");
        assert_eq!(lenient.uid().as_deref(), Some("u9"));
        assert_eq!(lenient.resource_version().as_deref(), Some("9"));
        assert!(lenient.labels().is_empty());
    }

    #[test]
    fn metadata_that_is_not_an_object_leaves_the_metadata_empty() {
        let lenient: Lenient<Event> =
            serde_json::from_value(event("gone", json!({"metadata": 7}))).unwrap();
        assert_eq!(lenient.decoded().unwrap_err().path(), "metadata");
        assert_eq!(lenient.meta(), &ObjectMeta::default());
        assert!(
            lenient
                .decoded()
                .unwrap_err()
                .to_string()
                .contains("(unnamed)")
        );
        let not_an_object: Lenient<Event> = serde_json::from_value(json!("garbage")).unwrap();
        assert_eq!(not_an_object.decoded().unwrap_err().path(), ".");
        assert_eq!(not_an_object.resource_version(), None);
    }

    #[test]
    fn one_bad_item_in_a_list_does_not_fail_the_others() {
        let list = json!({
            "apiVersion": "v1", "kind": "EventList",
            "metadata": {"resourceVersion": "50"},
            "items": [
                event("first", json!({})),
                event("late", json!({"lastTimestamp": "9999-12-31T23:59:59Z"})),
                event("last", json!({})),
            ],
        });
        let text = list.to_string();
        assert!(
            serde_json::from_str::<ObjectList<Event>>(&text).is_err(),
            "the typed list fails as a whole"
        );
        let list: ObjectList<Lenient<Event>> = serde_json::from_str(&text).unwrap();
        assert_eq!(list.metadata.resource_version.as_deref(), Some("50"));
        let decoded: Vec<bool> = list.items.iter().map(|i| i.decoded().is_ok()).collect();
        assert_eq!(decoded, [true, false, true]);
    }

    #[test]
    fn a_watch_line_decodes_alike_whichever_of_type_and_object_comes_first() {
        let object = event("late", json!({})).to_string();
        let type_first = format!(r#"{{"type":"ADDED","object":{object}}}"#);
        let object_first = format!(r#"{{"object":{object},"type":"ADDED"}}"#);
        for line in [type_first, object_first] {
            let notification: WatchEvent<Lenient<Event>> = serde_json::from_str(&line).unwrap();
            let WatchEvent::Added(object) = notification else {
                panic!("an ADDED notification: {notification:?}");
            };
            assert_eq!(
                object.decoded().unwrap().metadata.name.as_deref(),
                Some("late")
            );
        }
    }

    #[test]
    fn a_bad_watch_notification_is_still_a_notification() {
        let line = json!({"type": "MODIFIED", "object": event("late", json!({"eventTime": "not a time"}))});
        let notification: WatchEvent<Lenient<Event>> =
            serde_json::from_slice(line.to_string().as_bytes()).unwrap();
        let WatchEvent::Modified(object) = notification else {
            panic!("a MODIFIED notification: {notification:?}");
        };
        assert_eq!(object.decoded().unwrap_err().path(), "eventTime");
        assert_eq!(object.resource_version().as_deref(), Some("41"));
    }

    #[test]
    fn the_wrapper_is_the_same_resource_as_its_kind() {
        assert_eq!(Lenient::<Pod>::kind(&()), "Pod");
        assert_eq!(Lenient::<Pod>::plural(&()), "pods");
        assert_eq!(Lenient::<Pod>::api_version(&()), "v1");
        assert_eq!(
            Lenient::<Pod>::url_path(&(), Some("payments")),
            Pod::url_path(&(), Some("payments"))
        );
        assert_eq!(Lenient::<Node>::url_path(&(), None), "/api/v1/nodes");
        assert_eq!(
            Lenient::<k8s_openapi::api::events::v1::Event>::api_version(&()),
            "events.k8s.io/v1"
        );
    }
}
