//! [`EventStream`]: a channel fed by one watching task per scope.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, Pod, Service};
use kube::Client;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::answered::reporting_client;
use super::event_object::{CoreV1Event, EventsV1Event};
use super::kind::{ObjectKind, WatchedKind};
use super::scope::{Scope, Selectors};
use super::{ApiChoice, EventStreamConfig, WatchError};
use crate::checkpoint::Ledger;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::{EventApi, Tracked};

/// A stream of every new occurrence of Kubernetes Events, resumable from a checkpoint.
///
/// Yields `Result<Tracked, WatchError>`; errors are informational (the stream retries by
/// itself). Filter it with [`EventStreamExt`](crate::EventStreamExt) or any stream operator, and
/// run it into sinks with a [`Pipeline`](crate::Pipeline). Dropping the stream stops every watch.
///
/// [`EventStream::connect`] watches from now, with nothing saved; [`Keeper::watch`](crate::Keeper::watch)
/// resumes from a checkpoint and binds the stream to it.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::{EventStream, EventStreamConfig};
/// use futures::StreamExt;
///
/// let client = kube::Client::try_default().await?;
/// let config = EventStreamConfig::default().namespaces(["payments"]);
/// let mut events = EventStream::connect(client, config).await?;
/// while let Some(item) = events.next().await {
///     if let Ok(event) = item {
///         println!("{} {}", event.reason, event.message);
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct EventStream {
    rx: mpsc::Receiver<Result<Tracked, WatchError>>,
    api: EventApi,
    /// The source key of every scope, told stopped when the stream is dropped.
    scopes: Vec<Arc<str>>,
    /// Closed for these scopes when the stream is dropped, so that what it still buffers is
    /// replayed rather than counted as filtered out.
    ledger: Ledger,
    health: Health,
    // Dropping the set aborts the watch tasks.
    _tasks: JoinSet<()>,
}

impl EventStream {
    /// Resolves which Events API to watch and starts one watch per scope: the Events of each
    /// namespace (or of all), then each kind of [`objects`](EventStreamConfig::objects), per
    /// namespace for a namespaced kind, once for a cluster-scoped one.
    ///
    /// Starts from now, with nothing saved or resumed; use [`Keeper::watch`](crate::Keeper::watch)
    /// for a stream that resumes from a checkpoint and reports to metrics and readiness.
    ///
    /// # Errors
    ///
    /// [`WatchError::Discovery`] when `api` is `auto` and discovery fails for a reason other than
    /// the API being absent.
    pub async fn connect(client: Client, config: EventStreamConfig) -> Result<Self, WatchError> {
        let keeper = crate::Keeper::in_memory();
        keeper.watch(client, config).await
    }

    /// Starts the watches, offering occurrences to `ledger`; each scope registers in `health`
    /// and reports its readiness there.
    pub(crate) async fn start(
        client: Client,
        config: EventStreamConfig,
        ledger: Ledger,
        (metrics, health): (Metrics, Health),
    ) -> Result<Self, WatchError> {
        let api = resolve_api(&client, config.api).await?;
        let (tx, rx) = mpsc::channel(config.buffer.max(1));
        let namespaces: Vec<Option<String>> = if config.namespaces.is_empty() {
            vec![None]
        } else {
            config.namespaces.iter().cloned().map(Some).collect()
        };
        let mut objects = config.objects.clone();
        objects.sort_unstable();
        objects.dedup();
        let events = Selectors {
            labels: config.label_selector.clone(),
            fields: config.field_selector.clone(),
        };
        let mut spawner = Spawner {
            tasks: JoinSet::new(),
            keys: Vec::new(),
            client,
            config: Arc::new(config),
            ledger,
            metrics,
            health,
            tx,
        };
        for namespace in &namespaces {
            let key = format!("events@{}", namespace.as_deref().unwrap_or("*"));
            let ns = namespace.as_deref();
            match api {
                EventApi::CoreV1 => spawner.spawn::<CoreV1Event>(ns, key, events.clone()),
                _ => spawner.spawn::<EventsV1Event>(ns, key, events.clone()),
            }
        }
        for kind in objects {
            let scopes: &[Option<String>] = if kind.is_namespaced() {
                &namespaces
            } else {
                &[None]
            };
            for namespace in scopes {
                spawner.spawn_object(kind, namespace.as_deref());
            }
        }
        tracing::info!(api = %api, scopes = spawner.tasks.len(), "watching events");
        Ok(EventStream {
            rx,
            api,
            scopes: spawner.keys,
            ledger: spawner.ledger,
            health: spawner.health,
            _tasks: spawner.tasks,
        })
    }

