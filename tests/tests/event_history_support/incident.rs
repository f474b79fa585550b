//! The incident the history tests read back: a payments roll-out that cannot schedule, an image
//! that does not exist, a node going NotReady, written in batches as the pipeline would, with a
//! resend that stores some occurrences twice.

#![allow(dead_code)]

use event_core::{Event, ObjectRef};
use jiff::{SignedDuration, Timestamp};

/// When the incident's clocks read `2026-11-24T00:00:00Z`; tests that need recent times shift
/// every timestamp by the same amount.
pub const DAY: &str = "2026-11-24T00:00:00Z";

/// One batch as the pipeline sent it: the sink's clock when it wrote, and the events.
pub struct Batch {
    pub written: Timestamp,
    pub events: Vec<Event>,
}

#[derive(Clone, Copy)]
struct Spec {
    uid: &'static str,
    rv: &'static str,
    namespace: Option<&'static str>,
    kind: &'static str,
    name: &'static str,
    event_type: &'static str,
    reason: &'static str,
    message: &'static str,
    count: u32,
    first: &'static str,
    last: &'static str,
    reporter: (&'static str, Option<&'static str>),
    field_path: Option<&'static str>,
}

const KUBELET_7: (&str, Option<&str>) = ("kubelet", Some("ip-10-0-1-7.ec2.internal"));
const SCHEDULER: (&str, Option<&str>) = ("default-scheduler", None);
const DEPLOYMENTS: (&str, Option<&str>) = ("deployment-controller", None);

fn at(day: Timestamp, time: &str) -> Timestamp {
    let (h, rest) = time.split_once(':').expect("hh:mm:ss");
    let (m, s) = rest.split_once(':').expect("hh:mm:ss");
    let seconds: i64 = h.parse::<i64>().unwrap() * 3600
        + m.parse::<i64>().unwrap() * 60
        + s.parse::<i64>().unwrap();
    day + SignedDuration::from_secs(seconds)
}

fn build(day: Timestamp, s: Spec) -> Event {
    let mut event = Event::new(s.uid, s.rv);
    event.namespace = s.namespace.map(str::to_owned);
    event.name = format!("{}.{}", s.name, s.uid);
    event.regarding = ObjectRef::new(s.kind, s.name);
    event.regarding.namespace = s.namespace.filter(|_| s.kind != "Node").map(str::to_owned);
    event.regarding.field_path = s.field_path.map(str::to_owned);
    event.event_type = s.event_type.to_owned();
    event.reason = s.reason.to_owned();
    event.message = s.message.to_owned();
    event.count = s.count;
    event.first_seen = at(day, s.first);
    event.last_seen = at(day, s.last);
    event.reporting_controller = Some(s.reporter.0.to_owned());
    event.reporting_instance = s.reporter.1.map(str::to_owned);
    event.cluster = Some("prod-eu".to_owned());
    event
}

#[allow(clippy::too_many_arguments)]
const fn spec(
    uid: &'static str,
    rv: &'static str,
    namespace: Option<&'static str>,
    (kind, name): (&'static str, &'static str),
    event_type: &'static str,
    reason: &'static str,
    message: &'static str,
    count: u32,
    (first, last): (&'static str, &'static str),
    reporter: (&'static str, Option<&'static str>),
    field_path: Option<&'static str>,
) -> Spec {
    Spec {
        uid,
        rv,
        namespace,
        kind,
        name,
        event_type,
        reason,
        message,
        count,
        first,
        last,
        reporter,
        field_path,
    }
}

const PAY: Option<&str> = Some("payments");
const POD_K7: (&str, &str) = ("Pod", "api-7d9f5c6b8-k7wz4");
const API_IMAGE: Option<&str> = Some("spec.containers{api}");

