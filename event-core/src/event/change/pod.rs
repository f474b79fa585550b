//! Pods: phase, node, readiness, restarts and the containers that are stuck.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::{Summarize, Summary};

/// Waiting reasons that mean the container cannot start without someone fixing something.
const BAD_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

const OOM_KILLED: &str = "OOMKilled";

/// `phase=Running node=ip-10-0-1-5 ready=2/3 restarts=4 waiting=app:CrashLoopBackOff`, plus
/// `reason=` (e.g. `Evicted`), `terminated=` and `lastTerminated=` when set.
///
/// A `Warning` when the phase is `Failed`, a container waits with `CrashLoopBackOff`,
/// `ImagePullBackOff`, `ErrImagePull`, `InvalidImageName` or `CreateContainerConfigError`,
/// or a container is terminated `OOMKilled` — or was, and is not ready again yet.
impl Summarize for Pod {
    fn summarize(&self) -> Summary {
        let mut s = Summary::default();
        let status = self.status.as_ref();
        let phase = status
            .and_then(|st| st.phase.as_deref())
            .unwrap_or("Unknown");
        s.push(format_args!("phase={phase}"));
        if let Some(reason) = status
            .and_then(|st| st.reason.as_deref())
            .filter(|r| !r.is_empty())
        {
            s.push(format_args!("reason={reason}"));
        }
        if let Some(node) = self
            .spec
            .as_ref()
            .and_then(|spec| spec.node_name.as_deref())
            .filter(|n| !n.is_empty())
        {
            s.push(format_args!("node={node}"));
        }
        let containers = status
            .and_then(|st| st.container_statuses.as_deref())
            .unwrap_or_default();
        let init = status
            .and_then(|st| st.init_container_statuses.as_deref())
            .unwrap_or_default();
        let declared = self.spec.as_ref().map_or(0, |spec| spec.containers.len());
        let ready = containers.iter().filter(|c| c.ready).count();
        s.push(format_args!(
            "ready={ready}/{}",
            declared.max(containers.len())
        ));
        let restarts: i64 = containers
            .iter()
            .chain(init)
            .map(|c| i64::from(c.restart_count.max(0)))
            .sum();
        s.push(format_args!("restarts={restarts}"));

        let waiting = reasons(init.iter().chain(containers), |c| {
            c.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
        });
        // A completed init container is how a pod is meant to start, not news.
        let terminated = reasons(init.iter().chain(containers), |c| {
            let reason = c.state.as_ref()?.terminated.as_ref()?.reason.as_deref()?;
            let done_init = reason == "Completed" && init.iter().any(|i| i.name == c.name);
            (!done_init).then_some(reason)
        });
        let last_terminated = reasons(containers.iter(), |c| {
            if c.state.as_ref().is_some_and(|st| st.terminated.is_some()) {
                return None;
            }
            c.last_state
                .as_ref()?
                .terminated
                .as_ref()?
                .reason
                .as_deref()
        });
        for (label, list) in [
            ("waiting", &waiting),
            ("terminated", &terminated),
            ("lastTerminated", &last_terminated),
        ] {
            if !list.is_empty() {
                s.push(format_args!("{label}={}", join(list)));
            }
        }

        let oom_recovering = containers.iter().any(|c| {
            !c.ready
                && c.last_state
                    .as_ref()
                    .and_then(|st| st.terminated.as_ref())
                    .and_then(|t| t.reason.as_deref())
                    == Some(OOM_KILLED)
        });
        s.warning = phase == "Failed"
            || waiting
                .iter()
                .any(|(_, r)| BAD_WAITING.contains(&r.as_str()))
            || terminated.iter().any(|(_, r)| r == OOM_KILLED)
            || oom_recovering;
        for c in status
            .and_then(|st| st.conditions.as_deref())
            .unwrap_or_default()
        {
            s.transitioned(c.last_transition_time.as_ref());
        }
        s
    }
}

/// `(container, reason)` for every container where `pick` finds a non-empty reason.
fn reasons<'a>(
    containers: impl Iterator<Item = &'a ContainerStatus>,
    pick: impl Fn(&'a ContainerStatus) -> Option<&'a str>,
) -> Vec<(&'a str, String)> {
    containers
        .filter_map(|c| {
            pick(c)
                .filter(|r| !r.is_empty())
                .map(|r| (c.name.as_str(), r.to_owned()))
        })
        .collect()
}

