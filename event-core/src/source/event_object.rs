//! Events as the source reads them: the fields an occurrence is made of, decoded straight from
//! the API server's JSON in one pass, without k8s-openapi's types in between.
//!
//! Decoding an Event into k8s-openapi's `Event` builds every field of it (labels, annotations,
//! owner references, managedFields' trees), then normalizing copies the dozen strings an
//! occurrence keeps. [`CoreV1Event`] and [`EventsV1Event`] read only those fields, skip the rest
//! unparsed (validated, never built), and move what they read into the [`Event`] — about half
//! the work per watch line (`BENCHMARKS.md`).
//!
//! They are lenient by construction, in the same pass: a field of the wrong JSON type or a time
//! that does not parse makes the object [undecodable](super::Lenient::decoded) at that field's
//! path, with whatever identity its metadata gave, and the rest of the object is still read,
//! so that the list page or watch stream it came in goes on. Only input that is not JSON at all
//! fails the decode.

use std::borrow::Cow;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserializer;

use super::lenient::{DecodeError, Lenient, LenientDecode};
use crate::event::{occurrence_count, seen_times};
use crate::{Event, EventApi, NormalizeError, ObjectRef};

mod fields;

use fields::Fields;

/// A `core/v1` Event as the source decodes it: only what its occurrence is made of.
///
/// The [`Resource`] of the same kind, group, version and plural as k8s-openapi's
/// `core::v1::Event`, so `Api<Lenient<CoreV1Event>>` lists and watches the same objects;
/// [`into_event`](Self::into_event) makes the occurrence, by the rules of
/// [`Event::from_core_v1`].
///
/// ```
/// use event_core::source::{CoreV1Event, Lenient};
///
/// let line = r#"{"type":"ADDED","object":{"metadata":{"uid":"u1","resourceVersion":"7"},
///     "involvedObject":{"kind":"Pod","name":"web-0"},"reason":"BackOff","count":3}}"#;
/// let kube::core::WatchEvent::Added(object) =
///     serde_json::from_str::<kube::core::WatchEvent<Lenient<CoreV1Event>>>(line)?
/// else {
///     unreachable!("an ADDED line")
/// };
/// let event = object.into_decoded()?.into_event()?;
/// assert_eq!((event.reason.as_str(), event.count), ("BackOff", 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CoreV1Event(Box<EventObject>);

/// An `events.k8s.io/v1` Event as the source decodes it; see [`CoreV1Event`].
/// [`into_event`](Self::into_event) follows the rules of [`Event::from_events_v1`].
#[derive(Clone, Debug)]
pub struct EventsV1Event(Box<EventObject>);

impl CoreV1Event {
    /// The occurrence this object is.
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object lacks a uid or resourceVersion.
    pub fn into_event(self) -> Result<Event, NormalizeError> {
        self.0.into_event(EventApi::CoreV1)
    }
}

impl EventsV1Event {
    /// The occurrence this object is.
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object lacks a uid or resourceVersion.
    pub fn into_event(self) -> Result<Event, NormalizeError> {
        self.0.into_event(EventApi::EventsV1)
    }
}

/// What both APIs' Events hold that an occurrence is made of, under the names of either.
#[derive(Clone, Debug, Default)]
pub(super) struct EventObject {
    /// Only name, namespace, uid, resourceVersion and creationTimestamp are read.
    pub(super) metadata: ObjectMeta,
    /// `involvedObject` in core/v1, `regarding` in events.k8s.io/v1.
    pub(super) regarding: Option<ObjectRef>,
    pub(super) related: Option<ObjectRef>,
    pub(super) reason: Option<String>,
    /// `message` in core/v1, `note` in events.k8s.io/v1.
    pub(super) message: Option<String>,
    pub(super) event_type: Option<String>,
    pub(super) action: Option<String>,
    /// `reportingComponent` in core/v1, `reportingController` in events.k8s.io/v1.
    pub(super) reporting_controller: Option<String>,
    pub(super) reporting_instance: Option<String>,
    /// `source` in core/v1, `deprecatedSource` in events.k8s.io/v1.
    pub(super) source_component: Option<String>,
    pub(super) source_host: Option<String>,
    /// `count` in core/v1, `deprecatedCount` in events.k8s.io/v1.
    pub(super) count: Option<i32>,
    pub(super) series_count: Option<i32>,
    pub(super) series_last: Option<Timestamp>,
    /// `firstTimestamp` / `deprecatedFirstTimestamp`.
    pub(super) first_timestamp: Option<Timestamp>,
    /// `lastTimestamp` / `deprecatedLastTimestamp`.
    pub(super) last_timestamp: Option<Timestamp>,
    pub(super) event_time: Option<Timestamp>,
}