    /// The Events API this stream watches.
    pub fn api(&self) -> EventApi {
        self.api
    }

    /// The ledger source key of every watch scope, e.g. `events@*`, `pods@payments`, `nodes`.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(|s| &**s)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // Before the channel (a field) is dropped with the occurrences it still holds.
        self.ledger.close_sources(self.scopes.iter().map(|s| &**s));
        for scope in &self.scopes {
            self.health.stopped(scope);
        }
    }
}

/// Starts the watch of each scope, with what they share.
struct Spawner {
    tasks: JoinSet<()>,
    keys: Vec<Arc<str>>,
    client: Client,
    config: Arc<EventStreamConfig>,
    ledger: Ledger,
    metrics: Metrics,
    health: Health,
    tx: mpsc::Sender<Result<Tracked, WatchError>>,
}

impl Spawner {
    fn spawn<K: WatchedKind>(
        &mut self,
        namespace: Option<&str>,
        key: String,
        selectors: Selectors,
    ) {
        let key: Arc<str> = Arc::from(key);
        self.ledger.open_source(&key);
        self.health.register(&key);
        let client = reporting_client(&self.client, self.health.clone(), key.clone());
        let scope = Scope {
            api: K::api(client, namespace),
            key: key.clone(),
            config: self.config.clone(),
            selectors,
            ledger: self.ledger.clone(),
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            tx: self.tx.clone(),
            known: Default::default(),
        };
        self.keys.push(key);
        self.tasks.spawn(scope.run());
    }

    fn spawn_object(&mut self, kind: ObjectKind, namespace: Option<&str>) {
        let key = kind.source_key(namespace);
        let none = Selectors::default();
        match kind {
            ObjectKind::Pods => self.spawn::<Pod>(namespace, key, none),
            ObjectKind::Nodes => self.spawn::<Node>(namespace, key, none),
            ObjectKind::Namespaces => self.spawn::<Namespace>(namespace, key, none),
            ObjectKind::Services => self.spawn::<Service>(namespace, key, none),
            ObjectKind::PersistentVolumeClaims => {
                self.spawn::<PersistentVolumeClaim>(namespace, key, none);
            }
        }
    }
}

async fn resolve_api(client: &Client, choice: ApiChoice) -> Result<EventApi, WatchError> {
    match choice {
        ApiChoice::EventsV1 => Ok(EventApi::EventsV1),
        ApiChoice::CoreV1 => Ok(EventApi::CoreV1),
        ApiChoice::Auto => match client.list_api_group_resources("events.k8s.io/v1").await {
            Ok(list) if list.resources.iter().any(|r| r.name == "events") => Ok(EventApi::EventsV1),
            Ok(_) => Ok(EventApi::CoreV1),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                tracing::info!(
                    "the API server does not serve events.k8s.io/v1; watching core/v1 Events"
                );
                Ok(EventApi::CoreV1)
            }
            Err(source) => Err(WatchError::Discovery { source }),
        },
    }
}

impl Stream for EventStream {
    type Item = Result<Tracked, WatchError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// How long to wait past the server-side watch timeout before deciding a watch is dead.
pub(super) const IDLE_MARGIN: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_read_from_config_by_their_plural_names() {
        let config: EventStreamConfig = serde_json::from_value(serde_json::json!({
            "namespaces": ["payments"],
            "objects": ["pods", "nodes", "persistentvolumeclaims"]
        }))
        .unwrap();
        assert_eq!(
            config.objects,
            [
                ObjectKind::Pods,
                ObjectKind::Nodes,
                ObjectKind::PersistentVolumeClaims
            ]
        );
        assert!(EventStreamConfig::default().objects.is_empty());
        let unknown = serde_json::from_value::<EventStreamConfig>(
            serde_json::json!({"objects": ["secrets"]}),
        );
        assert!(unknown.is_err(), "secrets are not a watched kind");
    }
}
