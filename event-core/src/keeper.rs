//! [`Keeper`]: the one checkpoint handle, loaded once, that binds a watch and a pipeline.

use std::fmt::Display;
use std::sync::Arc;

use futures::Stream;
use kube::Client;

use crate::checkpoint::{CheckpointError, CheckpointStore, Ledger, LedgerConfig};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::{EventStream, EventStreamConfig, Pipeline, Tracked, WatchError};

/// The checkpoint, loaded once, with the metrics and readiness it reports to: it starts the
/// watch ([`watch`](Self::watch)) that offers occurrences to it and builds the pipeline
/// ([`pipeline`](Self::pipeline)) that acknowledges them into it and saves it.
///
/// ```no_run
/// # async fn demo(sink: impl event_core::Sink + 'static) -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::checkpoint::FileCheckpointStore;
/// use event_core::pipeline::shutdown_on_signals;
/// use event_core::filter::event_types;
/// use event_core::{EventStreamConfig, EventStreamExt, Keeper};
///
/// let keeper = Keeper::load(FileCheckpointStore::new("checkpoint.json")).await?;
/// let events = keeper.watch(kube::Client::try_default().await?, EventStreamConfig::default()).await?;
/// let report = keeper
///     .pipeline(events.filter_with(event_types(["Warning"])))
///     .sink(sink)
///     .run(shutdown_on_signals())
///     .await?;
/// println!("stored {} events", report.acknowledged);
/// # Ok(()) }
/// ```
///
/// Cheap to clone; clones share the same checkpoint.
#[derive(Clone)]
pub struct Keeper {
    ledger: Ledger,
    store: Option<Arc<dyn CheckpointStore>>,
    metrics: Metrics,
    health: Health,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("ledger", &self.ledger)
            .field("saved", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl Keeper {
    /// Loads the checkpoint saved in `store` (nothing yet: a first list of the current events)
    /// with the default [`LedgerConfig`]; the pipelines of this keeper save it there.
    ///
    /// # Errors
    ///
    /// [`CheckpointError`] when a checkpoint exists but cannot be read.
    pub async fn load(store: impl CheckpointStore + 'static) -> Result<Self, CheckpointError> {
        Keeper::load_with(store, LedgerConfig::default()).await
    }

    /// [`load`](Self::load) with a [`LedgerConfig`] of your own (the cluster's event TTL).
    ///
    /// # Errors
    ///
    /// [`CheckpointError`] when a checkpoint exists but cannot be read.
    pub async fn load_with(
        store: impl CheckpointStore + 'static,
        config: LedgerConfig,
    ) -> Result<Self, CheckpointError> {
        let ledger = Ledger::load(&store, config).await?;
        Ok(Keeper {
            ledger,
            store: Some(Arc::new(store)),
            metrics: Metrics::default(),
            health: Health::default(),
        })
    }

    /// A keeper that saves nothing: every start lists the current events again. For tests,
    /// tools that only read, and streams used without a checkpoint.
    pub fn in_memory() -> Self {
        Keeper::from_ledger(Ledger::new(LedgerConfig::default()))
    }

    /// A keeper of an existing ledger that saves nothing (benches, tests).
    pub fn from_ledger(ledger: Ledger) -> Self {
        Keeper {
            ledger,
            store: None,
            metrics: Metrics::default(),
            health: Health::default(),
        }
    }

    /// Saves to `store` what this keeper's pipelines acknowledge: for a keeper made
    /// [`from_ledger`](Self::from_ledger) (benches, tests); [`load`](Self::load) is the usual way.
    #[must_use]
    pub fn saving_to(mut self, store: impl CheckpointStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Counts into `metrics` (the handle `/metrics` renders) instead of a private set.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reports readiness into `health` (the handle `/readyz` answers from) instead of a
    /// private one.
    #[must_use]
    pub fn with_health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// The live checkpoint: resume points, what is in flight, what was exported.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The metrics this keeper's streams and pipelines count into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The readiness this keeper's streams and pipelines report to.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Starts watching with `config`, resuming from the checkpoint: see
    /// [`EventStream::connect`] for what is watched.
    ///
    /// # Errors
    ///
    /// [`WatchError::Discovery`] when `api` is `auto` and discovery fails for a reason other
    /// than the API being absent.
    pub async fn watch(
        &self,
        client: Client,
        config: EventStreamConfig,
    ) -> Result<EventStream, WatchError> {
        let reporting = (self.metrics.clone(), self.health.clone());
        EventStream::start(client, config, self.ledger.clone(), reporting).await
    }

    /// A pipeline reading `stream` (a [`watch`](Self::watch) of this keeper, filtered as you
    /// like) that acknowledges into this checkpoint, saves it to the store every
    /// `checkpoint_interval` and at shutdown, and counts and reports where this keeper does.
    pub fn pipeline<S, E>(&self, stream: S) -> Pipeline<S>
    where
        S: Stream<Item = Result<Tracked, E>> + Send + Unpin + 'static,
        E: Display + Send + 'static,
    {
        Pipeline::new(stream)
            .metrics(self.metrics.clone())
            .health(self.health.clone())
            .checkpoint(self.ledger.clone(), self.store.clone())
    }
}
