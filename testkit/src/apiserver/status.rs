//! `metav1.Status` error bodies, worded as kube-apiserver words them.

use bytes::Bytes;
use serde::Serialize;

use super::resource::ResourceDef;

/// A failed request, rendered as an HTTP status with a Status body.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("the server could not find the requested resource")]
    NoRoute,
    #[error("{0} not found")]
    NotFound(Box<Named>),
    #[error("{0} already exists")]
    AlreadyExists(Box<Named>),
    #[error(
        "Operation cannot be fulfilled on {0}: the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict(Box<Named>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Expired(String),
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the server is currently unable to handle the request")]
    Unavailable,
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(Box<Forbidden>),
    /// A list at a resourceVersion the server has not reached, after waiting for it.
    #[error("Timeout: Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion { requested: u64, current: u64 },
    #[error("{0}")]
    Internal(String),
}

/// The object an error is about: `leases.coordination.k8s.io "leader"` in messages.
#[derive(Debug)]
pub(crate) struct Named {
    group: &'static str,
    plural: &'static str,
    name: String,
}

impl Named {
    pub(crate) fn new(def: &ResourceDef, name: impl Into<String>) -> Box<Named> {
        Box::new(Named {
            group: def.group,
            plural: def.plural,
            name: name.into(),
        })
    }
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{} {:?}", self.plural, self.name)
        } else {
            write!(f, "{}.{} {:?}", self.plural, self.group, self.name)
        }
    }
}

/// The user named in 403 messages: the kubeconfig that
/// [`SimCluster::write_kubeconfig`](super::SimCluster::write_kubeconfig) writes has no
/// credentials, so a real server would see an anonymous user.
const USER: &str = "system:anonymous";

/// A 403's subject: the request RBAC did not allow.
#[derive(Debug)]
pub(crate) struct Forbidden {
    def: ResourceDef,
    name: String,
    verb: &'static str,
    namespace: Option<String>,
}

impl Forbidden {
    pub(crate) fn new(
        def: ResourceDef,
        name: String,
        verb: &'static str,
        namespace: Option<String>,
    ) -> Box<Forbidden> {
        Box::new(Forbidden {
            def,
            name,
            verb,
            namespace,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn group(&self) -> &'static str {
        self.def.group
    }

    pub(crate) fn plural(&self) -> &'static str {
        self.def.plural
    }
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ResourceDef { group, plural, .. } = self.def;
        if group.is_empty() {
            f.write_str(plural)?;
        } else {
            write!(f, "{plural}.{group}")?;
        }
        if !self.name.is_empty() {
            write!(f, " {:?}", self.name)?;
        }
        write!(
            f,
            " is forbidden: User {USER:?} cannot {} resource {plural:?} in API group {group:?} ",
            self.verb
        )?;
        match &self.namespace {
            Some(ns) => write!(f, "in the namespace {ns:?}"),
            None => f.write_str("at the cluster scope"),
        }
    }
}

impl ApiError {
    /// HTTP status code.
    pub(crate) fn code(&self) -> u16 {
        match self {
            ApiError::NoRoute | ApiError::NotFound(_) => 404,
            ApiError::AlreadyExists(_) | ApiError::Conflict(_) => 409,
            ApiError::BadRequest(_) => 400,
            ApiError::Invalid(_) => 422,
            ApiError::Expired(_) => 410,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Unavailable => 503,
            ApiError::TooLargeResourceVersion { .. } => 504,
            ApiError::Internal(_) => 500,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::NoRoute | ApiError::NotFound(_) => "NotFound",
            ApiError::AlreadyExists(_) => "AlreadyExists",
            ApiError::Conflict(_) => "Conflict",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Invalid(_) => "Invalid",
            ApiError::Expired(_) => "Expired",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Unavailable => "ServiceUnavailable",
            ApiError::TooLargeResourceVersion { .. } => "Timeout",
            ApiError::Internal(_) => "InternalError",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
        }
    }

    fn details(&self) -> Option<Details<'_>> {
        match self {
            ApiError::NotFound(named)
            | ApiError::AlreadyExists(named)
            | ApiError::Conflict(named) => Some(Details {
                name: &named.name,
                group: named.group,
                kind: named.plural,
                ..Details::default()
            }),
            ApiError::Forbidden(forbidden) => Some(Details {
                name: forbidden.name(),
                group: forbidden.group(),
                kind: forbidden.plural(),
                ..Details::default()
            }),
            ApiError::NoRoute | ApiError::Unavailable => Some(Details::default()),
            // kube-apiserver's `NewTimeoutError` with no retry hint: no retryAfterSeconds.
            ApiError::TooLargeResourceVersion { .. } => Some(Details {
                causes: &[Cause {
                    reason: "ResourceVersionTooLarge",
                    message: "Too large resource version",
                }],
                ..Details::default()
            }),
            _ => None,
        }
    }

    /// The Status object as JSON.
    pub(crate) fn to_json(&self) -> Bytes {
        let message = self.to_string();
        status_json(&Status {
            kind: "Status",
            api_version: "v1",
            metadata: Empty {},
            status: "Failure",
            message: &message,
            reason: self.reason(),
            details: self.details(),
            code: self.code(),
        })
    }
}

/// `{"kind":"Status",...,"status":"Success"}` for a deletion, with the object's identity.
pub(crate) fn success_json(def: &ResourceDef, name: &str, uid: &str) -> Bytes {
    #[derive(Serialize)]
    struct SuccessDetails<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "str::is_empty")]
        group: &'a str,
        kind: &'a str,
        uid: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a> {
        kind: &'a str,
        api_version: &'a str,
        metadata: Empty,
        status: &'a str,
        details: SuccessDetails<'a>,
    }
    let body = Success {
        kind: "Status",
        api_version: "v1",
        metadata: Empty {},
        status: "Success",
        details: SuccessDetails {
            name,
            group: def.group,
            kind: def.plural,
            uid,
        },
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .unwrap_or_default()
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize, Default)]
struct Details<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    group: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    causes: &'a [Cause],
}

/// `metav1.StatusCause`: why a request failed, in machine-readable form.
#[derive(Serialize)]
struct Cause {
    reason: &'static str,
    message: &'static str,
}

/// `metav1.Status` in Go's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    kind: &'a str,
    api_version: &'a str,
    metadata: Empty,
    status: &'a str,
    message: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details<'a>>,
    code: u16,
}

fn status_json(status: &Status<'_>) -> Bytes {
    // Only strings and integers: serialization cannot fail.
    serde_json::to_vec(status)
        .map(Bytes::from)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::resource::{ALL, Resource};
    use super::*;

    fn lease() -> ResourceDef {
        *ALL.iter().find(|d| d.resource == Resource::Leases).unwrap()
    }

    #[test]
    fn conflict_names_the_qualified_resource_like_the_real_server() {
        let err = ApiError::Conflict(Named::new(&lease(), "leader"));
        let v: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
        assert_eq!(v["code"], 409);
        assert_eq!(v["reason"], "Conflict");
        assert_eq!(
            v["message"],
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"leader\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(v["details"]["group"], "coordination.k8s.io");
        assert_eq!(v["details"]["kind"], "leases");
    }

    #[test]
    fn an_unknown_path_is_a_404_status_in_go_field_order() {
        let body = ApiError::NoRoute.to_json();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#
        );
    }
}
