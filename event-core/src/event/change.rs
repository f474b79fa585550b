//! Changes of objects other than Events (pods, nodes, ...) as [`Event`] records.
//!
//! Each ADDED, MODIFIED or DELETED notification of a watched object is one occurrence, exported
//! like an Event so the same sinks store it:
//!
//! | field | value |
//! |---|---|
//! | `api` | [`EventApi::ObjectChange`] |
//! | `uid` | the object's uid |
//! | `resourceVersion` | the notification's (a deletion has its own, newer one) |
//! | `name`, `namespace` | the object's |
//! | `regarding` | the object itself: kind, name, namespace, uid, apiVersion |
//! | `reason` | [`Change`]: `Added`, `Modified` or `Deleted` |
//! | `type` | `Warning` when [`Summarize`] finds the new state clearly bad, else `Normal`; always `Normal` for a deletion |
//! | `message` | the kind's [`Summary`], e.g. `phase=Running node=ip-10-0-1-5 ready=2/3 restarts=4` |
//! | `firstSeen` | `metadata.creationTimestamp` (now when absent) |
//! | `lastSeen` | see below |
//! | `count` | 1 |
//! | `reportingController` | `event-keeper` |
//!
//! `lastSeen` is the time of the change as best known: for a deletion, the
//! `metadata.deletionTimestamp` (else now); otherwise the newest of the `metadata.managedFields`
//! times and the conditions' `lastTransitionTime`s, never before the creation (else now). The
//! API server does not stamp a change with its time, so an update that touches neither (a label
//! change by a client that sends no managed fields) carries the time of an older change.
//!
//! An object deleted while the watch could not resume (410 Gone), which the relist then no longer
//! shows, is reported as `Deleted` too, once, by the scope that had seen it in this run: its
//! message begins with [`GONE_IN_GAP`] and gives the newest resourceVersion seen of it, its
//! `lastSeen` is when the relist found it gone, its `firstSeen` its creation, and its
//! resourceVersion lies after every change seen before the gap and at most at the relist's.
//!
//! Over 400 lines with its tests only (about 300 without).

mod namespace;
mod node;
mod pod;
mod pvc;
mod service;

use std::fmt::{self, Display};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Resource;

use super::{Event, EventApi, NormalizeError, ObjectRef, non_empty};

/// The `reportingController` of every object-change record.
pub const REPORTING_CONTROLLER: &str = "event-keeper";

/// What happened to an object; the `reason` of its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Change {
    /// The object was created, or first seen by a list (see the source for the rule).
    Added,
    /// The object was updated.
    Modified,
    /// The object was deleted.
    Deleted,
}

impl Change {
    /// The record's `reason`: `Added`, `Modified` or `Deleted`.
    pub fn as_reason(self) -> &'static str {
        match self {
            Change::Added => "Added",
            Change::Modified => "Modified",
            Change::Deleted => "Deleted",
        }
    }
}

impl Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_reason())
    }
}

/// The state of an object that matters, in one line, and whether it is clearly bad.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// `key=value` parts separated by spaces, e.g. `phase=Bound volume=pvc-123`.
    pub message: String,
    /// Whether the state is clearly bad (the record becomes a `Warning`).
    pub warning: bool,
    /// The newest `lastTransitionTime` among the object's conditions, if any.
    pub last_transition: Option<Timestamp>,
}

impl Summary {
    /// Appends one space-separated part to the message.
    fn push(&mut self, part: impl Display) {
        use std::fmt::Write as _;
        if !self.message.is_empty() {
            self.message.push(' ');
        }
        let _ = write!(self.message, "{part}");
    }

    /// Keeps the newest of the transition times seen so far.
    fn transitioned(&mut self, at: Option<&Time>) {
        if let Some(at) = at {
            self.last_transition = Some(self.last_transition.map_or(at.0, |t| t.max(at.0)));
        }
    }
}

/// A kind whose objects can be summarized into an object-change record.
///
/// Implemented for `Pod`, `Node`, `Namespace`, `Service` and `PersistentVolumeClaim`.
pub trait Summarize {
    /// The state that matters for this kind, e.g. a pod's phase, node, readiness and restarts.
    fn summarize(&self) -> Summary;
}

