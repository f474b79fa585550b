//! Namespaces: the phase, and the deletion conditions that hold.

use k8s_openapi::api::core::v1::Namespace;

use super::{Summarize, Summary, condition};

/// `phase=Terminating`, then every condition that is `True`
/// (`NamespaceDeletionContentFailure=True`, `NamespaceContentRemaining=True`, ...).
///
/// A `Warning` when a `...Failure` condition holds: the namespace controller could not delete
/// its content. Terminating by itself was asked for and stays `Normal`.
impl Summarize for Namespace {
    fn summarize(&self) -> Summary {
        let mut s = Summary::default();
        let status = self.status.as_ref();
        let phase = status
            .and_then(|st| st.phase.as_deref())
            .unwrap_or("Active");
        s.push(format_args!("phase={phase}"));
        for c in status
            .and_then(|st| st.conditions.as_deref())
            .unwrap_or_default()
        {
            s.transitioned(c.last_transition_time.as_ref());
            if c.status == "True" {
                s.push(condition(&c.type_, &c.status));
                s.warning |= c.type_.ends_with("Failure");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn namespace(status: Value) -> Namespace {
        serde_json::from_value(json!({
            "metadata": {"name": "payments", "uid": "ns-1", "resourceVersion": "9"},
            "spec": {"finalizers": ["kubernetes"]},
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn an_active_namespace_is_normal() {
        let s = namespace(json!({"phase": "Active"})).summarize();
        assert_eq!(s.message, "phase=Active");
        assert!(!s.warning);
    }

    #[test]
    fn a_terminating_namespace_shows_what_holds_it_back() {
        let s = namespace(json!({"phase": "Terminating", "conditions": [
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "lastTransitionTime": "2026-11-23T10:00:00Z"},
            {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": "2026-11-23T10:01:00Z"}
        ]}))
        .summarize();
        assert_eq!(
            s.message,
            "phase=Terminating NamespaceContentRemaining=True"
        );
        assert!(!s.warning);
        assert_eq!(
            s.last_transition,
            Some("2026-11-23T10:01:00Z".parse().unwrap())
        );
    }

    #[test]
    fn a_failed_content_deletion_is_a_warning() {
        let s = namespace(json!({"phase": "Terminating", "conditions": [
            {"type": "NamespaceDeletionContentFailure", "status": "True",
             "reason": "ContentDeletionFailed", "lastTransitionTime": "2026-11-23T10:01:00Z"}
        ]}))
        .summarize();
        assert_eq!(
            s.message,
            "phase=Terminating NamespaceDeletionContentFailure=True"
        );
        assert!(s.warning);
    }
}
