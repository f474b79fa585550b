//! [`EventParts`]: what an Event object of either API holds that an occurrence is made of, and
//! the one set of rules that turns it into an [`Event`].
//!
//! Two readers fill it: [`Event::from_core_v1`] and [`Event::from_events_v1`] from
//! k8s-openapi's types, and the source's one-pass decode
//! ([`CoreV1Event`](crate::source::CoreV1Event)) straight from the JSON.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource};
use k8s_openapi::api::events::v1::Event as EventsEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Event, EventApi, NormalizeError, ObjectRef, non_empty, occurrence_count, seen_times};

/// The fields of an Event object an occurrence is made of, under the names of either API.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventParts {
    /// Only name, namespace, uid, resourceVersion and creationTimestamp are read.
    pub(crate) metadata: ObjectMeta,
    /// `involvedObject` in core/v1, `regarding` in events.k8s.io/v1.
    pub(crate) regarding: Option<ObjectRef>,
    pub(crate) related: Option<ObjectRef>,
    pub(crate) reason: Option<String>,
    /// `message` in core/v1, `note` in events.k8s.io/v1.
    pub(crate) message: Option<String>,
    pub(crate) event_type: Option<String>,
    pub(crate) action: Option<String>,
    /// `reportingComponent` in core/v1, `reportingController` in events.k8s.io/v1.
    pub(crate) reporting_controller: Option<String>,
    pub(crate) reporting_instance: Option<String>,
    /// `source` in core/v1, `deprecatedSource` in events.k8s.io/v1.
    pub(crate) source_component: Option<String>,
    pub(crate) source_host: Option<String>,
    /// `count` in core/v1, `deprecatedCount` in events.k8s.io/v1.
    pub(crate) count: Option<i32>,
    pub(crate) series_count: Option<i32>,
    pub(crate) series_last: Option<Timestamp>,
    /// `firstTimestamp` / `deprecatedFirstTimestamp`.
    pub(crate) first_timestamp: Option<Timestamp>,
    /// `lastTimestamp` / `deprecatedLastTimestamp`.
    pub(crate) last_timestamp: Option<Timestamp>,
    pub(crate) event_time: Option<Timestamp>,
}

impl EventParts {
    /// The parts of a k8s-openapi `core/v1` Event, copied.
    pub(crate) fn of_core_v1(ev: &CoreEvent) -> Self {
        let (source_component, source_host) = source(ev.source.as_ref());
        EventParts {
            metadata: identity_of(&ev.metadata),
            regarding: Some(ObjectRef::from_k8s(&ev.involved_object)),
            related: ev.related.as_ref().map(ObjectRef::from_k8s),
            reason: ev.reason.clone(),
            message: ev.message.clone(),
            event_type: ev.type_.clone(),
            action: ev.action.clone(),
            reporting_controller: ev.reporting_component.clone(),
            reporting_instance: ev.reporting_instance.clone(),
            source_component,
            source_host,
            count: ev.count,
            series_count: ev.series.as_ref().and_then(|s| s.count),
            series_last: ev
                .series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0),
            first_timestamp: ev.first_timestamp.as_ref().map(|t| t.0),
            last_timestamp: ev.last_timestamp.as_ref().map(|t| t.0),
            event_time: ev.event_time.as_ref().map(|t| t.0),
        }
    }

    /// The parts of a k8s-openapi `events.k8s.io/v1` Event, copied.
    pub(crate) fn of_events_v1(ev: &EventsEvent) -> Self {
        let (source_component, source_host) = source(ev.deprecated_source.as_ref());
        EventParts {
            metadata: identity_of(&ev.metadata),
            regarding: ev.regarding.as_ref().map(ObjectRef::from_k8s),
            related: ev.related.as_ref().map(ObjectRef::from_k8s),
            reason: ev.reason.clone(),
            message: ev.note.clone(),
            event_type: ev.type_.clone(),
            action: ev.action.clone(),
            reporting_controller: ev.reporting_controller.clone(),
            reporting_instance: ev.reporting_instance.clone(),
            source_component,
            source_host,
            count: ev.deprecated_count,
            series_count: ev.series.as_ref().map(|s| s.count),
            series_last: ev.series.as_ref().map(|s| s.last_observed_time.0),
            first_timestamp: ev.deprecated_first_timestamp.as_ref().map(|t| t.0),
            last_timestamp: ev.deprecated_last_timestamp.as_ref().map(|t| t.0),
            event_time: ev.event_time.as_ref().map(|t| t.0),
        }
    }

    /// The occurrence, by the fallbacks [`Event::from_core_v1`] documents.
    pub(crate) fn into_event(self, api: EventApi) -> Result<Event, NormalizeError> {
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
}

/// The metadata fields an occurrence reads.
fn identity_of(meta: &ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        creation_timestamp: meta.creation_timestamp.clone(),
        ..ObjectMeta::default()
    }
}

fn source(source: Option<&EventSource>) -> (Option<String>, Option<String>) {
    source.map_or((None, None), |s| (s.component.clone(), s.host.clone()))
}