const INVOICES_UP: Spec = spec(
    "e01",
    "4101",
    Some("billing"),
    ("Deployment", "invoices"),
    "Normal",
    "ScalingReplicaSet",
    "Scaled up replica set invoices-5c8d9 from 2 to 3",
    1,
    ("08:55:00", "08:55:00"),
    DEPLOYMENTS,
    None,
);
const API_UP: Spec = spec(
    "e02",
    "5010",
    PAY,
    ("Deployment", "api"),
    "Normal",
    "ScalingReplicaSet",
    "Scaled up replica set api-7d9f5c6b8 from 2 to 4",
    1,
    ("09:58:10", "09:58:10"),
    DEPLOYMENTS,
    None,
);
const CREATED: Spec = spec(
    "e03",
    "5011",
    PAY,
    ("ReplicaSet", "api-7d9f5c6b8"),
    "Normal",
    "SuccessfulCreate",
    "Created pod: api-7d9f5c6b8-x2x9q",
    1,
    ("09:58:11", "09:58:11"),
    ("replicaset-controller", None),
    None,
);
const UNSCHEDULABLE: Spec = spec(
    "e04",
    "5012",
    PAY,
    ("Pod", "api-7d9f5c6b8-x2x9q"),
    "Warning",
    "FailedScheduling",
    "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    1,
    ("09:58:12", "09:58:12"),
    SCHEDULER,
    None,
);
const SCHEDULED: Spec = spec(
    "e05",
    "5013",
    PAY,
    POD_K7,
    "Normal",
    "Scheduled",
    "Successfully assigned payments/api-7d9f5c6b8-k7wz4 to ip-10-0-1-7.ec2.internal",
    1,
    ("09:58:12", "09:58:12"),
    SCHEDULER,
    None,
);
const PULLING: Spec = spec(
    "e06",
    "5020",
    PAY,
    POD_K7,
    "Normal",
    "Pulling",
    "Pulling image \"registry.example.com/payments/api:2.4.1\"",
    1,
    ("09:58:40", "09:58:40"),
    KUBELET_7,
    API_IMAGE,
);
const PULL_FAILED: Spec = spec(
    "e07",
    "5021",
    PAY,
    POD_K7,
    "Warning",
    "Failed",
    "Failed to pull image \"registry.example.com/payments/api:2.4.1\": rpc error: code = NotFound desc = failed to pull and unpack image: not found",
    1,
    ("09:59:05", "09:59:05"),
    KUBELET_7,
    API_IMAGE,
);
const BACKOFF_1: Spec = spec(
    "e08",
    "5030",
    PAY,
    POD_K7,
    "Warning",
    "BackOff",
    "Back-off pulling image \"registry.example.com/payments/api:2.4.1\"",
    1,
    ("09:59:30", "09:59:30"),
    KUBELET_7,
    API_IMAGE,
);
const BACKOFF_5: Spec = spec(
    "e08",
    "5044",
    PAY,
    POD_K7,
    "Warning",
    "BackOff",
    "Back-off pulling image \"registry.example.com/payments/api:2.4.1\"",
    5,
    ("09:59:30", "10:02:13"),
    KUBELET_7,
    API_IMAGE,
);
const COREDNS: Spec = spec(
    "e09",
    "7001",
    Some("kube-system"),
    ("Pod", "coredns-787d4945fb-l85r5"),
    "Warning",
    "Unhealthy",
    "Readiness probe failed: HTTP probe failed with statuscode: 503",
    2,
    ("10:04:40", "10:05:00"),
    ("kubelet", Some("ip-10-0-1-9.ec2.internal")),
    Some("spec.containers{coredns}"),
);
const BACKOFF_12: Spec = spec(
    "e08",
    "5071",
    PAY,
    POD_K7,
    "Warning",
    "BackOff",
    "Back-off pulling image \"registry.example.com/payments/api:2.4.1\"",
    12,
    ("09:59:30", "10:15:40"),
    KUBELET_7,
    API_IMAGE,
);
const NODE_DOWN: Spec = spec(
    "e10",
    "7101",
    Some("default"),
    ("Node", "ip-10-0-1-9.ec2.internal"),
    "Normal",
    "NodeNotReady",
    "Node ip-10-0-1-9.ec2.internal status is now: NodeNotReady",
    1,
    ("10:20:00", "10:20:00"),
    ("node-controller", None),
    None,
);
const LIVENESS: Spec = spec(
    "e11",
    "5090",
    PAY,
    ("Pod", "api-7d9f5c6b8-m4q2p"),
    "Warning",
    "Unhealthy",
    "Liveness probe failed: Get \"http://10.0.1.23:8080/healthz\": context deadline exceeded\nbody: (empty)",
    3,
    ("10:20:30", "10:21:30"),
    ("kubelet", Some("ip-10-0-1-8.ec2.internal")),
    Some("spec.containers{api}"),
);
const KILLING: Spec = spec(
    "e12",
    "5091",
    PAY,
    ("Pod", "api-7d9f5c6b8-m4q2p"),
    "Normal",
    "Killing",
    "Container api failed liveness probe, will be restarted",
    1,
    ("10:21:31", "10:21:31"),
    ("kubelet", Some("ip-10-0-1-8.ec2.internal")),
    Some("spec.containers{api}"),
);
const API_DOWN: Spec = spec(
    "e13",
    "5120",
    PAY,
    ("Deployment", "api"),
    "Normal",
    "ScalingReplicaSet",
    "Scaled down replica set api-7d9f5c6b8 from 4 to 2",
    1,
    ("10:40:00", "10:40:00"),
    DEPLOYMENTS,
    None,
);
const INVOICES_BACKOFF: Spec = spec(
    "e14",
    "4190",
    Some("billing"),
    ("Pod", "invoices-5c8d9-abcde"),
    "Warning",
    "BackOff",
    "Back-off restarting failed container invoices in pod invoices-5c8d9-abcde_billing(0c6f)",
    3,
    ("11:01:00", "11:05:00"),
    ("kubelet", Some("ip-10-0-1-8.ec2.internal")),
    Some("spec.containers{invoices}"),
);
const STARTED: Spec = spec(
    "e15",
    "5210",
    PAY,
    ("Pod", "api-6b5f7c9d4-zq8ls"),
    "Normal",
    "Started",
    "Started container api",
    1,
    ("12:10:00", "12:10:00"),
    ("kubelet", Some("ip-10-0-1-7.ec2.internal")),
    Some("spec.containers{api}"),
);