impl Event {
    /// Normalizes a change of a watched object (see the [module docs](crate::event::change) for
    /// each field).
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object lacks a uid or resourceVersion.
    ///
    /// # Example
    ///
    /// ```
    /// use event_core::Event;
    /// use event_core::event::Change;
    /// use k8s_openapi::api::core::v1::Namespace;
    ///
    /// let ns: Namespace = serde_json::from_value(serde_json::json!({
    ///     "metadata": {"name": "payments", "uid": "9f1c", "resourceVersion": "812"},
    ///     "status": {"phase": "Terminating"}
    /// }))?;
    /// let event = Event::from_object_change(&ns, Change::Modified)?;
    /// assert_eq!(event.reason, "Modified");
    /// assert_eq!(event.message, "phase=Terminating");
    /// assert_eq!(event.regarding.to_kubectl_string(), "namespace/payments");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_object_change<K>(object: &K, change: Change) -> Result<Self, NormalizeError>
    where
        K: Resource<DynamicType = ()> + Summarize,
    {
        let meta = object.meta();
        let kind = K::kind(&()).into_owned();
        let name = meta.name.clone().unwrap_or_default();
        let (uid, resource_version) = object_identity(meta, &kind, &name)?;
        let summary = object.summarize();
        let now = Timestamp::now();
        let created = meta.creation_timestamp.as_ref().map(|t| t.0);
        let first_seen = created.unwrap_or(now);
        let last_seen = match change {
            Change::Deleted => meta.deletion_timestamp.as_ref().map_or(now, |t| t.0),
            Change::Added | Change::Modified => {
                newest_change(meta, &summary).map_or(now, |t| created.map_or(t, |c| t.max(c)))
            }
        };
        let identity = Identity {
            kind,
            api_version: K::api_version(&()).into_owned(),
            uid,
            resource_version,
            name,
            namespace: non_empty(meta.namespace.clone()),
        };
        Ok(identity.record(change, summary, first_seen, last_seen))
    }
}

/// Who an object-change record is about: the object, at the occurrence's resourceVersion.
struct Identity {
    kind: String,
    api_version: String,
    uid: String,
    resource_version: String,
    name: String,
    namespace: Option<String>,
}

impl Identity {
    /// The record of `change` (see the module docs for each field): what differs between
    /// records comes from the object and the change, the rest is the same for all of them.
    fn record(
        self,
        change: Change,
        summary: Summary,
        first_seen: Timestamp,
        last_seen: Timestamp,
    ) -> Event {
        Event {
            uid: self.uid.clone(),
            resource_version: self.resource_version,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            regarding: ObjectRef {
                kind: self.kind,
                name: self.name,
                namespace: self.namespace,
                uid: Some(self.uid),
                api_version: Some(self.api_version),
                field_path: None,
            },
            related: None,
            reason: change.as_reason().to_owned(),
            message: summary.message,
            event_type: if summary.warning && change != Change::Deleted {
                "Warning"
            } else {
                "Normal"
            }
            .to_owned(),
            action: None,
            reporting_controller: Some(REPORTING_CONTROLLER.to_owned()),
            reporting_instance: None,
            count: 1,
            first_seen,
            last_seen,
            api: EventApi::ObjectChange,
            cluster: None,
        }
    }
}

/// An object a relist no longer shows, whose deletion the watch missed (a 410 gap).
#[derive(Clone, Debug)]
pub(crate) struct GoneObject<'a> {
    pub(crate) kind: &'a str,
    pub(crate) api_version: &'a str,
    pub(crate) uid: String,
    pub(crate) name: &'a str,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) created: Option<Timestamp>,
    /// The newest resourceVersion seen of it.
    pub(crate) last_seen_version: u64,
    /// The version given to its deletion (see `Ledger::gone_in_list_version`).
    pub(crate) resource_version: u64,
}

