//! [`NewEvent`]: a builder for realistic events, and how repeats of an event are recorded.

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::convert::{CORE_V1, EVENTS_V1};
use super::model::{
    CoreEvent, CoreSeries, EventSource, ManagedFieldsEntry, ObjectMeta, ObjectReference,
};
use super::object::{Key, Stored};
use super::stamp;

/// Which Events API an event is written through, which decides what it looks like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiGroup {
    /// core/v1, like kubelet and the controller-manager's legacy recorder: `source`,
    /// `firstTimestamp`/`lastTimestamp`, `count`, and a `null` `eventTime`. Repeats raise `count`.
    #[default]
    CoreV1,
    /// events.k8s.io/v1, like the scheduler: `eventTime` as a MicroTime,
    /// `reportingController`/`reportingInstance`, `action`, and `null` legacy fields. Repeats
    /// set `series`.
    EventsV1,
}

/// The identity of a stored event at one resourceVersion.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventRef {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`, stable across bumps.
    pub uid: String,
    /// `metadata.resourceVersion` after the write that returned this reference.
    pub resource_version: String,
}

impl EventRef {
    pub(crate) fn from_stored(stored: &Stored) -> Self {
        let Key(namespace, name) = stored.key();
        EventRef {
            namespace,
            name,
            uid: stored.uid().to_owned(),
            resource_version: stored.rv.to_string(),
        }
    }
}

/// A description of an event to create with [`SimCluster::create_event`](super::SimCluster::create_event).
///
/// Defaults: regarding `Pod/example`, type `Normal`, message `"<reason> (simulated)"`, reported
/// by `kubelet`/`sim-node-1` (core/v1) or `default-scheduler`/`default-scheduler-sim-node-1`
/// with action `Scheduling` (events.k8s.io/v1).
///
/// ```
/// use testkit::{ApiGroup, NewEvent};
///
/// let event = NewEvent::new("payments", "FailedScheduling")
///     .regarding("Pod", "api-7d9f")
///     .message("0/3 nodes are available")
///     .warning()
///     .api(ApiGroup::EventsV1);
/// # let _ = event;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct NewEvent {
    namespace: String,
    reason: String,
    regarding: (String, String),
    message: Option<String>,
    warning: bool,
    reporting: Option<(String, String)>,
    action: Option<String>,
    api: ApiGroup,
}

impl NewEvent {
    /// An event in `namespace` with `reason` (e.g. `BackOff`), with the defaults above.
    pub fn new(namespace: impl Into<String>, reason: impl Into<String>) -> Self {
        NewEvent {
            namespace: namespace.into(),
            reason: reason.into(),
            regarding: ("Pod".into(), "example".into()),
            message: None,
            warning: false,
            reporting: None,
            action: None,
            api: ApiGroup::default(),
        }
    }

    /// The object the event is about (`involvedObject` / `regarding`), e.g. `("Pod", "api-7d9f")`.
    pub fn regarding(mut self, kind: impl Into<String>, name: impl Into<String>) -> Self {
        self.regarding = (kind.into(), name.into());
        self
    }

    /// The human-readable message (`message` / `note`).
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Makes the event a `Warning` (the default is `Normal`).
    pub fn warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// The reporting controller and its instance (`reportingComponent`/`reportingInstance`,
    /// and `source.component`/`source.host` for core/v1).
    pub fn reporting(mut self, controller: impl Into<String>, instance: impl Into<String>) -> Self {
        self.reporting = Some((controller.into(), instance.into()));
        self
    }

    /// The action taken or failed (events.k8s.io/v1 sets one; core/v1 events leave it out unless
    /// set here).
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// The API the event is written through (default [`ApiGroup::CoreV1`]).
    pub fn api(mut self, api: ApiGroup) -> Self {
        self.api = api;
        self
    }

