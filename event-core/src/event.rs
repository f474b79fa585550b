//! The normalized [`Event`]: one shape for both Kubernetes Event APIs.
//!
//! `core/v1` and `events.k8s.io/v1` are two views of the same stored objects, with different field
//! names and with legacy fields that may be `null` in one view and set in the other. [`Event`]
//! folds both into one record, choosing each field by a documented fallback chain so that sinks
//! and readers never need to know which API an event came from.
//!
//! Over 400 lines with its tests only (about 310 without).

use std::fmt;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference as K8sObjectReference};
use k8s_openapi::api::events::v1::Event as EventsEvent;
use serde::{Deserialize, Serialize};

pub mod change;
mod json;
mod parts;
pub(crate) mod rfc3339;

pub use change::{Change, GONE_IN_GAP, REPORTING_CONTROLLER, Summarize, Summary};
pub(crate) use parts::EventParts;

/// The Kubernetes API group an [`Event`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum EventApi {
    /// `events.k8s.io/v1`, the current Events API (the default source).
    #[default]
    #[serde(rename = "events.k8s.io/v1")]
    EventsV1,
    /// `v1`, the legacy core Events API.
    #[serde(rename = "v1")]
    CoreV1,
    /// A change of another object (pod, node, ...) recorded as an event by Event Keeper.
    #[serde(rename = "object-change")]
    ObjectChange,
}

impl EventApi {
    /// The `apiVersion` string of this API group.
    pub fn as_str(self) -> &'static str {
        match self {
            EventApi::EventsV1 => "events.k8s.io/v1",
            EventApi::CoreV1 => "v1",
            EventApi::ObjectChange => "object-change",
        }
    }
}

impl fmt::Display for EventApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to the object an event is about (`involvedObject` / `regarding`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectRef {
    /// Kind of the object, e.g. `Pod`.
    #[serde(default)]
    pub kind: String,
    /// Name of the object.
    #[serde(default)]
    pub name: String,
    /// Namespace of the object; `None` for cluster-scoped objects such as nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// UID of the object, when the reporter set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// `apiVersion` of the object, when the reporter set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Field path inside the object, e.g. `spec.containers{app}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
}

impl ObjectRef {
    /// A reference to `kind`/`name`, with every optional field empty.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectRef {
            kind: kind.into(),
            name: name.into(),
            ..ObjectRef::default()
        }
    }

    /// The reference in `kubectl`'s `kind/name` form, kind lower-cased (`pod/api-7d9f`).
    pub fn to_kubectl_string(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }

    fn from_k8s(r: &K8sObjectReference) -> Self {
        ObjectRef {
            kind: r.kind.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
            namespace: r.namespace.clone().filter(|s| !s.is_empty()),
            uid: r.uid.clone().filter(|s| !s.is_empty()),
            api_version: r.api_version.clone().filter(|s| !s.is_empty()),
            field_path: r.field_path.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// The identity of one occurrence: an event's uid plus the resourceVersion it had.
///
/// An update of an event (its count or series went up) has a new resourceVersion and is a new
/// occurrence; deduplicating on the uid alone would lose it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OccurrenceKey {
    /// `metadata.uid` of the event.
    pub uid: String,
    /// `metadata.resourceVersion` of this occurrence.
    pub resource_version: String,
}

impl fmt::Display for OccurrenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.uid, self.resource_version)
    }
}

