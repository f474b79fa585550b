//! One [`Event`] as one OTLP `LogRecord`, and a batch as one `ExportLogsServiceRequest`.
//!
//! Attribute names follow the OpenTelemetry semantic conventions where they name the thing
//! (see the crate README for the sources); the few that no convention names are marked
//! "(own)" below and in the README.

use event_core::Event;
use jiff::Timestamp;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// `k8s.event.*` attributes of the logs semantic conventions for Kubernetes Events.
pub mod attr {
    /// The UID of the Event.
    pub const EVENT_UID: &str = "k8s.event.uid";
    /// The name of the Event.
    pub const EVENT_NAME: &str = "k8s.event.name";
    /// The reason, e.g. `FailedScheduling`.
    pub const EVENT_REASON: &str = "k8s.event.reason";
    /// What was done or failed, e.g. `Scheduling`.
    pub const EVENT_ACTION: &str = "k8s.event.action";
    /// How many times the Event has occurred.
    pub const EVENT_COUNT: &str = "k8s.event.count";
    /// When the Event was first seen (RFC 3339).
    pub const EVENT_START_TIME: &str = "k8s.event.start_time";
    /// `Normal` or `Warning` (own).
    pub const EVENT_TYPE: &str = "k8s.event.type";
    /// The resourceVersion of this occurrence (own).
    pub const EVENT_RESOURCE_VERSION: &str = "k8s.event.resource_version";
    /// The controller that reported the Event (own).
    pub const EVENT_REPORTING_CONTROLLER: &str = "k8s.event.reporting_controller";
    /// The instance of that controller (own).
    pub const EVENT_REPORTING_INSTANCE: &str = "k8s.event.reporting_instance";
    /// The kind of the object the Event is about (own).
    pub const REGARDING_KIND: &str = "k8s.event.regarding.kind";
    /// The name of the object the Event is about (own).
    pub const REGARDING_NAME: &str = "k8s.event.regarding.name";
    /// The apiVersion of the object the Event is about (own).
    pub const REGARDING_API_VERSION: &str = "k8s.event.regarding.api_version";
    /// The field path within the object, e.g. `spec.containers{app}` (own).
    pub const REGARDING_FIELD_PATH: &str = "k8s.event.regarding.field_path";
    /// `uid/resourceVersion`: one string per occurrence, to deduplicate on (own).
    pub const OCCURRENCE_KEY: &str = "event_keeper.occurrence_key";
    /// The namespace (resource conventions).
    pub const NAMESPACE_NAME: &str = "k8s.namespace.name";
    /// The cluster (resource conventions).
    pub const CLUSTER_NAME: &str = "k8s.cluster.name";
    /// The service (resource conventions).
    pub const SERVICE_NAME: &str = "service.name";
}

/// `k8s.<kind>.name` and `k8s.<kind>.uid` of the resource conventions, for the kinds they name.
fn object_attributes(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "Pod" => ("k8s.pod.name", "k8s.pod.uid"),
        "Node" => ("k8s.node.name", "k8s.node.uid"),
        "Namespace" => ("k8s.namespace.name", "k8s.namespace.uid"),
        "Deployment" => ("k8s.deployment.name", "k8s.deployment.uid"),
        "ReplicaSet" => ("k8s.replicaset.name", "k8s.replicaset.uid"),
        "StatefulSet" => ("k8s.statefulset.name", "k8s.statefulset.uid"),
        "DaemonSet" => ("k8s.daemonset.name", "k8s.daemonset.uid"),
        "Job" => ("k8s.job.name", "k8s.job.uid"),
        "CronJob" => ("k8s.cronjob.name", "k8s.cronjob.uid"),
        "ReplicationController" => (
            "k8s.replicationcontroller.name",
            "k8s.replicationcontroller.uid",
        ),
        "HorizontalPodAutoscaler" => ("k8s.hpa.name", "k8s.hpa.uid"),
        _ => return None,
    })
}

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// Nanoseconds since the epoch; 0 ("unknown" in OTLP) before 1970.
pub(crate) fn unix_nanos(at: Timestamp) -> u64 {
    u64::try_from(at.as_nanosecond()).unwrap_or(0)
}

