//! The resources the simulated server knows, and how a request path maps to one of them.

use super::convert::EventView;

/// A kind of stored object. Events are stored once and served by two API groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Resource {
    Events,
    Pods,
    Nodes,
    Namespaces,
    Services,
    PersistentVolumeClaims,
    ConfigMaps,
    Leases,
}

/// One resource as served by one group/version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResourceDef {
    pub resource: Resource,
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
}

/// Verbs every served resource answers (discovery lists them; see the crate docs for the gaps).
pub(crate) const VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

const fn def(
    resource: Resource,
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        resource,
        group,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names,
    }
}

/// The group of the new Events API.
pub(crate) const EVENTS_GROUP: &str = "events.k8s.io";
/// The group of leases.
pub(crate) const COORDINATION_GROUP: &str = "coordination.k8s.io";

/// Every resource the server can serve, core group first.
pub(crate) const ALL: &[ResourceDef] = &[
    def(
        Resource::ConfigMaps,
        "",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
    ),
    def(
        Resource::Events,
        "",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
    ),
    def(
        Resource::Namespaces,
        "",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
    ),
    def(Resource::Nodes, "", "nodes", "node", "Node", false, &["no"]),
    def(
        Resource::PersistentVolumeClaims,
        "",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
    ),
    def(Resource::Pods, "", "pods", "pod", "Pod", true, &["po"]),
    def(
        Resource::Services,
        "",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
    ),
    def(
        Resource::Leases,
        COORDINATION_GROUP,
        "leases",
        "lease",
        "Lease",
        true,
        &[],
    ),
    def(
        Resource::Events,
        EVENTS_GROUP,
        "events",
        "event",
        "Event",
        true,
        &["ev"],
    ),
];

impl ResourceDef {
    /// `group/version`, or just `version` for the core group.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// How events are rendered for this definition; `None` for other resources.
    pub(crate) fn event_view(&self) -> Option<EventView> {
        match (self.resource, self.group) {
            (Resource::Events, EVENTS_GROUP) => Some(EventView::EventsV1),
            (Resource::Events, _) => Some(EventView::Core),
            _ => None,
        }
    }

    /// `plural.group`, the name kube-apiserver uses in error messages (`leases.coordination.k8s.io`).
    pub(crate) fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Where a request path leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    Resources {
        group: String,
    },
    /// A collection: list, watch or create.
    Collection {
        def: ResourceDef,
        namespace: Option<String>,
    },
    /// One named object.
    Object {
        def: ResourceDef,
        namespace: Option<String>,
        name: String,
    },
    NotFound,
}

/// The resources served with the given configuration.
pub(crate) fn served(serve_events_v1: bool) -> Vec<ResourceDef> {
    ALL.iter()
        .filter(|d| serve_events_v1 || d.group != EVENTS_GROUP)
        .copied()
        .collect()
}

/// Maps a path to a [`Route`] among the `served` resources.
pub(crate) fn route(served: &[ResourceDef], path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", group] => {
            return if served.iter().any(|d| d.group == *group) {
                Route::Group((*group).to_owned())
            } else {
                Route::NotFound
            };
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Route::NotFound,
    };
    let in_group: Vec<&ResourceDef> = served
        .iter()
        .filter(|d| d.group == group && d.version == version)
        .collect();
    if in_group.is_empty() {
        return Route::NotFound;
    }
    let find = |plural: &str, namespaced: bool| {
        in_group
            .iter()
            .find(|d| d.plural == plural && d.namespaced == namespaced)
            .map(|d| **d)
    };
    let owned = |s: &str| s.to_owned();
    let found = match rest {
        [] => {
            return Route::Resources {
                group: group.to_owned(),
            };
        }
        // A namespaced resource across all namespaces, or a cluster-scoped collection.
        [plural] => in_group
            .iter()
            .find(|d| d.plural == *plural)
            .map(|d| Route::Collection {
                def: **d,
                namespace: None,
            }),
        ["namespaces", ns, plural] => find(plural, true).map(|def| Route::Collection {
            def,
            namespace: Some(owned(ns)),
        }),
        ["namespaces", ns, plural, name] => find(plural, true).map(|def| Route::Object {
            def,
            namespace: Some(owned(ns)),
            name: owned(name),
        }),
        [plural, name] => find(plural, false).map(|def| Route::Object {
            def,
            namespace: None,
            name: owned(name),
        }),
        _ => None,
    };
    found.unwrap_or(Route::NotFound)
}

/// Finds the definition for an `apiVersion` + `kind` pair (for events, the view it names).
pub(crate) fn by_kind(api_version: &str, kind: &str) -> Option<ResourceDef> {
    ALL.iter()
        .find(|d| d.kind == kind && d.api_version() == api_version)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ResourceDef> {
        served(true)
    }

    #[test]
    fn namespaced_and_cluster_wide_event_paths_resolve_in_both_groups() {
        let r = route(&all(), "/api/v1/events");
        assert!(
            matches!(r, Route::Collection { def, namespace: None } if def.event_view() == Some(EventView::Core))
        );
        let r = route(&all(), "/apis/events.k8s.io/v1/namespaces/demo/events");
        assert!(
            matches!(r, Route::Collection { def, namespace: Some(ns) } if ns == "demo" && def.event_view() == Some(EventView::EventsV1))
        );
        let r = route(&all(), "/api/v1/namespaces/demo/events/web.1");
        assert!(matches!(r, Route::Object { name, .. } if name == "web.1"));
    }

    #[test]
    fn a_namespace_object_is_not_mistaken_for_a_collection() {
        let r = route(&all(), "/api/v1/namespaces/demo");
        assert!(
            matches!(r, Route::Object { def, namespace: None, name } if def.resource == Resource::Namespaces && name == "demo")
        );
        let r = route(&all(), "/api/v1/nodes/node-1");
        assert!(matches!(r, Route::Object { def, .. } if def.resource == Resource::Nodes));
    }

    #[test]
    fn unknown_paths_and_a_disabled_group_are_not_found() {
        assert_eq!(route(&all(), "/api/v2/events"), Route::NotFound);
        assert_eq!(
            route(&all(), "/api/v1/namespaces/demo/secrets"),
            Route::NotFound
        );
        assert_eq!(route(&all(), "/healthz/etcd"), Route::NotFound);
        assert_eq!(
            route(&all(), "/api/v1/namespaces/demo/pods/p/status"),
            Route::NotFound
        );
        let without = served(false);
        assert_eq!(
            route(&without, "/apis/events.k8s.io/v1/events"),
            Route::NotFound
        );
        assert_eq!(route(&without, "/apis/events.k8s.io"), Route::NotFound);
        assert!(matches!(
            route(&without, "/api/v1/events"),
            Route::Collection { .. }
        ));
    }

    #[test]
    fn kinds_resolve_by_api_version() {
        assert_eq!(
            by_kind("coordination.k8s.io/v1", "Lease").unwrap().resource,
            Resource::Leases
        );
        assert_eq!(
            by_kind("events.k8s.io/v1", "Event").unwrap().event_view(),
            Some(EventView::EventsV1)
        );
        assert!(by_kind("v1", "Lease").is_none());
    }
}
