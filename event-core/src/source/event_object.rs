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

use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserializer;

use super::lenient::{DecodeError, Lenient, LenientDecode};
use crate::event::EventParts;
use crate::{Event, EventApi, NormalizeError};

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
pub struct CoreV1Event(Box<EventParts>);

/// An `events.k8s.io/v1` Event as the source decodes it; see [`CoreV1Event`].
/// [`into_event`](Self::into_event) follows the rules of [`Event::from_events_v1`].
#[derive(Clone, Debug)]
pub struct EventsV1Event(Box<EventParts>);

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

/// Reads an object of `api` whose kind is `K`: decoded, or undecodable at the first field that
/// did not read as its type.
fn decode<'de, K: Resource<DynamicType = ()>, D: Deserializer<'de>>(
    api: EventApi,
    deserializer: D,
    wrap: fn(Box<EventParts>) -> K,
) -> Result<Lenient<K>, D::Error> {
    // Boxed and filled in place: about a kilobyte, which each move through the layers of a
    // decode (the field reader, `Lenient`, the watch notification) would copy.
    let mut object = Box::<EventParts>::default();
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

impl LenientDecode for CoreV1Event {
    fn decode_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Lenient<Self>, D::Error> {
        decode(EventApi::CoreV1, deserializer, CoreV1Event)
    }
}

impl LenientDecode for EventsV1Event {
    fn decode_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Lenient<Self>, D::Error> {
        decode(EventApi::EventsV1, deserializer, EventsV1Event)
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
mod mutated;
#[cfg(test)]
mod tests;