    /// Builds the stored core/v1 form, stamped `now`.
    pub(crate) fn build(self, now: Timestamp, involved_rv: u64) -> CoreEvent {
        let (kind, regarding_name) = self.regarding;
        let events_api = self.api == ApiGroup::EventsV1;
        let (controller, instance) = self.reporting.unwrap_or_else(|| {
            if events_api {
                (
                    "default-scheduler".into(),
                    "default-scheduler-sim-node-1".into(),
                )
            } else {
                ("kubelet".into(), "sim-node-1".into())
            }
        });
        let time = stamp::time(now);
        let name = format!("{regarding_name}.{:016x}", unique_nanos(now));
        let involved_object = ObjectReference {
            namespace: if cluster_scoped(&kind) {
                String::new()
            } else {
                self.namespace.clone()
            },
            api_version: api_version_of(&kind).to_owned(),
            uid: stamp::uid(),
            resource_version: involved_rv.to_string(),
            kind,
            name: regarding_name,
            field_path: String::new(),
        };
        let mut fields = vec!["f:involvedObject", "f:message", "f:reason", "f:type"];
        let mut ev = CoreEvent {
            involved_object,
            reason: self.reason,
            type_: if self.warning { "Warning" } else { "Normal" }.to_owned(),
            ..CoreEvent::default()
        };
        ev.message = self
            .message
            .unwrap_or_else(|| format!("{} (simulated)", ev.reason));
        if events_api {
            fields = vec![
                "f:action",
                "f:eventTime",
                "f:note",
                "f:reason",
                "f:regarding",
                "f:reportingController",
                "f:reportingInstance",
                "f:type",
            ];
            ev.event_time = Some(stamp::micro_time(now));
            ev.action = self.action.unwrap_or_else(|| "Scheduling".into());
        } else {
            fields.extend([
                "f:count",
                "f:firstTimestamp",
                "f:lastTimestamp",
                "f:reportingComponent",
            ]);
            if !instance.is_empty() {
                fields.push("f:reportingInstance");
            }
            ev.source = EventSource {
                component: controller.clone(),
                host: instance.clone(),
            };
            ev.first_timestamp = Some(time.clone());
            ev.last_timestamp = Some(time.clone());
            ev.count = 1;
            ev.action = self.action.unwrap_or_default();
            if !ev.action.is_empty() {
                fields.push("f:action");
            }
        }
        let mut fields_v1: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|f| (f.to_owned(), json!({})))
            .collect();
        if !events_api {
            let source = if ev.source.host.is_empty() {
                json!({"f:component": {}})
            } else {
                json!({"f:component": {}, "f:host": {}})
            };
            fields_v1.insert("f:source".into(), source);
        }
        ev.metadata = ObjectMeta {
            name,
            namespace: self.namespace,
            uid: stamp::uid(),
            creation_timestamp: Some(time.clone()),
            managed_fields: vec![ManagedFieldsEntry {
                manager: manager_of(&controller).to_owned(),
                operation: "Update".into(),
                api_version: if events_api { EVENTS_V1 } else { CORE_V1 }.into(),
                time: Some(time),
                fields_type: "FieldsV1".into(),
                fields_v1: Some(Value::Object(fields_v1)),
                subresource: String::new(),
            }],
            ..ObjectMeta::default()
        };
        ev.reporting_component = controller;
        ev.reporting_instance = instance;
        ev
    }
}

/// The next state of an event that occurred again at `now`: `series` for events.k8s.io-style
/// events, `count` and `lastTimestamp` for legacy ones.
pub(crate) fn bumped(ev: &CoreEvent, now: Timestamp) -> CoreEvent {
    let mut next = ev.clone();
    if ev.uses_series() {
        let count = ev.series.as_ref().map_or(1, |s| s.count.max(1)) + 1;
        next.series = Some(CoreSeries {
            count,
            last_observed_time: Some(stamp::micro_time(now)),
        });
        if let Some(Some(Value::Object(fields))) = next
            .metadata
            .managed_fields
            .first_mut()
            .map(|m| m.fields_v1.as_mut())
        {
            fields.insert(
                "f:series".into(),
                json!({".": {}, "f:count": {}, "f:lastObservedTime": {}}),
            );
        }
    } else {
        next.count = ev.count.max(1) + 1;
        next.last_timestamp = Some(stamp::time(now));
    }
    if let Some(entry) = next.metadata.managed_fields.first_mut() {
        entry.time = Some(stamp::time(now));
    }
    next
}

/// Unix nanoseconds, strictly increasing across calls so that generated names never collide
/// (the recorder names events `<regarding>.<hex nanoseconds>`).
fn unique_nanos(now: Timestamp) -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let wanted = i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = wanted.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Node" | "Namespace" | "PersistentVolume" | "ClusterRole" | "StorageClass"
    )
}

