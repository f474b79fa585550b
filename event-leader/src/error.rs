//! [`LeaderError`]: why leader election could not go on.

use std::time::Duration;

/// Why a [`LeaderElector`](crate::LeaderElector) or [`Leadership`](crate::Leadership) call
/// failed. Transient API errors while acquiring are logged and retried, not returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaderError {
    /// The config is inconsistent; see [`LeaderElectionConfig`](crate::LeaderElectionConfig).
    #[error("invalid leader election config: {0}")]
    InvalidConfig(String),
    /// No identity was configured and none could be found.
    #[error(
        "cannot tell this candidate's identity: set the POD_NAME environment variable (downward API: metadata.name) or the identity in the leader election config"
    )]
    NoIdentity,
    /// The API server refused access to the Lease (403).
    #[error(
        "not allowed to {verb} lease {namespace}/{name}: grant get, create, update on leases.coordination.k8s.io named {name} in namespace {namespace} (create cannot be limited by name: allow it on leases in {namespace})"
    )]
    Forbidden {
        /// The refused verb: `get`, `create` or `update`.
        verb: &'static str,
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A request about the Lease failed.
    #[error(
        "{action} lease {namespace}/{name} failed: {source}; check that the API server is reachable"
    )]
    Api {
        /// What was being done, e.g. `release`.
        action: &'static str,
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A request about the Lease did not answer in time.
    #[error(
        "{action} lease {namespace}/{name} timed out after {after:?}; check that the API server is reachable"
    )]
    Timeout {
        /// What was being done, e.g. `release`.
        action: &'static str,
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// How long it waited.
        after: Duration,
    },
    /// Shutdown was requested before the leadership was acquired.
    #[error(
        "shutdown was requested before the leadership of lease {namespace}/{name} was acquired"
    )]
    Shutdown {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
    },
}

/// Whether the API server answered 403 Forbidden.
pub(crate) fn is_forbidden(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_forbidden())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_rbac_rule_to_grant() {
        let source = kube::Error::Api(Box::new(
            kube::error::Status::failure("leases is forbidden", "Forbidden").with_code(403),
        ));
        assert!(is_forbidden(&source));
        let err = LeaderError::Forbidden {
            verb: "get",
            namespace: "event-keeper".into(),
            name: "leader".into(),
            source: Box::new(source),
        };
        let text = err.to_string();
        assert!(
            text.contains(
                "grant get, create, update on leases.coordination.k8s.io named leader in namespace event-keeper"
            ),
            "{text}"
        );
        assert!(
            text.starts_with("not allowed to get lease event-keeper/leader"),
            "{text}"
        );
    }

    #[test]
    fn other_api_errors_are_not_forbidden() {
        let conflict = kube::Error::Api(Box::new(
            kube::error::Status::failure("modified", "Conflict").with_code(409),
        ));
        assert!(!is_forbidden(&conflict));
    }
}
