//! The kinds a source can watch, behind one trait: the two Event kinds, and the objects whose
//! changes are exported as events ([`ObjectKind`]).

use std::fmt::{self, Debug};

use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, Pod, Service};
use kube::{Api, Client, Resource};
use serde::{Deserialize, Serialize};

use super::event_object::{CoreV1Event, EventsV1Event};
use super::lenient::{Lenient, LenientDecode};
use crate::event::Change;
use crate::{Event, NormalizeError};

/// A Kubernetes kind whose changes a source turns into [`Event`]s.
pub trait WatchedKind:
    Resource<DynamicType = ()> + LenientDecode + Clone + Debug + Send + Sync + 'static
{
    /// Whether a change of this kind is an object change: DELETED is exported (as `Deleted`)
    /// and the reason tells an addition from a modification. `false` for Events, whose
    /// deletion is their TTL expiring.
    const OBJECT_CHANGES: bool = false;

    /// What to do when the API server refuses to list or watch this kind (HTTP 403).
    const FORBIDDEN_HINT: &'static str = "; the service account may not list/watch events: grant get, list and watch on events (see deploy/rbac.yaml)";

    /// Turns one object into an occurrence; `change` is what the notification said (Events
    /// ignore it: each of their versions is an occurrence of the event).
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object cannot be identified.
    fn into_event(self, change: Change) -> Result<Event, NormalizeError>;

    /// The API handle for one namespace, or for all namespaces when `namespace` is `None`
    /// (cluster-scoped kinds ignore `namespace`). Objects are decoded one at a time
    /// ([`Lenient`]), so one that does not decode fails neither a list nor a watch.
    fn api(client: Client, namespace: Option<&str>) -> Api<Lenient<Self>>;
}

impl WatchedKind for CoreV1Event {
    fn api(client: Client, namespace: Option<&str>) -> Api<Lenient<Self>> {
        in_namespace(client, namespace)
    }

    fn into_event(self, _change: Change) -> Result<Event, NormalizeError> {
        CoreV1Event::into_event(self)
    }
}

impl WatchedKind for EventsV1Event {
    fn api(client: Client, namespace: Option<&str>) -> Api<Lenient<Self>> {
        in_namespace(client, namespace)
    }

    fn into_event(self, _change: Change) -> Result<Event, NormalizeError> {
        EventsV1Event::into_event(self)
    }
}

macro_rules! object_kind {
    ($ty:ty, $plural:literal, $api:ident) => {
        impl WatchedKind for $ty {
            const OBJECT_CHANGES: bool = true;
            const FORBIDDEN_HINT: &'static str = concat!(
                "; the service account may not list/watch ",
                $plural,
                ": grant list and watch on ",
                $plural,
                " (see deploy/rbac.yaml)"
            );

            fn into_event(self, change: Change) -> Result<Event, NormalizeError> {
                Event::from_object_change(&self, change)
            }

            fn api(client: Client, namespace: Option<&str>) -> Api<Lenient<Self>> {
                $api(client, namespace)
            }
        }
    };
}

object_kind!(Pod, "pods", in_namespace);
object_kind!(Service, "services", in_namespace);
object_kind!(
    PersistentVolumeClaim,
    "persistentvolumeclaims",
    in_namespace
);
object_kind!(Node, "nodes", cluster_wide);
object_kind!(Namespace, "namespaces", cluster_wide);

fn in_namespace<K>(client: Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    namespace.map_or_else(
        || Api::all(client.clone()),
        |ns| Api::namespaced(client.clone(), ns),
    )
}

fn cluster_wide<K: Resource<DynamicType = ()>>(client: Client, _namespace: Option<&str>) -> Api<K> {
    Api::all(client)
}

/// A kind of object whose changes (added, modified, deleted) a source exports as events, next to
/// the Events themselves; the `objects` key of [`EventStreamConfig`](super::EventStreamConfig).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ObjectKind {
    /// `pods` (namespaced).
    Pods,
    /// `nodes` (cluster-scoped).
    Nodes,
    /// `namespaces` (cluster-scoped).
    Namespaces,
    /// `services` (namespaced).
    Services,
    /// `persistentvolumeclaims` (namespaced).
    PersistentVolumeClaims,
}

impl ObjectKind {
    /// Every kind, in the order above.
    pub const ALL: [ObjectKind; 5] = [
        ObjectKind::Pods,
        ObjectKind::Nodes,
        ObjectKind::Namespaces,
        ObjectKind::Services,
        ObjectKind::PersistentVolumeClaims,
    ];

    /// The resource's plural name, as in the config and in RBAC rules (`pods`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Pods => "pods",
            ObjectKind::Nodes => "nodes",
            ObjectKind::Namespaces => "namespaces",
            ObjectKind::Services => "services",
            ObjectKind::PersistentVolumeClaims => "persistentvolumeclaims",
        }
    }

    /// Whether objects of this kind live in a namespace (and are watched per namespace when the
    /// source is limited to some).
    pub fn is_namespaced(self) -> bool {
        !matches!(self, ObjectKind::Nodes | ObjectKind::Namespaces)
    }

    /// The ledger source key of the watch of this kind in `namespace` (`None`: all namespaces):
    /// `pods@*`, `pods@payments`, and `nodes` for a cluster-scoped kind.
    pub fn source_key(self, namespace: Option<&str>) -> String {
        match (self.is_namespaced(), namespace) {
            (false, _) => self.as_str().to_owned(),
            (true, ns) => format!("{}@{}", self.as_str(), ns.unwrap_or("*")),
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_kinds_use_the_resource_plural_names_in_config() {
        for kind in ObjectKind::ALL {
            let parsed: ObjectKind = serde_json::from_value(kind.as_str().into()).unwrap();
            assert_eq!(parsed, kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!(serde_json::from_value::<ObjectKind>("configmaps".into()).is_err());
    }

    #[test]
    fn cluster_scoped_kinds_have_one_source_key_whatever_the_namespace() {
        assert_eq!(ObjectKind::Pods.source_key(None), "pods@*");
        assert_eq!(
            ObjectKind::Pods.source_key(Some("payments")),
            "pods@payments"
        );
        assert_eq!(ObjectKind::Nodes.source_key(Some("payments")), "nodes");
        assert_eq!(ObjectKind::Namespaces.source_key(None), "namespaces");
    }

    #[test]
    fn a_forbidden_watch_names_the_resource_to_grant() {
        assert!(<Pod as WatchedKind>::FORBIDDEN_HINT.contains("watch on pods"));
        assert!(<EventsV1Event as WatchedKind>::FORBIDDEN_HINT.contains("on events"));
        const { assert!(<Node as WatchedKind>::OBJECT_CHANGES) };
        const { assert!(!<CoreV1Event as WatchedKind>::OBJECT_CHANGES) };
    }
}