/// One occurrence of a Kubernetes event, normalized from either Events API.
///
/// Serialized as one flat JSON object with camelCase keys; this is the record every sink writes
/// and every reader parses back.
///
/// # Example
///
/// ```
/// use event_core::{Event, ObjectRef};
///
/// let mut event = Event::new("7d3c6a2e", "1042");
/// event.namespace = Some("payments".into());
/// event.regarding = ObjectRef::new("Pod", "api-7d9f");
/// event.reason = "BackOff".into();
/// event.event_type = "Warning".into();
/// assert_eq!(event.key().to_string(), "7d3c6a2e/1042");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Event {
    /// `metadata.uid`: stable across updates of the same event.
    pub uid: String,
    /// `metadata.resourceVersion` of this occurrence.
    pub resource_version: String,
    /// Namespace of the Event object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name` of the Event object.
    #[serde(default)]
    pub name: String,
    /// The object the event is about (`regarding`, or `involvedObject` in core/v1).
    #[serde(default)]
    pub regarding: ObjectRef,
    /// A secondary object, when the reporter set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectRef>,
    /// Short machine-readable reason, e.g. `FailedScheduling`.
    #[serde(default)]
    pub reason: String,
    /// Human-readable description (`note`, or `message` in core/v1).
    #[serde(default)]
    pub message: String,
    /// `Normal` or `Warning` (other values are kept as they are).
    #[serde(default, rename = "type")]
    pub event_type: String,
    /// What was done or failed, e.g. `Scheduling`; new API only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The controller that emitted the event (falls back to the deprecated `source.component`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_controller: Option<String>,
    /// The instance of that controller (falls back to the deprecated `source.host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_instance: Option<String>,
    /// How many times this event has occurred: `series.count`, then `count`, then 1.
    pub count: u32,
    /// When the event was first observed.
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub first_seen: Timestamp,
    /// When the event was last observed.
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub last_seen: Timestamp,
    /// The API group this occurrence was read from.
    #[serde(default)]
    pub api: EventApi,
    /// Name of the cluster, when the pipeline is configured with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// Why a Kubernetes object could not be turned into an [`Event`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The object has no `metadata.uid`, so its occurrences cannot be identified.
    #[error("event {name:?} has no metadata.uid; it cannot be tracked and is skipped")]
    MissingUid {
        /// `metadata.name` of the object, possibly empty.
        name: String,
    },
    /// The object has no `metadata.resourceVersion`.
    #[error("event {name:?} has no metadata.resourceVersion; it cannot be tracked and is skipped")]
    MissingResourceVersion {
        /// `metadata.name` of the object, possibly empty.
        name: String,
    },
}

impl Event {
    /// An event with the given identity, `Normal` type, count 1 and both timestamps set to now.
    ///
    /// Meant for tests and for sources other than the Kubernetes API; set the public fields after.
    pub fn new(uid: impl Into<String>, resource_version: impl Into<String>) -> Self {
        let now = Timestamp::now();
        Event {
            uid: uid.into(),
            resource_version: resource_version.into(),
            namespace: None,
            name: String::new(),
            regarding: ObjectRef::default(),
            related: None,
            reason: String::new(),
            message: String::new(),
            event_type: "Normal".to_owned(),
            action: None,
            reporting_controller: None,
            reporting_instance: None,
            count: 1,
            first_seen: now,
            last_seen: now,
            api: EventApi::default(),
            cluster: None,
        }
    }

    /// The occurrence key (uid + resourceVersion) that readers deduplicate on.
    pub fn key(&self) -> OccurrenceKey {
        OccurrenceKey {
            uid: self.uid.clone(),
            resource_version: self.resource_version.clone(),
        }
    }

    /// Whether the event is of type `Warning`.
    pub fn is_warning(&self) -> bool {
        self.event_type == "Warning"
    }

    /// Normalizes a `core/v1` Event.
    ///
    /// Fallbacks: count is `series.count`, then `count`, then 1; last seen is
    /// `series.lastObservedTime`, then `lastTimestamp`, then `eventTime`, then
    /// `metadata.creationTimestamp`; first seen is `firstTimestamp`, then `eventTime`, then
    /// `metadata.creationTimestamp`; the reporter is `reportingComponent`/`reportingInstance`,
    /// then `source.component`/`source.host`.
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object lacks a uid or resourceVersion.
    pub fn from_core_v1(ev: &CoreEvent) -> Result<Self, NormalizeError> {
        EventParts::of_core_v1(ev).into_event(EventApi::CoreV1)
    }

    /// Normalizes an `events.k8s.io/v1` Event, with the same fallbacks as
    /// [`from_core_v1`](Self::from_core_v1) over the `deprecated*` fields.
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object lacks a uid or resourceVersion.
    pub fn from_events_v1(ev: &EventsEvent) -> Result<Self, NormalizeError> {
        EventParts::of_events_v1(ev).into_event(EventApi::EventsV1)
    }
}

/// `value`, unless it is empty.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.is_empty())
}

/// `series.count`, then the legacy `count`, then 1; never below 1, since an event that exists has
/// occurred at least once (legacy reporters sometimes write 0).
fn occurrence_count(series_count: Option<i32>, legacy_count: Option<i32>) -> u32 {
    series_count
        .or(legacy_count)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(1)
        .max(1)
}