impl EventObject {
    fn into_event(self, api: EventApi) -> Result<Event, NormalizeError> {
        let meta = self.metadata;
        let name = meta.name.unwrap_or_default();
        let Some(uid) = non_empty(meta.uid) else {
            return Err(NormalizeError::MissingUid { name });
        };
        let Some(resource_version) = non_empty(meta.resource_version) else {
            return Err(NormalizeError::MissingResourceVersion { name });
        };
        let created = meta.creation_timestamp.map(|t| t.0);
        let (first_seen, last_seen) = seen_times(
            self.first_timestamp,
            self.last_timestamp,
            self.series_last,
            self.event_time,
            created,
        );
        Ok(Event {
            uid,
            resource_version,
            namespace: non_empty(meta.namespace),
            name,
            regarding: self.regarding.unwrap_or_default(),
            related: self.related,
            reason: self.reason.unwrap_or_default(),
            message: self.message.unwrap_or_default(),
            event_type: self.event_type.unwrap_or_default(),
            action: non_empty(self.action),
            reporting_controller: non_empty(self.reporting_controller)
                .or_else(|| non_empty(self.source_component)),
            reporting_instance: non_empty(self.reporting_instance)
                .or_else(|| non_empty(self.source_host)),
            count: occurrence_count(self.series_count, self.count),
            first_seen,
            last_seen,
            api,
            cluster: None,
        })
    }

    /// Reads an object of `api` whose kind is `K`: decoded, or undecodable at the first field
    /// that did not read as its type.
    fn decode<'de, K: Resource<DynamicType = ()>, D: Deserializer<'de>>(
        api: EventApi,
        deserializer: D,
        wrap: fn(Box<EventObject>) -> K,
    ) -> Result<Lenient<K>, D::Error> {
        // Boxed and filled in place: about a kilobyte, which each move through the layers of a
        // decode (the field reader, `Lenient`, the watch notification) would copy.
        let mut object = Box::<EventObject>::default();
        Ok(match Fields::new(api).read(deserializer, &mut object)? {
            None => Lenient::from(wrap(object)),
            Some(mismatch) => {
                let (path, source) = mismatch.into_parts();
                let metadata = std::mem::take(&mut object.metadata);
                let error = DecodeError::new(K::kind(&()).into_owned(), &metadata, path, source);
                Lenient::undecodable(metadata, error)
            }
        })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.is_empty())
}

impl LenientDecode for CoreV1Event {
    fn decode_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Lenient<Self>, D::Error> {
        EventObject::decode(EventApi::CoreV1, deserializer, CoreV1Event)
    }
}

impl LenientDecode for EventsV1Event {
    fn decode_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Lenient<Self>, D::Error> {
        EventObject::decode(EventApi::EventsV1, deserializer, EventsV1Event)
    }
}

/// Delegates every name of the resource to k8s-openapi's type, so both stay the same objects.
macro_rules! same_resource_as {
    ($lean:ty, $k8s:ty) => {
        impl Resource for $lean {
            type DynamicType = ();
            type Scope = <$k8s as Resource>::Scope;

            fn kind(dt: &()) -> Cow<'_, str> {
                <$k8s as Resource>::kind(dt)
            }

            fn group(dt: &()) -> Cow<'_, str> {
                <$k8s as Resource>::group(dt)
            }

            fn version(dt: &()) -> Cow<'_, str> {
                <$k8s as Resource>::version(dt)
            }

            fn api_version(dt: &()) -> Cow<'_, str> {
                <$k8s as Resource>::api_version(dt)
            }

            fn plural(dt: &()) -> Cow<'_, str> {
                <$k8s as Resource>::plural(dt)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.0.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.0.metadata
            }
        }
    };
}

same_resource_as!(CoreV1Event, CoreEvent);
same_resource_as!(EventsV1Event, EventsEvent);

#[cfg(test)]
mod tests;
