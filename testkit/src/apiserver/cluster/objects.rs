//! Objects other than events (pods, nodes, configmaps, leases, ...), set up by tests directly.

use serde_json::Value;

use super::{SimCluster, SimError};
use crate::apiserver::crud::prepare;
use crate::apiserver::object::Key;
use crate::apiserver::resource::{self, ResourceDef};
use crate::apiserver::status::ApiError;
use crate::apiserver::store::StoreError;

fn meta<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl SimCluster {
    /// Creates or replaces an object of a kind the server serves (pods, nodes, namespaces,
    /// services, persistentvolumeclaims, configmaps, leases, events): ADDED or MODIFIED to
    /// watches. Returns the stored object, with its uid and new resourceVersion.
    ///
    /// # Errors
    ///
    /// [`SimError`] for an unknown kind or an object without `metadata.name`.
    pub fn apply_object(
        &self,
        api_version: &str,
        kind: &str,
        object: Value,
    ) -> Result<Value, SimError> {
        let def = self.def(api_version, kind)?;
        let name = meta(&object, "name")
            .ok_or_else(|| SimError::InvalidObject("no metadata.name".into()))?;
        let namespace = if def.namespaced {
            meta(&object, "namespace").unwrap_or("default")
        } else {
            ""
        };
        let key = Key(namespace.to_owned(), name.to_owned());
        let mut rejected: Option<ApiError> = None;
        let stored = self
            .shared
            .store
            .update(def.resource, &key, None, true, |current| {
                prepare(&def, object, &key, current).map_err(|e| {
                    let message = e.to_string();
                    rejected = Some(e);
                    StoreError::Invalid(message)
                })
            });
        let stored = stored.map_err(|e| {
            SimError::InvalidObject(rejected.map_or(e.to_string(), |r| r.to_string()))
        })?;
        Ok(stored.to_value(&def))
    }

    /// Deletes an object (DELETED to watches); `false` if it did not exist or the kind is unknown.
    /// `namespace` is ignored for cluster-scoped kinds.
    pub fn delete_object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        let Ok(def) = self.def(api_version, kind) else {
            return false;
        };
        let ns = if def.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        self.shared
            .store
            .delete(def.resource, &Key(ns.to_owned(), name.to_owned()), None)
            .is_ok()
    }

    /// The current object, with `kind` and `apiVersion`; `None` if it does not exist.
    pub fn object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let def = self.def(api_version, kind).ok()?;
        let ns = if def.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        let stored = self
            .shared
            .store
            .get(def.resource, &Key(ns.to_owned(), name.to_owned()))?;
        Some(stored.to_value(&def))
    }

    fn def(&self, api_version: &str, kind: &str) -> Result<ResourceDef, SimError> {
        resource::by_kind(api_version, kind)
            .filter(|d| self.shared.served.contains(d))
            .ok_or_else(|| SimError::UnknownKind {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
            })
    }
}