impl Event {
    /// The `Deleted` record of an object found gone by a relist: its state at the deletion is
    /// unknown, so the message says how it was found; `lastSeen` is when it was.
    pub(crate) fn gone_in_gap(gone: GoneObject<'_>) -> Event {
        let now = Timestamp::now();
        let identity = Identity {
            kind: gone.kind.to_owned(),
            api_version: gone.api_version.to_owned(),
            uid: gone.uid,
            resource_version: gone.resource_version.to_string(),
            name: gone.name.to_owned(),
            namespace: gone
                .namespace
                .filter(|ns| !ns.is_empty())
                .map(str::to_owned),
        };
        let summary = Summary {
            message: format!(
                "{GONE_IN_GAP} (last seen at resourceVersion {})",
                gone.last_seen_version
            ),
            ..Summary::default()
        };
        identity.record(Change::Deleted, summary, gone.created.unwrap_or(now), now)
    }
}

/// How the message of a deletion found by a relist begins.
pub const GONE_IN_GAP: &str = "deleted while the watch could not follow: absent from the relist";

fn object_identity(
    meta: &ObjectMeta,
    kind: &str,
    name: &str,
) -> Result<(String, String), NormalizeError> {
    let described = || format!("{}/{name}", kind.to_lowercase());
    let uid = non_empty(meta.uid.clone())
        .ok_or_else(|| NormalizeError::MissingUid { name: described() })?;
    let rv = non_empty(meta.resource_version.clone())
        .ok_or_else(|| NormalizeError::MissingResourceVersion { name: described() })?;
    Ok((uid, rv))
}

/// The newest managed-fields time or condition transition.
fn newest_change(meta: &ObjectMeta, summary: &Summary) -> Option<Timestamp> {
    meta.managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(|t| t.0))
        .chain(summary.last_transition)
        .max()
}

