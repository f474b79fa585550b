//! The public face of a source: [`EventStream`], its config and its errors.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::Client;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::kind::WatchedKind;
use super::scope::Scope;
use crate::checkpoint::Ledger;
use crate::metrics::Metrics;
use crate::{EventApi, NormalizeError, Tracked};

/// Which Events API to watch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ApiChoice {
    /// `events.k8s.io/v1` when the server serves it, else `core/v1` (the default).
    #[default]
    Auto,
    /// Always `events.k8s.io/v1`.
    EventsV1,
    /// Always the legacy `core/v1`.
    CoreV1,
}

/// Settings of an [`EventStream`].
///
/// | key | default | meaning |
/// |---|---|---|
/// | `api` | `auto` | `auto`, `events-v1` or `core-v1` |
/// | `namespaces` | `[]` (all) | watch only these namespaces, one watch each |
/// | `label_selector` | none | passed to the API server |
/// | `field_selector` | none | passed to the API server |
/// | `page_size` | 500 | list page size on relists |
/// | `watch_timeout_secs` | 290 | server-side watch timeout before a re-watch |
/// | `buffer` | 1024 | occurrences buffered between the watches and the consumer |
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct EventStreamConfig {
    /// Which Events API to watch.
    pub api: ApiChoice,
    /// Namespaces to watch; empty watches all.
    pub namespaces: Vec<String>,
    /// A label selector for the watch.
    pub label_selector: Option<String>,
    /// A field selector for the watch, e.g. `type=Warning`.
    pub field_selector: Option<String>,
    /// List page size on relists.
    pub page_size: u32,
    /// Server-side watch timeout in seconds.
    pub watch_timeout_secs: u32,
    /// Occurrences buffered between the watch tasks and the consumer.
    pub buffer: usize,
}

impl Default for EventStreamConfig {
    fn default() -> Self {
        EventStreamConfig {
            api: ApiChoice::Auto,
            namespaces: Vec::new(),
            label_selector: None,
            field_selector: None,
            page_size: 500,
            watch_timeout_secs: 290,
            buffer: 1024,
        }
    }
}

impl EventStreamConfig {
    /// Sets [`api`](Self::api).
    #[must_use]
    pub fn api(mut self, api: ApiChoice) -> Self {
        self.api = api;
        self
    }

    /// Sets [`namespaces`](Self::namespaces).
    #[must_use]
    pub fn namespaces<I: IntoIterator<Item = S>, S: Into<String>>(mut self, namespaces: I) -> Self {
        self.namespaces = namespaces.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`watch_timeout_secs`](Self::watch_timeout_secs).
    #[must_use]
    pub fn watch_timeout_secs(mut self, secs: u32) -> Self {
        self.watch_timeout_secs = secs;
        self
    }

    /// Sets [`page_size`](Self::page_size).
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }
}

/// What went wrong while watching. The stream keeps going after each (with backoff) unless the
/// consumer stops; the error is yielded so it can be logged and counted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// Asking the API server which Events APIs it serves failed.
    #[error(
        "could not discover the Events APIs of the cluster: {source}; check the API server address and credentials"
    )]
    Discovery {
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The watch of one scope failed; it is retried with backoff.
    #[error("watching {scope} failed, retrying with backoff: {source}{hint}")]
    Watch {
        /// The scope, e.g. `events@payments`.
        scope: String,
        /// What to do about it, when known (e.g. missing RBAC).
        hint: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server sent an object that is not a usable event; it is skipped.
    #[error("skipped a malformed object from {scope}: {source}")]
    Malformed {
        /// The scope it came from.
        scope: String,
        /// Why it is unusable.
        #[source]
        source: NormalizeError,
    },
}

/// A stream of every new occurrence of Kubernetes Events, resumable from a [`Ledger`].
///
/// Yields `Result<Tracked, WatchError>`; errors are informational (the stream retries by
/// itself). Filter it with [`EventStreamExt`](crate::EventStreamExt) and run it into sinks with
/// a [`Pipeline`](crate::Pipeline). Dropping the stream stops every watch.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::checkpoint::{Ledger, LedgerConfig};
/// use event_core::metrics::Metrics;
/// use event_core::{EventStream, EventStreamConfig};
/// use futures::StreamExt;
///
/// let client = kube::Client::try_default().await?;
/// let ledger = Ledger::new(LedgerConfig::default());
/// let config = EventStreamConfig::default().namespaces(["payments"]);
/// let mut events = EventStream::connect(client, config, ledger, Metrics::default()).await?;
/// while let Some(item) = events.next().await {
///     if let Ok(tracked) = item {
///         println!("{} {}", tracked.reason, tracked.message);
///         let (_event, ticket) = tracked.into_parts();
///         if let Some(ticket) = ticket {
///             ticket.ack();
///         }
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct EventStream {
    rx: mpsc::Receiver<Result<Tracked, WatchError>>,
    api: EventApi,
    // Dropping the set aborts the watch tasks.
    _tasks: JoinSet<()>,
}

impl EventStream {
    /// Resolves which Events API to watch and starts one watch per scope.
    ///
    /// # Errors
    ///
    /// [`WatchError::Discovery`] when `api` is `auto` and discovery fails for a reason other than
    /// the API being absent.
    pub async fn connect(
        client: Client,
        config: EventStreamConfig,
        ledger: Ledger,
        metrics: Metrics,
    ) -> Result<Self, WatchError> {
        let api = resolve_api(&client, config.api).await?;
        let (tx, rx) = mpsc::channel(config.buffer.max(1));
        let mut tasks = JoinSet::new();
        let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
            vec![None]
        } else {
            config.namespaces.iter().cloned().map(Some).collect()
        };
        let config = Arc::new(config);
        for namespace in scopes {
            let key: Arc<str> =
                Arc::from(format!("events@{}", namespace.as_deref().unwrap_or("*")));
            match api {
                EventApi::CoreV1 => spawn_scope::<CoreEvent>(
                    &mut tasks, &client, namespace, key, &config, &ledger, &metrics, &tx,
                ),
                _ => spawn_scope::<EventsEvent>(
                    &mut tasks, &client, namespace, key, &config, &ledger, &metrics, &tx,
                ),
            }
        }
        tracing::info!(api = %api, scopes = tasks.len(), "watching events");
        Ok(EventStream {
            rx,
            api,
            _tasks: tasks,
        })
    }

    /// The Events API this stream watches.
    pub fn api(&self) -> EventApi {
        self.api
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_scope<K: WatchedKind>(
    tasks: &mut JoinSet<()>,
    client: &Client,
    namespace: Option<String>,
    key: Arc<str>,
    config: &Arc<EventStreamConfig>,
    ledger: &Ledger,
    metrics: &Metrics,
    tx: &mpsc::Sender<Result<Tracked, WatchError>>,
) {
    let api = K::api(client.clone(), namespace.as_deref());
    let scope = Scope {
        api,
        key,
        config: config.clone(),
        ledger: ledger.clone(),
        metrics: metrics.clone(),
        tx: tx.clone(),
    };
    tasks.spawn(scope.run());
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