fn join(list: &[(&str, String)]) -> String {
    list.iter()
        .map(|(name, reason)| format!("{name}:{reason}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::Event;
    use crate::event::Change;

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": "api-7d9f", "namespace": "payments", "uid": "p-1", "resourceVersion": "77",
                "creationTimestamp": "2026-11-23T09:00:00Z"
            },
            "spec": {
                "nodeName": "ip-10-0-1-5",
                "containers": [{"name": "app"}, {"name": "sidecar"}, {"name": "proxy"}]
            },
            "status": status
        }))
        .unwrap()
    }

    fn running(name: &str, ready: bool, restarts: i32) -> Value {
        json!({"name": name, "image": "x", "imageID": "", "ready": ready, "restartCount": restarts,
               "state": {"running": {"startedAt": "2026-11-23T09:01:00Z"}}})
    }

    #[test]
    fn summarizes_phase_node_readiness_restarts_and_waiting_containers() {
        let p = pod(json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-23T10:00:00Z"}],
            "containerStatuses": [
                {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}},
                running("sidecar", true, 0),
                running("proxy", true, 0)
            ]
        }));
        let s = p.summarize();
        assert_eq!(
            s.message,
            "phase=Running node=ip-10-0-1-5 ready=2/3 restarts=4 waiting=app:CrashLoopBackOff lastTerminated=app:Error"
        );
        assert!(s.warning);
        assert_eq!(
            s.last_transition,
            Some("2026-11-23T10:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn a_healthy_running_pod_is_normal() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            running("app", true, 0), running("sidecar", true, 1), running("proxy", true, 0)
        ]}));
        let s = p.summarize();
        assert_eq!(
            s.message,
            "phase=Running node=ip-10-0-1-5 ready=3/3 restarts=1"
        );
        assert!(!s.warning);
    }

    #[test]
    fn image_pull_failures_are_warnings() {
        for reason in ["ImagePullBackOff", "ErrImagePull"] {
            let p = pod(json!({"phase": "Pending", "containerStatuses": [
                {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": reason}}}
            ]}));
            let s = p.summarize();
            assert!(s.warning, "{reason}");
            assert!(
                s.message.ends_with(&format!("waiting=app:{reason}")),
                "{}",
                s.message
            );
        }
    }

    #[test]
    fn a_container_being_created_is_not_a_warning() {
        let p = pod(json!({"phase": "Pending", "containerStatuses": [
            {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"waiting": {"reason": "ContainerCreating"}}}
        ]}));
        let s = p.summarize();
        assert!(!s.warning);
        assert!(s.message.contains("waiting=app:ContainerCreating"));
    }

    #[test]
    fn an_oom_kill_is_a_warning_until_the_container_is_ready_again() {
        let killed = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 2,
             "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
        ]}));
        let s = killed.summarize();
        assert!(s.warning);
        assert!(
            s.message.contains("terminated=app:OOMKilled"),
            "{}",
            s.message
        );
        let restarting = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
             "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
        ]}));
        assert!(restarting.summarize().warning);
        let recovered = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 3,
             "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
        ]}));
        let s = recovered.summarize();
        assert!(!s.warning);
        assert!(s.message.contains("lastTerminated=app:OOMKilled"));
    }

    #[test]
    fn an_evicted_pod_is_a_failed_warning_with_its_reason() {
        let p = pod(json!({"phase": "Failed", "reason": "Evicted",
                           "message": "The node was low on resource: memory."}));
        let s = p.summarize();
        assert_eq!(
            s.message,
            "phase=Failed reason=Evicted node=ip-10-0-1-5 ready=0/3 restarts=0"
        );
        assert!(s.warning);
    }

    #[test]
    fn completed_init_containers_are_not_listed_but_failing_ones_are() {
        let p = pod(json!({"phase": "Pending",
        "initContainerStatuses": [
            {"name": "migrate", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "wait-db", "image": "x", "imageID": "", "ready": false, "restartCount": 5,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}));
        let s = p.summarize();
        assert_eq!(
            s.message,
            "phase=Pending node=ip-10-0-1-5 ready=0/3 restarts=5 waiting=wait-db:CrashLoopBackOff"
        );
        assert!(s.warning);
    }

    #[test]
    fn a_pod_record_is_namespaced_and_typed_by_its_state() {
        let p = pod(json!({"phase": "Pending", "containerStatuses": [
            {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"waiting": {"reason": "ErrImagePull"}}}
        ]}));
        let e = Event::from_object_change(&p, Change::Added).unwrap();
        assert_eq!(e.namespace.as_deref(), Some("payments"));
        assert_eq!(e.regarding.namespace.as_deref(), Some("payments"));
        assert_eq!(e.regarding.to_kubectl_string(), "pod/api-7d9f");
        assert_eq!(e.reason, "Added");
        assert!(e.is_warning());
        assert!(e.message.starts_with("phase=Pending node=ip-10-0-1-5"));
    }
}
