//! A realistic incident played against a [`SimCluster`], for the quickstart and the benches.
//!
//! A Deployment rolls out and scales up; one new pod asks for more than any node has
//! (cpu 5000m, memory 64Ti) and cannot be scheduled, retried by the scheduler; another cannot
//! pull its image, backing off with a growing count; a node goes NotReady.

use std::time::Duration;

use crate::{ApiGroup, EventRef, NewEvent, SimCluster};

/// The occurrences one [`play`] produced, in order.
#[derive(Debug, Default, Clone)]
pub struct Incident {
    /// Every occurrence (created or bumped), in the order the API server stored them.
    pub occurrences: Vec<EventRef>,
}

/// Plays the incident, pausing `step` between beats so a watcher sees them arrive live.
pub async fn play(cluster: &SimCluster, step: Duration) -> Incident {
    let mut incident = Incident::default();
    let mut record = |ev: EventRef| {
        incident.occurrences.push(ev.clone());
        ev
    };

    record(
        cluster.create_event(
            NewEvent::new("payments", "ScalingReplicaSet")
                .regarding("Deployment", "api")
                .message("Scaled up replica set api-7d9f5c6b8 from 2 to 4")
                .reporting("deployment-controller", "")
                .api(ApiGroup::EventsV1),
        ),
    );
    for pod in ["api-7d9f5c6b8-x2x9q", "api-7d9f5c6b8-k7wz4"] {
        record(
            cluster.create_event(
                NewEvent::new("payments", "SuccessfulCreate")
                    .regarding("ReplicaSet", "api-7d9f5c6b8")
                    .message(format!("Created pod: {pod}"))
                    .reporting("replicaset-controller", "")
                    .api(ApiGroup::EventsV1),
            ),
        );
    }
    tokio::time::sleep(step).await;

    let mut unschedulable = record(cluster.create_event(
        NewEvent::new("payments", "FailedScheduling")
            .regarding("Pod", "api-7d9f5c6b8-x2x9q")
            .message("0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")
            .warning()
            .action("Scheduling")
            .reporting("default-scheduler", "default-scheduler-ip-10-0-1-12")
            .api(ApiGroup::EventsV1),
    ));
    let mut back_off = record(
        cluster.create_event(
            NewEvent::new("payments", "BackOff")
                .regarding("Pod", "api-7d9f5c6b8-k7wz4")
                .message("Back-off pulling image \"registry.example.com/payments/api:2.4.1\"")
                .warning()
                .reporting("kubelet", "ip-10-0-3-17.ec2.internal")
                .api(ApiGroup::CoreV1),
        ),
    );
    // Noise that a filter may drop.
    record(
        cluster.create_event(
            NewEvent::new("kube-system", "Pulled")
                .regarding("Pod", "aws-node-8h2kd")
                .message("Container image \"amazon-k8s-cni:v1.19.0\" already present on machine")
                .reporting("kubelet", "ip-10-0-1-12.ec2.internal")
                .api(ApiGroup::CoreV1),
        ),
    );
    for _ in 0..4 {
        tokio::time::sleep(step).await;
        if let Some(ev) = cluster.bump_event(&unschedulable) {
            unschedulable = record(ev);
        }
        if let Some(ev) = cluster.bump_event(&back_off) {
            back_off = record(ev);
        }
    }

    tokio::time::sleep(step).await;
    record(
        cluster.create_event(
            NewEvent::new("default", "NodeNotReady")
                .regarding("Node", "ip-10-0-3-17.ec2.internal")
                .message("Node ip-10-0-3-17.ec2.internal status is now: NodeNotReady")
                .warning()
                .reporting("node-controller", "")
                .api(ApiGroup::CoreV1),
        ),
    );
    incident
}
