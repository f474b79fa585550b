//! PersistentVolumeClaims: phase, bound volume, size and storage class.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::{Summarize, Summary, condition};

/// `phase=Bound volume=pvc-123 capacity=10Gi storageClass=gp3`; before binding, the size asked
/// for as `requested=10Gi`; then every condition that is `True` (`Resizing=True`, ...).
///
/// A `Warning` when the phase is `Lost`: the bound volume is gone.
impl Summarize for PersistentVolumeClaim {
    fn summarize(&self) -> Summary {
        let mut s = Summary::default();
        let spec = self.spec.as_ref();
        let status = self.status.as_ref();
        let phase = status
            .and_then(|st| st.phase.as_deref())
            .unwrap_or("Pending");
        s.push(format_args!("phase={phase}"));
        if let Some(volume) = spec
            .and_then(|sp| sp.volume_name.as_deref())
            .filter(|v| !v.is_empty())
        {
            s.push(format_args!("volume={volume}"));
        }
        let capacity = status
            .and_then(|st| st.capacity.as_ref())
            .and_then(|c| c.get("storage"));
        let requested = spec
            .and_then(|sp| sp.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"));
        match (capacity, requested) {
            (Some(capacity), _) => s.push(format_args!("capacity={}", capacity.0)),
            (None, Some(requested)) => s.push(format_args!("requested={}", requested.0)),
            (None, None) => {}
        }
        if let Some(class) = spec
            .and_then(|sp| sp.storage_class_name.as_deref())
            .filter(|c| !c.is_empty())
        {
            s.push(format_args!("storageClass={class}"));
        }
        for c in status
            .and_then(|st| st.conditions.as_deref())
            .unwrap_or_default()
        {
            s.transitioned(c.last_transition_time.as_ref());
            if c.status == "True" {
                s.push(condition(&c.type_, &c.status));
            }
        }
        s.warning = phase == "Lost";
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn pvc(spec: Value, status: Value) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data-db-0", "namespace": "payments", "uid": "c-1", "resourceVersion": "4"},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    fn bound_spec() -> Value {
        json!({"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "volumeName": "pvc-123",
               "resources": {"requests": {"storage": "8Gi"}}})
    }

    #[test]
    fn a_bound_claim_shows_its_volume_capacity_and_class() {
        let s = pvc(
            bound_spec(),
            json!({"phase": "Bound", "capacity": {"storage": "10Gi"}}),
        )
        .summarize();
        assert_eq!(
            s.message,
            "phase=Bound volume=pvc-123 capacity=10Gi storageClass=gp3"
        );
        assert!(!s.warning);
    }

    #[test]
    fn a_pending_claim_shows_the_size_it_asks_for() {
        let s = pvc(
            json!({"storageClassName": "gp3", "resources": {"requests": {"storage": "20Gi"}}}),
            json!({"phase": "Pending"}),
        )
        .summarize();
        assert_eq!(s.message, "phase=Pending requested=20Gi storageClass=gp3");
        assert!(!s.warning);
    }

    #[test]
    fn a_lost_claim_is_a_warning() {
        let s = pvc(bound_spec(), json!({"phase": "Lost"})).summarize();
        assert_eq!(
            s.message,
            "phase=Lost volume=pvc-123 requested=8Gi storageClass=gp3"
        );
        assert!(s.warning);
    }

    #[test]
    fn a_resizing_claim_shows_the_condition() {
        let s = pvc(
            bound_spec(),
            json!({"phase": "Bound", "capacity": {"storage": "10Gi"}, "conditions": [
                {"type": "Resizing", "status": "True", "lastTransitionTime": "2026-11-23T10:00:00Z"}
            ]}),
        )
        .summarize();
        assert!(
            s.message.ends_with("storageClass=gp3 Resizing=True"),
            "{}",
            s.message
        );
        assert_eq!(
            s.last_transition,
            Some("2026-11-23T10:00:00Z".parse().unwrap())
        );
    }
}
