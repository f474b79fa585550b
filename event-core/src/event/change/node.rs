//! Nodes: readiness, the problem conditions that hold, and cordoning.

use k8s_openapi::api::core::v1::Node;

use super::{Summarize, Summary, condition};

/// `Ready=False (KubeletNotReady) MemoryPressure=True unschedulable`: the Ready condition (with
/// its reason when not `True`), then every other condition that is `True` — all of the
/// standard ones (`MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`) and
/// node-problem-detector's are problems when true — then `unschedulable` for a cordoned node.
///
/// A `Warning` when Ready is not `True` (or missing) or a problem condition holds; cordoning is
/// deliberate and stays `Normal`.
impl Summarize for Node {
    fn summarize(&self) -> Summary {
        let mut s = Summary::default();
        let conditions = self
            .status
            .as_ref()
            .and_then(|st| st.conditions.as_deref())
            .unwrap_or_default();
        let ready = conditions.iter().find(|c| c.type_ == "Ready");
        let ready_status = ready.map_or("Unknown", |c| c.status.as_str());
        match ready
            .and_then(|c| c.reason.as_deref())
            .filter(|r| !r.is_empty())
        {
            Some(reason) if ready_status != "True" => {
                s.push(format_args!(
                    "{} ({reason})",
                    condition("Ready", ready_status)
                ));
            }
            _ => s.push(condition("Ready", ready_status)),
        }
        let mut problem = false;
        for c in conditions {
            s.transitioned(c.last_transition_time.as_ref());
            if c.type_ != "Ready" && c.status == "True" {
                problem = true;
                s.push(condition(&c.type_, &c.status));
            }
        }
        if self
            .spec
            .as_ref()
            .and_then(|spec| spec.unschedulable)
            .unwrap_or(false)
        {
            s.push("unschedulable");
        }
        s.warning = ready_status != "True" || problem;
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn node(conditions: Value, unschedulable: bool) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "ip-10-0-1-5.ec2.internal", "uid": "n-1", "resourceVersion": "5"},
            "spec": {"unschedulable": unschedulable, "providerID": "aws:///eu-west-1a/i-0abc"},
            "status": {"conditions": conditions}
        }))
        .unwrap()
    }

    fn cond(type_: &str, status: &str, reason: &str, at: &str) -> Value {
        json!({"type": type_, "status": status, "reason": reason,
               "lastHeartbeatTime": "2026-11-23T10:10:00Z", "lastTransitionTime": at})
    }

    #[test]
    fn a_not_ready_node_under_pressure_is_a_warning_with_its_reason() {
        let n = node(
            json!([
                cond(
                    "MemoryPressure",
                    "True",
                    "KubeletHasInsufficientMemory",
                    "2026-11-23T10:01:00Z"
                ),
                cond(
                    "DiskPressure",
                    "False",
                    "KubeletHasNoDiskPressure",
                    "2026-11-01T00:00:00Z"
                ),
                cond(
                    "PIDPressure",
                    "False",
                    "KubeletHasSufficientPID",
                    "2026-11-01T00:00:00Z"
                ),
                cond("Ready", "False", "KubeletNotReady", "2026-11-23T10:03:00Z")
            ]),
            true,
        );
        let s = n.summarize();
        assert_eq!(
            s.message,
            "Ready=False (KubeletNotReady) MemoryPressure=True unschedulable"
        );
        assert!(s.warning);
        assert_eq!(
            s.last_transition,
            Some("2026-11-23T10:03:00Z".parse().unwrap())
        );
    }

    #[test]
    fn a_ready_node_is_normal_even_when_cordoned() {
        let n = node(
            json!([
                cond(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "2026-11-01T00:00:00Z"
                ),
                cond("Ready", "True", "KubeletReady", "2026-11-01T00:00:00Z")
            ]),
            true,
        );
        let s = n.summarize();
        assert_eq!(s.message, "Ready=True unschedulable");
        assert!(!s.warning);
    }

    #[test]
    fn a_node_whose_kubelet_stopped_reporting_is_unknown_and_a_warning() {
        let n = node(
            json!([cond(
                "Ready",
                "Unknown",
                "NodeStatusUnknown",
                "2026-11-23T10:05:00Z"
            )]),
            false,
        );
        let s = n.summarize();
        assert_eq!(s.message, "Ready=Unknown (NodeStatusUnknown)");
        assert!(s.warning);
    }

    #[test]
    fn a_node_without_conditions_yet_is_not_known_to_be_ready() {
        let s = node(json!([]), false).summarize();
        assert_eq!(s.message, "Ready=Unknown");
        assert!(s.warning);
    }

    #[test]
    fn a_ready_node_with_a_problem_condition_is_a_warning() {
        let n = node(
            json!([
                cond("Ready", "True", "KubeletReady", "2026-11-01T00:00:00Z"),
                cond(
                    "KernelDeadlock",
                    "True",
                    "DockerHung",
                    "2026-11-23T10:00:00Z"
                )
            ]),
            false,
        );
        let s = n.summarize();
        assert_eq!(s.message, "Ready=True KernelDeadlock=True");
        assert!(s.warning);
    }
}
