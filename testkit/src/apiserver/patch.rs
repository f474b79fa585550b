//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902), the PATCH bodies kube-rs sends.

use serde_json::{Map, Value};

/// Why a JSON patch could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PatchError {
    #[error("the patch is not a list of operations")]
    NotAList,
    #[error("unsupported or malformed patch operation: {0}")]
    BadOperation(String),
    #[error("path {0:?} does not exist")]
    NoPath(String),
    #[error("testing value at {0:?} failed")]
    TestFailed(String),
}

/// Applies a JSON merge patch: objects merge key by key, `null` deletes, anything else replaces.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Applies a JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`), all or nothing.
///
/// # Errors
///
/// [`PatchError`] when an operation is malformed, a path is missing, or a `test` fails.
pub(crate) fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = patch.as_array().ok_or(PatchError::NotAList)?;
    let mut result = target.clone();
    for op in ops {
        let field = |name: &str| op.get(name).and_then(Value::as_str);
        let path = field("path").ok_or_else(|| PatchError::BadOperation(op.to_string()))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| PatchError::BadOperation(op.to_string()))
        };
        let from = || field("from").ok_or_else(|| PatchError::BadOperation(op.to_string()));
        match field("op") {
            Some("add") => add(&mut result, path, value()?)?,
            Some("remove") => {
                remove(&mut result, path)?;
            }
            Some("replace") => {
                let slot = result
                    .pointer_mut(path)
                    .ok_or_else(|| PatchError::NoPath(path.to_owned()))?;
                *slot = value()?;
            }
            Some("test") => {
                if result.pointer(path) != Some(&value()?) {
                    return Err(PatchError::TestFailed(path.to_owned()));
                }
            }
            Some("move") => {
                let moved = remove(&mut result, from()?)?;
                add(&mut result, path, moved)?;
            }
            Some("copy") => {
                let from = from()?;
                let copied = result
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| PatchError::NoPath(from.to_owned()))?;
                add(&mut result, path, copied)?;
            }
            _ => return Err(PatchError::BadOperation(op.to_string())),
        }
    }
    *target = result;
    Ok(())
}

/// Splits a JSON pointer into its parent pointer and its unescaped last token.
fn split(path: &str) -> Result<(&str, String), PatchError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| PatchError::NoPath(path.to_owned()))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match target.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) if last == "-" => {
            items.push(value);
            Ok(())
        }
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i <= items.len() => {
                items.insert(i, value);
                Ok(())
            }
            _ => Err(PatchError::NoPath(path.to_owned())),
        },
        _ => Err(PatchError::NoPath(path.to_owned())),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = split(path)?;
    let removed = match target.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&last),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => Some(items.remove(i)),
            _ => None,
        },
        _ => None,
    };
    removed.ok_or_else(|| PatchError::NoPath(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_deletes_nulls_and_replaces_arrays() {
        let mut doc = json!({"data": {"a": "1", "b": "2"}, "list": [1, 2], "keep": true});
        merge(
            &mut doc,
            &json!({"data": {"a": null, "c": "3"}, "list": [3]}),
        );
        assert_eq!(
            doc,
            json!({"data": {"b": "2", "c": "3"}, "list": [3], "keep": true})
        );
    }

    #[test]
    fn json_patch_applies_all_operations_or_none() {
        let mut doc = json!({"metadata": {"resourceVersion": "5"}, "spec": {"holderIdentity": "a", "list": [1]}});
        let ok = json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": "5"},
            {"op": "replace", "path": "/spec/holderIdentity", "value": "b"},
            {"op": "add", "path": "/spec/list/-", "value": 2},
            {"op": "copy", "from": "/spec/holderIdentity", "path": "/spec/previous"},
            {"op": "move", "from": "/spec/previous", "path": "/spec/last"},
            {"op": "remove", "path": "/spec/list/0"}
        ]);
        json_patch(&mut doc, &ok).unwrap();
        assert_eq!(
            doc["spec"],
            json!({"holderIdentity": "b", "list": [2], "last": "b"})
        );
        let before = doc.clone();
        let failing = json!([
            {"op": "replace", "path": "/spec/holderIdentity", "value": "c"},
            {"op": "test", "path": "/metadata/resourceVersion", "value": "4"}
        ]);
        assert_eq!(
            json_patch(&mut doc, &failing),
            Err(PatchError::TestFailed("/metadata/resourceVersion".into()))
        );
        assert_eq!(doc, before);
    }

    #[test]
    fn json_patch_rejects_missing_paths_and_unknown_ops() {
        let mut doc = json!({"a": 1});
        assert!(json_patch(&mut doc, &json!([{"op": "remove", "path": "/b"}])).is_err());
        assert!(json_patch(&mut doc, &json!([{"op": "frobnicate", "path": "/a"}])).is_err());
        assert!(json_patch(&mut doc, &json!({"op": "add"})).is_err());
    }
}
