//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`,
//! in the legacy form and, when the client asks for it, the aggregated form
//! (`apidiscovery.k8s.io/v2`).

use bytes::Bytes;
use hyper::{HeaderMap, Response, StatusCode, header};
use serde_json::{Value, json};

use super::resource::{ResourceDef, Route, VERBS};
use super::respond::{Ctx, ResBody, json};
use super::status::ApiError;

/// The Kubernetes version the server claims (the k8s-openapi feature the workspace builds).
const MAJOR: &str = "1";
const MINOR: &str = "33";

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Answers a discovery request.
///
/// # Errors
///
/// 404 for a path that is not a discovery document.
pub(crate) fn serve(
    ctx: &Ctx,
    route: &Route,
    headers: &HeaderMap,
    path: &str,
) -> Result<Response<ResBody>, ApiError> {
    let served = &ctx.shared.served;
    let aggregated = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("g=apidiscovery.k8s.io") && v.contains("v=v2"));
    let body = match route {
        Route::Version => version(),
        Route::CoreVersions if aggregated => return Ok(aggregated_response(served, true)),
        Route::CoreVersions => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{
                "clientCIDR": "0.0.0.0/0",
                "serverAddress": ctx.shared.addr.to_string(),
            }],
        }),
        Route::Groups if aggregated => return Ok(aggregated_response(served, false)),
        Route::Groups => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups(served).iter().map(|g| group(g)).collect::<Vec<_>>(),
        }),
        Route::Group(name) => {
            let mut g = group(name);
            if let Value::Object(map) = &mut g {
                map.insert("kind".into(), "APIGroup".into());
                map.insert("apiVersion".into(), "v1".into());
            }
            g
        }
        Route::Resources { group } => resource_list(served, group),
        _ => {
            tracing::debug!(path, "not a discovery path");
            return Err(ApiError::NoRoute);
        }
    };
    Ok(json(StatusCode::OK, Bytes::from(body.to_string())))
}

fn version() -> Value {
    json!({
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": format!("v{MAJOR}.{MINOR}.0"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// The non-core groups served, in order of first appearance.
fn groups(served: &[ResourceDef]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for d in served.iter().filter(|d| !d.group.is_empty()) {
        if !names.contains(&d.group) {
            names.push(d.group);
        }
    }
    names
}

fn group(name: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
}

fn resource_list(served: &[ResourceDef], group: &str) -> Value {
    let resources: Vec<Value> = served
        .iter()
        .filter(|d| d.group == group)
        .map(|d| {
            json!({
                "name": d.plural,
                "singularName": d.singular,
                "namespaced": d.namespaced,
                "kind": d.kind,
                "verbs": VERBS,
                "shortNames": d.short_names,
            })
        })
        .collect();
    let group_version = if group.is_empty() {
        "v1".to_owned()
    } else {
        format!("{group}/v1")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

fn aggregated_response(served: &[ResourceDef], core: bool) -> Response<ResBody> {
    let names: Vec<&str> = if core { vec![""] } else { groups(served) };
    let items: Vec<Value> = names
        .iter()
        .map(|name| {
            let resources: Vec<Value> = served
                .iter()
                .filter(|d| d.group == *name)
                .map(|d| {
                    json!({
                        "resource": d.plural,
                        "responseKind": {"group": d.group, "version": d.version, "kind": d.kind},
                        "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": d.singular,
                        "verbs": VERBS,
                        "shortNames": d.short_names,
                    })
                })
                .collect();
            let metadata = if name.is_empty() {
                json!({})
            } else {
                json!({"name": name})
            };
            json!({
                "metadata": metadata,
                "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
            })
        })
        .collect();
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    });
    let mut response = json(StatusCode::OK, Bytes::from(body.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(AGGREGATED),
    );
    response
}
