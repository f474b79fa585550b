//! GET, POST, PUT, PATCH and DELETE of single objects, with resourceVersion preconditions
//! (409 Conflict) as leader election and ConfigMap checkpoints rely on.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::convert::parse_event;
use super::object::{Body, Key, Stored};
use super::patch;
use super::resource::ResourceDef;
use super::respond::{Ctx, ResBody, json};
use super::stamp;
use super::stats::bump;
use super::status::{ApiError, Named, success_json};
use super::store::StoreError;

/// kube-apiserver's request body limit.
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The object a request names.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub def: ResourceDef,
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    fn key(&self) -> Key {
        Key(
            self.namespace.clone().unwrap_or_default(),
            self.name.clone(),
        )
    }

    fn error(&self, err: StoreError) -> ApiError {
        let named = Named::new(&self.def, self.name.clone());
        match err {
            StoreError::NotFound => ApiError::NotFound(named),
            StoreError::AlreadyExists => ApiError::AlreadyExists(named),
            StoreError::Conflict => ApiError::Conflict(named),
            StoreError::Invalid(message) => ApiError::Invalid(message),
        }
    }
}

fn respond(
    status: StatusCode,
    stored: &Stored,
    def: &ResourceDef,
) -> Result<Response<ResBody>, ApiError> {
    let body = stored
        .render(def, true)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json(status, body))
}

async fn read_body(req: Request<Incoming>) -> Result<(String, Bytes), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
        .unwrap_or_default();
    let bytes = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| ApiError::BadRequest(format!("reading the request body: {e}")))?
        .to_bytes();
    Ok((content_type, bytes))
}

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

fn meta_str<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A `metadata.resourceVersion` the client sent, as a precondition.
fn precondition(value: &Value) -> Result<Option<u64>, ApiError> {
    meta_str(value, "resourceVersion")
        .map(|rv| {
            rv.parse()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {rv:?}")))
        })
        .transpose()
}

