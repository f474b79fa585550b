//! Loading recorded events: as-is with a new resourceVersion, or keeping the recorded ones.

use serde_json::Value;

use super::{SimCluster, SimError};
use crate::apiserver::convert::{EVENTS_V1, EventView, parse_event};
use crate::apiserver::model::CoreEvent;
use crate::apiserver::new_event::EventRef;
use crate::apiserver::object::{Body, Key};
use crate::apiserver::resource::Resource;
use crate::apiserver::stamp;

/// Parses a recorded event in whichever API's form it is (told apart by `apiVersion`).
fn parse_recorded(json: Value) -> Result<CoreEvent, SimError> {
    let view = match json.get("apiVersion").and_then(Value::as_str) {
        Some(EVENTS_V1) => EventView::EventsV1,
        _ => EventView::Core,
    };
    parse_event(json, view).map_err(|e| SimError::InvalidObject(e.to_string()))
}

impl SimCluster {
    /// Stores a recorded Event as it is (name, uid, timestamps, managedFields), with a new
    /// resourceVersion: ADDED, or MODIFIED if an event of that namespace and name exists.
    /// The JSON may be in either API's form (told apart by `apiVersion`); a missing namespace
    /// becomes `default`, a missing name or uid is generated.
    ///
    /// # Panics
    ///
    /// If the JSON is not an Event; [`try_insert_raw_event`](Self::try_insert_raw_event)
    /// returns the error instead.
    pub fn insert_raw_event(&self, core_v1_json: Value) -> EventRef {
        #[allow(clippy::expect_used)] // A test helper: a malformed recording is a test bug.
        self.try_insert_raw_event(core_v1_json)
            .expect("insert_raw_event needs a core/v1 or events.k8s.io/v1 Event")
    }

    /// [`insert_raw_event`](Self::insert_raw_event), reporting a malformed event as an error.
    ///
    /// # Errors
    ///
    /// [`SimError::InvalidObject`] when the JSON is not an Event.
    pub fn try_insert_raw_event(&self, json: Value) -> Result<EventRef, SimError> {
        let mut core = parse_recorded(json)?;
        let meta = &mut core.metadata;
        if meta.namespace.is_empty() {
            meta.namespace = "default".into();
        }
        if meta.name.is_empty() {
            meta.name = format!("{}.{}", core.involved_object.name, stamp::name_suffix());
        }
        if meta.uid.is_empty() {
            meta.uid = stamp::uid();
        }
        let key = Key(meta.namespace.clone(), meta.name.clone());
        let stored = self
            .shared
            .store
            .update(Resource::Events, &key, None, true, |_| {
                Ok(Body::Event(Box::new(core)))
            })
            .map_err(|e| SimError::InvalidObject(e.to_string()))?;
        Ok(EventRef::from_stored(&stored))
    }

    /// Loads recorded events keeping their resourceVersions, in resourceVersion order, as if
    /// this server had written them; the global resourceVersion becomes the largest. Use it to
    /// serve a recorded list back exactly (see the fixtures test); every resourceVersion must be
    /// newer than the server's current one.
    ///
    /// # Errors
    ///
    /// [`SimError::InvalidObject`] for an object that is not an Event, lacks a name or a numeric
    /// resourceVersion, or is not newer than the server; events before it stay loaded.
    pub fn restore_events(
        &self,
        events: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<EventRef>, SimError> {
        let mut parsed = Vec::new();
        for json in events {
            let core = parse_recorded(json)?;
            let rv: u64 = core.metadata.resource_version.parse().map_err(|_| {
                SimError::InvalidObject(format!(
                    "resourceVersion {:?} is not a number",
                    core.metadata.resource_version
                ))
            })?;
            if core.metadata.name.is_empty() {
                return Err(SimError::InvalidObject("no metadata.name".into()));
            }
            parsed.push((rv, core));
        }
        parsed.sort_by_key(|(rv, _)| *rv);
        parsed
            .into_iter()
            .map(|(rv, core)| {
                self.shared
                    .store
                    .put_at(Resource::Events, Body::Event(Box::new(core)), rv)
                    .map(|stored| EventRef::from_stored(&stored))
                    .map_err(|e| SimError::InvalidObject(e.to_string()))
            })
            .collect()
    }
}