fn api_version_of(kind: &str) -> &'static str {
    match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        "HorizontalPodAutoscaler" => "autoscaling/v2",
        _ => "v1",
    }
}

/// The field manager that writes a controller's events.
fn manager_of(controller: &str) -> &str {
    if controller.ends_with("-controller") {
        "kube-controller-manager"
    } else if controller == "default-scheduler" {
        "kube-scheduler"
    } else {
        controller
    }
}

#[cfg(test)]
mod tests {
    use super::super::convert::{EventView, event_json};
    use super::*;

    fn now() -> Timestamp {
        "2026-11-24T00:54:05.729149Z".parse().unwrap()
    }

    fn served(ev: &CoreEvent, view: EventView) -> serde_json::Value {
        serde_json::from_slice(&event_json(ev, view, true).unwrap()).unwrap()
    }

    #[test]
    fn core_v1_events_look_like_the_legacy_recorder() {
        let ev = NewEvent::new("demo", "BackOff")
            .regarding("Pod", "api-7d9f")
            .build(now(), 6140);
        let v = served(&ev, EventView::Core);
        assert_eq!(v["firstTimestamp"], "2026-11-24T00:54:05Z");
        assert_eq!(v["lastTimestamp"], "2026-11-24T00:54:05Z");
        assert_eq!(v["count"], 1);
        assert!(v["eventTime"].is_null());
        assert_eq!(
            v["source"],
            json!({"component": "kubelet", "host": "sim-node-1"})
        );
        assert_eq!(v["involvedObject"]["namespace"], "demo");
        let name = v["metadata"]["name"].as_str().unwrap();
        let (base, hex) = name.split_once('.').unwrap();
        assert_eq!(base, "api-7d9f");
        assert_eq!(hex.len(), 16);
        let size = event_json(&ev, EventView::Core, true).unwrap().len();
        assert!((800..1400).contains(&size), "{size} bytes");
    }

    #[test]
    fn events_v1_events_look_like_the_scheduler() {
        let ev = NewEvent::new("demo", "FailedScheduling")
            .warning()
            .api(ApiGroup::EventsV1)
            .build(now(), 1);
        let v = served(&ev, EventView::EventsV1);
        assert_eq!(v["eventTime"], "2026-11-24T00:54:05.729149Z");
        assert_eq!(v["reportingController"], "default-scheduler");
        assert_eq!(v["action"], "Scheduling");
        assert!(v["deprecatedFirstTimestamp"].is_null());
        assert!(v.get("deprecatedCount").is_none());
        assert_eq!(
            v["metadata"]["managedFields"][0]["manager"],
            "kube-scheduler"
        );
        let core = served(&ev, EventView::Core);
        assert!(core["firstTimestamp"].is_null());
        assert!(core.get("count").is_none());
    }

    #[test]
    fn bumps_raise_count_for_legacy_events_and_series_for_new_ones() {
        let later: Timestamp = "2026-11-24T00:55:00.5Z".parse().unwrap();
        let legacy = NewEvent::new("demo", "BackOff").build(now(), 1);
        let once = bumped(&legacy, later);
        assert_eq!(once.count, 2);
        assert_eq!(once.last_timestamp.as_deref(), Some("2026-11-24T00:55:00Z"));
        assert!(once.series.is_none());
        let modern = NewEvent::new("demo", "FailedScheduling")
            .api(ApiGroup::EventsV1)
            .build(now(), 1);
        let twice = bumped(&bumped(&modern, later), later);
        let series = twice.series.unwrap();
        assert_eq!(series.count, 3);
        assert_eq!(
            series.last_observed_time.as_deref(),
            Some("2026-11-24T00:55:00.500000Z")
        );
        assert_eq!(twice.count, 0);
    }

    #[test]
    fn generated_names_never_collide_even_at_the_same_instant() {
        let a = NewEvent::new("demo", "X").build(now(), 1);
        let b = NewEvent::new("demo", "X").build(now(), 1);
        assert_ne!(a.metadata.name, b.metadata.name);
        assert_ne!(a.metadata.uid, b.metadata.uid);
    }
}