/// The severity of an Event type: `Normal` → INFO (9), `Warning` → WARN (13), any other
/// type → unspecified with the type as text.
pub(crate) fn severity(event_type: &str) -> (SeverityNumber, &str) {
    match event_type {
        "Normal" => (SeverityNumber::Info, "INFO"),
        "Warning" => (SeverityNumber::Warn, "WARN"),
        other => (SeverityNumber::Unspecified, other),
    }
}

/// One Event as one log record, observed at `observed_nanos`.
pub fn log_record(event: &Event, observed_nanos: u64) -> LogRecord {
    let (number, text) = severity(&event.event_type);
    let mut attributes = Vec::with_capacity(16);
    attributes.push(string(attr::EVENT_UID, &event.uid));
    attributes.push(string(
        attr::EVENT_RESOURCE_VERSION,
        &event.resource_version,
    ));
    attributes.push(string(attr::OCCURRENCE_KEY, event.key().to_string()));
    attributes.push(string(attr::EVENT_NAME, &event.name));
    attributes.push(string(attr::EVENT_REASON, &event.reason));
    attributes.push(string(attr::EVENT_TYPE, &event.event_type));
    attributes.push(int(attr::EVENT_COUNT, i64::from(event.count)));
    attributes.push(string(attr::EVENT_START_TIME, event.first_seen.to_string()));
    if let Some(action) = &event.action {
        attributes.push(string(attr::EVENT_ACTION, action));
    }
    if let Some(controller) = &event.reporting_controller {
        attributes.push(string(attr::EVENT_REPORTING_CONTROLLER, controller));
    }
    if let Some(instance) = &event.reporting_instance {
        attributes.push(string(attr::EVENT_REPORTING_INSTANCE, instance));
    }
    let regarding = &event.regarding;
    let namespace = regarding.namespace.as_ref().or(event.namespace.as_ref());
    let kind_attributes = object_attributes(&regarding.kind);
    // A Namespace's own name is its k8s.namespace.name; do not write the key twice.
    if regarding.kind != "Namespace"
        && let Some(namespace) = namespace
    {
        attributes.push(string(attr::NAMESPACE_NAME, namespace));
    }
    if let Some((name_key, uid_key)) = kind_attributes {
        attributes.push(string(name_key, &regarding.name));
        if let Some(uid) = &regarding.uid {
            attributes.push(string(uid_key, uid));
        }
    }
    attributes.push(string(attr::REGARDING_KIND, &regarding.kind));
    attributes.push(string(attr::REGARDING_NAME, &regarding.name));
    if let Some(api_version) = &regarding.api_version {
        attributes.push(string(attr::REGARDING_API_VERSION, api_version));
    }
    if let Some(field_path) = &regarding.field_path {
        attributes.push(string(attr::REGARDING_FIELD_PATH, field_path));
    }
    LogRecord {
        time_unix_nano: unix_nanos(event.last_seen),
        observed_time_unix_nano: observed_nanos,
        severity_number: number as i32,
        severity_text: text.to_owned(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(event.message.clone())),
        }),
        attributes,
        ..LogRecord::default()
    }
}