fn seen_times(
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    series_last: Option<Timestamp>,
    event_time: Option<Timestamp>,
    created: Option<Timestamp>,
) -> (Timestamp, Timestamp) {
    // An event with no time at all still gets one: the epoch would sort it decades back and
    // CloudWatch would reject it, while "now" is the best estimate of when we saw it.
    let fallback = event_time.or(created).unwrap_or_else(Timestamp::now);
    let first_seen = first.or(event_time).or(created).unwrap_or(fallback);
    let last_seen = series_last
        .or(last)
        .or(event_time)
        .or(created)
        .unwrap_or(fallback);
    (first_seen, last_seen)
}

#[cfg(test)]
pub(crate) mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn core(json: serde_json::Value) -> CoreEvent {
        serde_json::from_value(json).unwrap()
    }

    fn events(json: serde_json::Value) -> EventsEvent {
        serde_json::from_value(json).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn meta() -> serde_json::Value {
        serde_json::json!({
            "name": "api.1", "namespace": "payments", "uid": "u1", "resourceVersion": "42",
            "creationTimestamp": "2026-11-23T10:00:00Z"
        })
    }

    #[test]
    fn core_count_prefers_series_then_count_then_one() {
        let with_series = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {}, "count": 3,
            "series": {"count": 7, "lastObservedTime": "2026-11-23T10:05:00.000000Z"}
        }));
        assert_eq!(Event::from_core_v1(&with_series).unwrap().count, 7);
        let with_count =
            core(serde_json::json!({"metadata": meta(), "involvedObject": {}, "count": 3}));
        assert_eq!(Event::from_core_v1(&with_count).unwrap().count, 3);
        let bare =
            core(serde_json::json!({"metadata": meta(), "involvedObject": {}, "count": null}));
        assert_eq!(Event::from_core_v1(&bare).unwrap().count, 1);
    }

    #[test]
    fn zero_or_negative_count_is_reported_as_one() {
        let zero = core(serde_json::json!({"metadata": meta(), "involvedObject": {}, "count": 0}));
        assert_eq!(Event::from_core_v1(&zero).unwrap().count, 1);
        let negative =
            core(serde_json::json!({"metadata": meta(), "involvedObject": {}, "count": -4}));
        assert_eq!(Event::from_core_v1(&negative).unwrap().count, 1);
    }

    #[test]
    fn last_seen_prefers_series_then_last_timestamp_then_event_time_then_creation() {
        let all = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {},
            "lastTimestamp": "2026-11-23T10:02:00Z",
            "eventTime": "2026-11-23T10:01:00.000000Z",
            "series": {"count": 2, "lastObservedTime": "2026-11-23T10:03:00.000000Z"}
        }));
        assert_eq!(
            Event::from_core_v1(&all).unwrap().last_seen,
            ts("2026-11-23T10:03:00Z")
        );
        let no_series = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {},
            "lastTimestamp": "2026-11-23T10:02:00Z", "eventTime": "2026-11-23T10:01:00.000000Z"
        }));
        assert_eq!(
            Event::from_core_v1(&no_series).unwrap().last_seen,
            ts("2026-11-23T10:02:00Z")
        );
        let event_time_only = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {}, "lastTimestamp": null,
            "eventTime": "2026-11-23T10:01:00.000000Z"
        }));
        assert_eq!(
            Event::from_core_v1(&event_time_only).unwrap().last_seen,
            ts("2026-11-23T10:01:00Z")
        );
        let creation_only = core(serde_json::json!({"metadata": meta(), "involvedObject": {}}));
        let e = Event::from_core_v1(&creation_only).unwrap();
        assert_eq!(e.last_seen, ts("2026-11-23T10:00:00Z"));
        assert_eq!(e.first_seen, ts("2026-11-23T10:00:00Z"));
    }

    #[test]
    fn first_seen_prefers_first_timestamp_then_event_time() {
        let both = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {},
            "firstTimestamp": "2026-11-23T09:00:00Z", "eventTime": "2026-11-23T10:01:00.000000Z"
        }));
        assert_eq!(
            Event::from_core_v1(&both).unwrap().first_seen,
            ts("2026-11-23T09:00:00Z")
        );
        let new_style = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {}, "firstTimestamp": null,
            "eventTime": "2026-11-23T10:01:00.000000Z"
        }));
        assert_eq!(
            Event::from_core_v1(&new_style).unwrap().first_seen,
            ts("2026-11-23T10:01:00Z")
        );
    }

    #[test]
    fn reporter_falls_back_to_deprecated_source() {
        let legacy = core(serde_json::json!({
            "metadata": meta(), "involvedObject": {},
            "source": {"component": "kubelet", "host": "node-1"}, "reportingComponent": ""
        }));
        let e = Event::from_core_v1(&legacy).unwrap();
        assert_eq!(e.reporting_controller.as_deref(), Some("kubelet"));
        assert_eq!(e.reporting_instance.as_deref(), Some("node-1"));
        let modern = events(serde_json::json!({
            "metadata": meta(), "eventTime": "2026-11-23T10:01:00.000000Z",
            "reportingController": "default-scheduler", "reportingInstance": "sched-1",
            "deprecatedSource": {"component": "old"}
        }));
        let e = Event::from_events_v1(&modern).unwrap();
        assert_eq!(e.reporting_controller.as_deref(), Some("default-scheduler"));
        assert_eq!(e.reporting_instance.as_deref(), Some("sched-1"));
        let deprecated_only = events(serde_json::json!({
            "metadata": meta(), "eventTime": null,
            "deprecatedSource": {"component": "apiserver", "host": "vm"}
        }));
        let e = Event::from_events_v1(&deprecated_only).unwrap();
        assert_eq!(e.reporting_controller.as_deref(), Some("apiserver"));
        assert_eq!(e.reporting_instance.as_deref(), Some("vm"));
    }

    #[test]
    fn events_v1_uses_note_regarding_and_deprecated_fields() {
        let ev = events(serde_json::json!({
            "metadata": meta(), "eventTime": null, "reason": "KubeAPIReadyz", "note": "readyz=true",
            "type": "Warning", "regarding": {"kind": "Namespace", "name": "default", "apiVersion": "v1"},
            "deprecatedFirstTimestamp": "2026-11-23T09:59:00Z",
            "deprecatedLastTimestamp": "2026-11-23T10:04:00Z", "deprecatedCount": 4
        }));
        let e = Event::from_events_v1(&ev).unwrap();
        assert_eq!(e.message, "readyz=true");
        assert_eq!(e.regarding.kind, "Namespace");
        assert_eq!(e.count, 4);
        assert_eq!(e.first_seen, ts("2026-11-23T09:59:00Z"));
        assert_eq!(e.last_seen, ts("2026-11-23T10:04:00Z"));
        assert!(e.is_warning());
        assert_eq!(e.api, EventApi::EventsV1);
    }

    #[test]
    fn events_v1_series_wins_over_deprecated_count() {
        let ev = events(serde_json::json!({
            "metadata": meta(), "eventTime": "2026-11-23T10:00:00.000000Z", "deprecatedCount": 1,
            "series": {"count": 5, "lastObservedTime": "2026-11-23T10:09:00.000000Z"}
        }));
        let e = Event::from_events_v1(&ev).unwrap();
        assert_eq!(e.count, 5);
        assert_eq!(e.last_seen, ts("2026-11-23T10:09:00Z"));
        assert_eq!(e.first_seen, ts("2026-11-23T10:00:00Z"));
    }

    #[test]
    fn missing_identity_is_an_error_not_a_panic() {
        let no_uid = core(
            serde_json::json!({"metadata": {"name": "x", "resourceVersion": "1"}, "involvedObject": {}}),
        );
        assert_eq!(
            Event::from_core_v1(&no_uid),
            Err(NormalizeError::MissingUid { name: "x".into() })
        );
        let no_rv = events(serde_json::json!({"metadata": {"name": "y", "uid": "u"}}));
        assert_eq!(
            Event::from_events_v1(&no_rv),
            Err(NormalizeError::MissingResourceVersion { name: "y".into() })
        );
    }

    #[test]
    fn serializes_as_flat_camel_case_json_and_back() {
        let mut e = Event::new("u1", "42");
        e.regarding = ObjectRef::new("Pod", "api-7d9f");
        e.event_type = "Warning".into();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["resourceVersion"], "42");
        assert_eq!(json["type"], "Warning");
        assert_eq!(json["regarding"]["kind"], "Pod");
        assert_eq!(json["api"], "events.k8s.io/v1");
        assert!(json.get("cluster").is_none());
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn kubectl_object_string_lowercases_kind() {
        assert_eq!(
            ObjectRef::new("Pod", "api-7d9f").to_kubectl_string(),
            "pod/api-7d9f"
        );
    }
}