/// The batches as the pipeline sent them, the sink's clock a few seconds after the events.
///
/// Batch B is out of `lastSeen` order; batch E resends B's and D's occurrences after a timeout
/// (same keys: duplicates); `e08` is updated twice (new resourceVersions: new occurrences).
pub fn batches(day: Timestamp) -> Vec<Batch> {
    let batch = |written: &str, specs: &[Spec]| Batch {
        written: at(day, written),
        events: specs.iter().map(|s| build(day, *s)).collect(),
    };
    vec![
        batch("08:55:03", &[INVOICES_UP]),
        batch("09:58:15", &[API_UP, UNSCHEDULABLE, SCHEDULED, CREATED]),
        batch("09:59:35", &[PULLING, PULL_FAILED, BACKOFF_1]),
        batch("10:02:20", &[BACKOFF_5]),
        batch("10:03:00", &[UNSCHEDULABLE, SCHEDULED, BACKOFF_5]),
        batch("10:05:05", &[COREDNS]),
        batch("10:16:00", &[BACKOFF_12]),
        batch("10:21:40", &[NODE_DOWN, LIVENESS, KILLING]),
        batch("10:40:02", &[API_DOWN]),
        batch("11:05:03", &[INVOICES_BACKOFF]),
        batch("12:10:01", &[STARTED]),
    ]
}

/// The incident on its own day.
pub fn day() -> Timestamp {
    DAY.parse().expect("a valid day")
}

/// A day such that the incident's last event was `ago` before now, to the second, for
/// backends that accept only recent timestamps.
pub fn day_ending(ago: SignedDuration) -> Timestamp {
    let now = Timestamp::from_second(Timestamp::now().as_second()).expect("now is valid");
    let last = at(day(), STARTED.last).duration_since(day());
    now - ago - last
}

/// The shift from the incident's own day to `shifted`.
pub fn shift(shifted: Timestamp) -> SignedDuration {
    shifted.duration_since(day())
}
