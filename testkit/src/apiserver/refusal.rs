//! [`Refusal`]: answering `401 Unauthorized` or `403 Forbidden` as kube-apiserver does for
//! credentials it does not accept or a user that RBAC does not allow.

use hyper::Method;

use super::query::Query;
use super::resource::Route;
use super::status::{ApiError, Forbidden};

/// How the simulated API server refuses requests; see
/// [`SimCluster::set_refusal`](super::SimCluster::set_refusal).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use testkit::{Refusal, SimCluster, SimConfig};
///
/// let cluster = SimCluster::start(SimConfig::default()).await?;
/// cluster.set_refusal(Some(Refusal::Forbidden));
/// let events: kube::Api<k8s_openapi::api::core::v1::Event> = kube::Api::all(cluster.client());
/// let refused = events.list(&Default::default()).await.unwrap_err();
/// assert!(matches!(refused, kube::Error::Api(status) if status.code == 403));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Every request, discovery included, is answered 401 with the Status body
    /// kube-apiserver sends when no authenticator accepts the credentials (an expired or
    /// revoked token, another cluster's certificate).
    Unauthorized,
    /// Every request for a resource is answered 403, its message naming the user, the verb,
    /// the resource and the namespace as RBAC's authorizer words it. Discovery still answers:
    /// the default `system:discovery` binding lets every user read it.
    Forbidden,
}

/// The refusal of a request to `route` with `method`, if `refusal` refuses it.
pub(crate) fn check(
    refusal: Option<Refusal>,
    route: &Route,
    method: &Method,
    query: &Query,
) -> Result<(), ApiError> {
    let (def, namespace, name) = match (refusal, route) {
        (None, _) => return Ok(()),
        (Some(Refusal::Unauthorized), _) => return Err(ApiError::Unauthorized),
        (Some(Refusal::Forbidden), Route::Collection { def, namespace }) => {
            (*def, namespace.clone(), String::new())
        }
        (
            Some(Refusal::Forbidden),
            Route::Object {
                def,
                namespace,
                name,
            },
        ) => (*def, namespace.clone(), name.clone()),
        (Some(Refusal::Forbidden), _) => return Ok(()),
    };
    let verb = match (*method == Method::GET, name.is_empty()) {
        (true, true) if query.flag("watch") => "watch",
        (true, true) => "list",
        (true, false) => "get",
        _ => match *method {
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE if name.is_empty() => "deletecollection",
            Method::DELETE => "delete",
            _ => "get",
        },
    };
    Err(ApiError::Forbidden(Forbidden::new(
        def, name, verb, namespace,
    )))
}

#[cfg(test)]
mod tests {
    use super::super::resource::{ALL, Resource, ResourceDef};
    use super::*;

    fn def(resource: Resource) -> ResourceDef {
        *ALL.iter().find(|d| d.resource == resource).unwrap()
    }

    #[test]
    fn a_forbidden_list_reads_as_rbac_words_it() {
        let route = Route::Collection {
            def: def(Resource::Events),
            namespace: None,
        };
        let err = check(
            Some(Refusal::Forbidden),
            &route,
            &Method::GET,
            &Query::default(),
        )
        .unwrap_err();
        let body: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
        assert_eq!(body["code"], 403);
        assert_eq!(body["reason"], "Forbidden");
        assert_eq!(
            body["message"],
            "events is forbidden: User \"system:anonymous\" cannot list resource \"events\" in API group \"\" at the cluster scope"
        );
        assert_eq!(body["details"]["kind"], "events");
    }

    #[test]
    fn a_forbidden_named_object_names_it_and_its_namespace() {
        let route = Route::Object {
            def: def(Resource::Leases),
            namespace: Some("ops".into()),
            name: "event-keeper".into(),
        };
        let err = check(
            Some(Refusal::Forbidden),
            &route,
            &Method::PUT,
            &Query::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "leases.coordination.k8s.io \"event-keeper\" is forbidden: User \"system:anonymous\" cannot update resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"ops\""
        );
    }

    #[test]
    fn unauthorized_is_the_bare_status_a_real_server_sends() {
        let err = check(
            Some(Refusal::Unauthorized),
            &Route::Groups,
            &Method::GET,
            &Query::default(),
        )
        .unwrap_err();
        assert_eq!(
            std::str::from_utf8(&err.to_json()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
    }

    #[test]
    fn forbidden_leaves_discovery_open() {
        assert!(
            check(
                Some(Refusal::Forbidden),
                &Route::Groups,
                &Method::GET,
                &Query::default()
            )
            .is_ok()
        );
    }
}