/// The request for `batch`: one `ResourceLogs` per cluster name (one, in practice), its
/// records in batch order.
pub fn export_request(
    batch: &[Event],
    service_name: &str,
    cluster_name: Option<&str>,
    observed_nanos: u64,
) -> ExportLogsServiceRequest {
    let mut groups: Vec<(Option<&str>, Vec<LogRecord>)> = Vec::new();
    for event in batch {
        let cluster = cluster_name.or(event.cluster.as_deref());
        let record = log_record(event, observed_nanos);
        match groups.iter_mut().find(|(name, _)| *name == cluster) {
            Some((_, records)) => records.push(record),
            None => groups.push((cluster, vec![record])),
        }
    }
    let resource_logs = groups
        .into_iter()
        .map(|(cluster, log_records)| {
            let mut attributes = vec![string(attr::SERVICE_NAME, service_name)];
            if let Some(cluster) = cluster {
                attributes.push(string(attr::CLUSTER_NAME, cluster));
            }
            ResourceLogs {
                resource: Some(Resource {
                    attributes,
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "event-keeper".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    log_records,
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            }
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_core::ObjectRef;

    fn attribute<'a>(record: &'a LogRecord, key: &str) -> Option<&'a Value> {
        record
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn pod_event() -> Event {
        let mut event = Event::new("u-1", "42");
        event.name = "web-1.17a".into();
        event.namespace = Some("payments".into());
        event.reason = "BackOff".into();
        event.message = "Back-off restarting failed container".into();
        event.event_type = "Warning".into();
        event.count = 3;
        let mut regarding = ObjectRef::new("Pod", "web-1");
        regarding.namespace = Some("payments".into());
        regarding.uid = Some("pod-uid".into());
        event.regarding = regarding;
        event
    }

    #[test]
    fn a_warning_about_a_pod_becomes_a_warn_record_with_pod_attributes() {
        let event = pod_event();
        let record = log_record(&event, 7);
        assert_eq!(record.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(record.severity_number, 13);
        assert_eq!(record.severity_text, "WARN");
        assert_eq!(record.time_unix_nano, unix_nanos(event.last_seen));
        assert_eq!(record.observed_time_unix_nano, 7);
        assert_eq!(
            record.body.and_then(|b| b.value),
            Some(Value::StringValue(event.message.clone()))
        );
        let record = log_record(&event, 7);
        let s = |v: &str| Some(Value::StringValue(v.to_owned()));
        assert_eq!(attribute(&record, "k8s.pod.name").cloned(), s("web-1"));
        assert_eq!(attribute(&record, "k8s.pod.uid").cloned(), s("pod-uid"));
        assert_eq!(
            attribute(&record, "k8s.namespace.name").cloned(),
            s("payments")
        );
        assert_eq!(
            attribute(&record, "k8s.event.reason").cloned(),
            s("BackOff")
        );
        assert_eq!(attribute(&record, "k8s.event.uid").cloned(), s("u-1"));
        assert_eq!(
            attribute(&record, "event_keeper.occurrence_key").cloned(),
            s("u-1/42")
        );
        assert_eq!(
            attribute(&record, "k8s.event.count").cloned(),
            Some(Value::IntValue(3))
        );
    }

    #[test]
    fn normal_is_info_and_other_types_are_unspecified() {
        assert_eq!(severity("Normal"), (SeverityNumber::Info, "INFO"));
        assert_eq!(SeverityNumber::Info as i32, 9);
        assert_eq!(severity("Odd"), (SeverityNumber::Unspecified, "Odd"));
    }

    #[test]
    fn a_namespace_event_names_its_namespace_once() {
        let mut event = pod_event();
        event.regarding = ObjectRef::new("Namespace", "payments");
        let record = log_record(&event, 0);
        let count = record
            .attributes
            .iter()
            .filter(|kv| kv.key == "k8s.namespace.name")
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn the_request_carries_service_and_cluster_as_resource_attributes() {
        let mut a = pod_event();
        a.cluster = Some("prod-eu".into());
        let mut b = pod_event();
        b.cluster = Some("prod-us".into());
        let request = export_request(&[a.clone(), b, a], "event-keeper", None, 1);
        assert_eq!(request.resource_logs.len(), 2);
        let first = &request.resource_logs[0];
        assert_eq!(first.scope_logs[0].log_records.len(), 2);
        let keys: Vec<&str> = first
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        assert_eq!(keys, ["service.name", "k8s.cluster.name"]);
        let request = export_request(&[pod_event()], "svc", Some("fixed"), 1);
        assert_eq!(request.resource_logs.len(), 1);
    }
}
