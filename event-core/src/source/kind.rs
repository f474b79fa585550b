//! The two Event kinds a source can watch, behind one trait.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use crate::{Event, NormalizeError};

/// A Kubernetes kind whose changes a source turns into [`Event`]s.
pub trait WatchedKind:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
    /// Normalizes one object into an occurrence.
    ///
    /// # Errors
    ///
    /// [`NormalizeError`] when the object cannot be identified.
    fn normalize(&self) -> Result<Event, NormalizeError>;

    /// The API handle for one namespace, or for all namespaces when `namespace` is `None`.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;
}

impl WatchedKind for CoreEvent {
    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        namespace.map_or_else(
            || Api::all(client.clone()),
            |ns| Api::namespaced(client.clone(), ns),
        )
    }

    fn normalize(&self) -> Result<Event, NormalizeError> {
        Event::from_core_v1(self)
    }
}

impl WatchedKind for EventsEvent {
    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        namespace.map_or_else(
            || Api::all(client.clone()),
            |ns| Api::namespaced(client.clone(), ns),
        )
    }

    fn normalize(&self) -> Result<Event, NormalizeError> {
        Event::from_events_v1(self)
    }
}