/// A condition shown in a summary as `Type=Status`.
fn condition(type_: &str, status: &str) -> String {
    format!("{type_}={status}")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Namespace, Node};

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn node(json: serde_json::Value) -> Node {
        serde_json::from_value(json).unwrap()
    }

    fn ready_node() -> serde_json::Value {
        serde_json::json!({
            "metadata": {
                "name": "ip-10-0-1-5.ec2.internal", "uid": "n-1", "resourceVersion": "900",
                "creationTimestamp": "2026-11-01T08:00:00Z",
                "managedFields": [
                    {"manager": "kubelet", "operation": "Update", "time": "2026-11-23T10:04:00Z"},
                    {"manager": "kube-controller-manager", "operation": "Update", "time": "2026-11-20T07:00:00Z"}
                ]
            },
            "status": {"conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-23T10:02:00Z"}
            ]}
        })
    }

    #[test]
    fn an_object_change_refers_to_the_object_itself() {
        let e = Event::from_object_change(&node(ready_node()), Change::Modified).unwrap();
        assert_eq!(e.uid, "n-1");
        assert_eq!(e.resource_version, "900");
        assert_eq!(e.api, EventApi::ObjectChange);
        assert_eq!(e.regarding.kind, "Node");
        assert_eq!(e.regarding.name, "ip-10-0-1-5.ec2.internal");
        assert_eq!(e.regarding.uid.as_deref(), Some("n-1"));
        assert_eq!(e.regarding.api_version.as_deref(), Some("v1"));
        assert_eq!(e.namespace, None);
        assert_eq!(e.reason, "Modified");
        assert_eq!(e.count, 1);
        assert_eq!(e.reporting_controller.as_deref(), Some("event-keeper"));
        assert_eq!(e.first_seen, ts("2026-11-01T08:00:00Z"));
    }

    #[test]
    fn last_seen_is_the_newest_managed_fields_time_or_condition_transition() {
        let e = Event::from_object_change(&node(ready_node()), Change::Modified).unwrap();
        assert_eq!(e.last_seen, ts("2026-11-23T10:04:00Z"));
        let mut later_transition = ready_node();
        later_transition["status"]["conditions"][0]["lastTransitionTime"] =
            "2026-11-23T10:09:00Z".into();
        let e = Event::from_object_change(&node(later_transition), Change::Modified).unwrap();
        assert_eq!(e.last_seen, ts("2026-11-23T10:09:00Z"));
    }

    #[test]
    fn last_seen_falls_back_to_now_without_any_time() {
        let before = Timestamp::now();
        let bare = node(
            serde_json::json!({"metadata": {"name": "n", "uid": "u", "resourceVersion": "1"}}),
        );
        let e = Event::from_object_change(&bare, Change::Added).unwrap();
        assert!(e.last_seen >= before);
        assert!(e.first_seen >= before);
    }

    #[test]
    fn a_deletion_is_normal_and_dated_by_its_deletion_timestamp() {
        let mut gone = ready_node();
        gone["metadata"]["deletionTimestamp"] = "2026-11-23T11:00:00Z".into();
        gone["status"]["conditions"][0]["status"] = "False".into();
        let e = Event::from_object_change(&node(gone.clone()), Change::Deleted).unwrap();
        assert_eq!(e.reason, "Deleted");
        assert_eq!(e.last_seen, ts("2026-11-23T11:00:00Z"));
        assert_eq!(
            e.event_type, "Normal",
            "a deleted node is not a failing one"
        );
        let e = Event::from_object_change(&node(gone), Change::Modified).unwrap();
        assert!(e.is_warning(), "the same state while it exists is");
    }

    #[test]
    fn a_deletion_without_deletion_timestamp_is_dated_now() {
        let before = Timestamp::now();
        let e = Event::from_object_change(&node(ready_node()), Change::Deleted).unwrap();
        assert!(e.last_seen >= before);
    }

    #[test]
    fn an_object_without_uid_or_resource_version_is_an_error_naming_it() {
        let ns: Namespace = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "payments", "resourceVersion": "3"}}),
        )
        .unwrap();
        assert_eq!(
            Event::from_object_change(&ns, Change::Added),
            Err(NormalizeError::MissingUid {
                name: "namespace/payments".into()
            })
        );
        let ns: Namespace = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "payments", "uid": "u"}}),
        )
        .unwrap();
        assert_eq!(
            Event::from_object_change(&ns, Change::Added),
            Err(NormalizeError::MissingResourceVersion {
                name: "namespace/payments".into()
            })
        );
    }

    #[test]
    fn an_object_gone_in_a_gap_is_a_deleted_record_saying_how_it_was_found() {
        let before = Timestamp::now();
        let e = Event::gone_in_gap(GoneObject {
            kind: "Pod",
            api_version: "v1",
            uid: "u1".to_owned(),
            name: "web-0",
            namespace: Some("payments"),
            created: Some(ts("2026-11-24T09:00:00Z")),
            last_seen_version: 41,
            resource_version: 57,
        });
        assert_eq!(e.key().to_string(), "u1/57");
        assert_eq!(e.reason, "Deleted");
        assert_eq!(e.event_type, "Normal");
        assert_eq!(
            e.message,
            format!("{GONE_IN_GAP} (last seen at resourceVersion 41)")
        );
        assert_eq!(e.regarding.to_kubectl_string(), "pod/web-0");
        assert_eq!(e.regarding.uid.as_deref(), Some("u1"));
        assert_eq!(e.namespace.as_deref(), Some("payments"));
        assert_eq!(e.first_seen, ts("2026-11-24T09:00:00Z"));
        assert!(e.last_seen >= before);
        assert_eq!(e.api, EventApi::ObjectChange);
        let cluster_scoped = Event::gone_in_gap(GoneObject {
            kind: "Node",
            api_version: "v1",
            uid: "u2".to_owned(),
            name: "ip-10-0-1-5",
            namespace: Some(""),
            created: None,
            last_seen_version: 3,
            resource_version: 4,
        });
        assert_eq!(cluster_scoped.namespace, None);
        assert!(cluster_scoped.first_seen >= before, "no creation time: now");
    }

    #[test]
    fn reasons_are_the_change_names() {
        assert_eq!(Change::Added.to_string(), "Added");
        assert_eq!(Change::Modified.as_reason(), "Modified");
        assert_eq!(Change::Deleted.as_reason(), "Deleted");
    }
}
