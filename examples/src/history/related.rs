//! [`Owned`]: an object and what it owns, for `--for deployment/api --related`.
//!
//! The records keep the object an event is about (kind, name, uid), not that object's owner
//! references, so ownership is read from the names the built-in controllers give what they
//! create (the rule is documented in `examples/HISTORY.md`):
//!
//! | owner | owns |
//! |---|---|
//! | Deployment `api` | ReplicaSets `api-<hash>`, Pods `api-<hash>-<suffix>` |
//! | ReplicaSet, DaemonSet, Job `x` | Pods `x-<suffix>` |
//! | StatefulSet `x` | Pods `x-<ordinal>` |
//! | CronJob `x` | Jobs `x-<number>`, Pods `x-<number>-<suffix>` |
//!
//! `<hash>` is a pod-template hash and `<suffix>` a generated suffix: both are written in the
//! alphabet Kubernetes uses for generated names (`bcdfghjklmnpqrstvwxz2456789`: no vowels,
//! no `0`, `1`, `3`), the hash 6 to 10 characters, the suffix 5. So Deployment `api` does not
//! claim `api-gateway-7d9f5c6b8` (a hash has no `-`) nor the Pod `api-v2-x2x9q` (`v2` is no
//! hash).

use event_core::Event;
use event_core::filter::Predicate;
use event_history::ObjectSelector;

/// The alphabet of generated name parts (k8s.io/apimachinery `util/rand`).
const GENERATED: &str = "bcdfghjklmnpqrstvwxz2456789";

/// Keeps the events of an object and of what it owns, by the naming rule of the module docs.
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched"]
pub struct Owned {
    kind: String,
    name: String,
}

impl Owned {
    /// The object `selector` names, and what it owns.
    pub fn new(selector: &ObjectSelector) -> Self {
        Owned {
            kind: selector.kind().to_owned(),
            name: selector.name().to_owned(),
        }
    }

    /// Whether an object of `kind` (any case) named `name` is this one or owned by it.
    pub fn claims(&self, kind: &str, name: &str) -> bool {
        let kind = kind.to_ascii_lowercase();
        if kind == self.kind {
            return name == self.name;
        }
        let Some(rest) = name
            .strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
        else {
            return false;
        };
        match (self.kind.as_str(), kind.as_str()) {
            ("deployment", "replicaset") => is_hash(rest),
            ("deployment", "pod") => rest
                .split_once('-')
                .is_some_and(|(hash, suffix)| is_hash(hash) && is_suffix(suffix)),
            ("replicaset" | "daemonset" | "job", "pod") => is_suffix(rest),
            ("statefulset", "pod") => is_number(rest),
            ("cronjob", "job") => is_number(rest),
            ("cronjob", "pod") => rest
                .split_once('-')
                .is_some_and(|(number, suffix)| is_number(number) && is_suffix(suffix)),
            _ => false,
        }
    }
}

impl Predicate for Owned {
    fn matches(&self, event: &Event) -> bool {
        self.claims(&event.regarding.kind, &event.regarding.name)
    }
}

fn generated(text: &str) -> bool {
    text.chars().all(|c| GENERATED.contains(c))
}

fn is_hash(text: &str) -> bool {
    (6..=10).contains(&text.len()) && generated(text)
}

fn is_suffix(text: &str) -> bool {
    text.len() == 5 && generated(text)
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(selector: &str) -> Owned {
        Owned::new(&selector.parse().unwrap())
    }

    #[test]
    fn a_deployment_owns_its_replicasets_and_their_pods() {
        let api = owned("deploy/api");
        assert!(api.claims("Deployment", "api"));
        assert!(api.claims("ReplicaSet", "api-7d9f5c6b8"));
        assert!(api.claims("Pod", "api-7d9f5c6b8-x2x9q"));
        assert!(api.claims("Pod", "api-787d4945fb-l85r5"));
        for (kind, name) in [
            ("Deployment", "api-gateway"),
            ("ReplicaSet", "api-gateway-7d9f5c6b8"),
            ("Pod", "api-gateway-7d9f5c6b8-x2x9q"),
            ("Pod", "api-v2-x2x9q"),
            ("Pod", "api-7d9f5c6b8"),
            ("Pod", "api-7d9f5c6b8-x2x9q1"),
            ("Pod", "api-7d9f5c6b8-ab2cd"),
            ("Service", "api"),
            ("Node", "api-7d9f5c6b8"),
            ("Pod", "apix-7d9f5c6b8-x2x9q"),
        ] {
            assert!(!api.claims(kind, name), "{kind}/{name}");
        }
    }

    #[test]
    fn other_controllers_own_their_pods_and_jobs() {
        assert!(owned("rs/api-7d9f5c6b8").claims("pod", "api-7d9f5c6b8-x2x9q"));
        assert!(!owned("rs/api-7d9f5c6b8").claims("replicaset", "api-7d9f5c6b8-x"));
        assert!(owned("sts/db").claims("Pod", "db-0"));
        assert!(!owned("sts/db").claims("Pod", "db-x2x9q"));
        assert!(owned("ds/fluent-bit").claims("Pod", "fluent-bit-x2x9q"));
        assert!(owned("cronjob/backup").claims("Job", "backup-29412345"));
        assert!(owned("cronjob/backup").claims("Pod", "backup-29412345-x2x9q"));
        assert!(owned("job/migrate").claims("Pod", "migrate-x2x9q"));
        assert!(!owned("pod/api").claims("Pod", "api-x2x9q"));
    }
}