/// Turns a client-supplied object into what is stored at `key`: identity set, `kind` and
/// `apiVersion` normalized, uid and creationTimestamp kept from `previous`.
///
/// # Errors
///
/// [`ApiError::BadRequest`] when the object is not a JSON object, names another kind, or
/// another name or namespace than the request.
pub(crate) fn prepare(
    def: &ResourceDef,
    value: Value,
    key: &Key,
    previous: Option<&Stored>,
) -> Result<Body, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the request body is not a JSON object".into(),
        ));
    }
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if field("kind").is_some_and(|k| k != def.kind)
        || field("apiVersion").is_some_and(|v| v != def.api_version())
    {
        return Err(ApiError::BadRequest(format!(
            "the object is not a {} of {}",
            def.kind,
            def.api_version()
        )));
    }
    if meta_str(&value, "namespace").is_some_and(|ns| def.namespaced && ns != key.0) {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    if meta_str(&value, "name").is_some_and(|n| n != key.1) {
        return Err(ApiError::BadRequest(
            "the name of the object does not match the name on the URL".into(),
        ));
    }
    let uid = previous.map_or_else(stamp::uid, |p| p.uid().to_owned());
    let created = match previous.map(Stored::body) {
        Some(Body::Event(ev)) => ev.metadata.creation_timestamp,
        Some(Body::Object(map)) => map
            .get("metadata")
            .and_then(|m| m.get("creationTimestamp"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        None => None,
    }
    .unwrap_or_else(|| stamp::time(Timestamp::now()));
    if let Some(view) = def.event_view() {
        let mut ev = parse_event(value, view)
            .map_err(|e| ApiError::BadRequest(format!("the object is not a valid Event: {e}")))?;
        ev.metadata.namespace = key.0.clone();
        ev.metadata.name = key.1.clone();
        ev.metadata.uid = uid;
        ev.metadata.creation_timestamp = Some(created);
        return Ok(Body::Event(Box::new(ev)));
    }
    let Value::Object(mut map) = value else {
        return Err(ApiError::BadRequest(
            "the request body is not a JSON object".into(),
        ));
    };
    map.insert("kind".into(), Value::String(def.kind.into()));
    map.insert("apiVersion".into(), Value::String(def.api_version()));
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Value::Object(meta) = metadata {
        meta.insert("name".into(), Value::String(key.1.clone()));
        if def.namespaced {
            meta.insert("namespace".into(), Value::String(key.0.clone()));
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), Value::String(uid));
        meta.insert("creationTimestamp".into(), Value::String(created));
        meta.remove("generateName");
    }
    Ok(Body::Object(map))
}

/// GET one object.
pub(crate) fn get(ctx: &Ctx, target: &Target) -> Result<Response<ResBody>, ApiError> {
    bump(&ctx.shared.stats.gets);
    let stored = ctx
        .shared
        .store
        .get(target.def.resource, &target.key())
        .ok_or_else(|| target.error(StoreError::NotFound))?;
    respond(StatusCode::OK, &stored, &target.def)
}

/// POST to a collection: 201 with the stored object, 409 if the name is taken.
pub(crate) async fn create(
    ctx: &Ctx,
    def: ResourceDef,
    namespace: Option<String>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, ApiError> {
    bump(&ctx.shared.stats.writes);
    if def.namespaced && namespace.is_none() {
        return Err(ApiError::MethodNotAllowed);
    }
    let (_, bytes) = read_body(req).await?;
    let value = parse(&bytes)?;
    let name = match (meta_str(&value, "name"), meta_str(&value, "generateName")) {
        (Some(name), _) => name.to_owned(),
        (None, Some(prefix)) => format!("{prefix}{}", stamp::name_suffix()),
        (None, None) => {
            return Err(ApiError::Invalid(format!(
                "{} is invalid: metadata.name: Required value: name or generateName is required",
                def.kind
            )));
        }
    };
    let target = Target {
        def,
        namespace,
        name,
    };
    let key = target.key();
    let body = prepare(&def, value, &key, None)?;
    let stored = ctx
        .shared
        .store
        .create(def.resource, body)
        .map_err(|e| target.error(e))?;
    respond(StatusCode::CREATED, &stored, &def)
}

/// PUT: replaces the object; a `metadata.resourceVersion` in the body must be the current one.
pub(crate) async fn replace(
    ctx: &Ctx,
    target: &Target,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, ApiError> {
    bump(&ctx.shared.stats.writes);
    let (_, bytes) = read_body(req).await?;
    let value = parse(&bytes)?;
    let precondition = precondition(&value)?;
    let key = target.key();
    let mut rejected = None;
    let stored =
        ctx.shared
            .store
            .update(target.def.resource, &key, precondition, false, |current| {
                prepare(&target.def, value, &key, current).map_err(|e| {
                    rejected = Some(e);
                    StoreError::Invalid(String::new())
                })
            });
    let stored = stored.map_err(|e| rejected.take().unwrap_or_else(|| target.error(e)))?;
    respond(StatusCode::OK, &stored, &target.def)
}

/// PATCH with a merge patch, a strategic merge patch (applied as a merge patch), a JSON patch,
/// or a server-side apply patch in JSON (applied as a merge patch that may create).
pub(crate) async fn patch(
    ctx: &Ctx,
    target: &Target,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, ApiError> {
    bump(&ctx.shared.stats.writes);
    let (content_type, bytes) = read_body(req).await?;
    let apply = content_type == "application/apply-patch+yaml";
    let json_patch = match content_type.as_str() {
        "application/json-patch+json" => true,
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => false,
        _ if apply => false,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
            )));
        }
    };
    let patch_value = serde_json::from_slice::<Value>(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "only JSON patch bodies are supported (YAML is not): {e}"
        ))
    })?;
    let precondition = if json_patch {
        None
    } else {
        precondition(&patch_value)?
    };
    let key = target.key();
    let def = target.def;
    let mut rejected = None;
    let mut existed = true;
    let mut fail = |e: ApiError| {
        rejected = Some(e);
        StoreError::Invalid(String::new())
    };
    let stored = ctx
        .shared
        .store
        .update(def.resource, &key, precondition, apply, |current| {
            existed = current.is_some();
            let mut doc = match current {
                Some(stored) => stored.to_value(&def),
                None => Value::Object(Map::new()),
            };
            if json_patch {
                patch::json_patch(&mut doc, &patch_value)
                    .map_err(|e| fail(ApiError::Invalid(e.to_string())))?;
            } else {
                patch::merge(&mut doc, &patch_value);
            }
            if let Some(Value::Object(meta)) = doc.get_mut("metadata") {
                meta.remove("resourceVersion");
            }
            prepare(&def, doc, &key, current).map_err(&mut fail)
        });
    let stored = stored.map_err(|e| rejected.take().unwrap_or_else(|| target.error(e)))?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    respond(status, &stored, &def)
}

/// DELETE, honouring `preconditions` (`uid`, `resourceVersion`) in the DeleteOptions body.
pub(crate) async fn delete(
    ctx: &Ctx,
    target: &Target,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, ApiError> {
    bump(&ctx.shared.stats.writes);
    let (_, bytes) = read_body(req).await?;
    let options = if bytes.is_empty() {
        Value::Null
    } else {
        parse(&bytes)?
    };
    let pre = options.get("preconditions");
    let want_rv = pre
        .and_then(|p| p.get("resourceVersion"))
        .and_then(Value::as_str)
        .map(|rv| {
            rv.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {rv:?}")))
        })
        .transpose()?;
    let want_uid = pre.and_then(|p| p.get("uid")).and_then(Value::as_str);
    let key = target.key();
    let store = &ctx.shared.store;
    if let Some(uid) = want_uid {
        let current = store
            .get(target.def.resource, &key)
            .ok_or_else(|| target.error(StoreError::NotFound))?;
        if current.uid() != uid {
            return Err(target.error(StoreError::Conflict));
        }
    }
    let deleted = store
        .delete(target.def.resource, &key, want_rv)
        .map_err(|e| target.error(e))?;
    Ok(json(
        StatusCode::OK,
        success_json(&target.def, &target.name, deleted.uid()),
    ))
}
