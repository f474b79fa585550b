//! Keep Kubernetes Events past their TTL.
//!
//! Kubernetes deletes Events an hour after their last update (`--event-ttl`; 60 minutes on Amazon
//! EKS, where it cannot be changed). `event-core` watches them and ships every occurrence to
//! durable sinks without losing or duplicating any across restarts.
//!
//! ```no_run
//! use async_trait::async_trait;
//! use event_core::checkpoint::FileCheckpointStore;
//! use event_core::filter::event_types;
//! use event_core::pipeline::shutdown_on_signals;
//! use event_core::{Event, EventStreamConfig, EventStreamExt, Keeper, Sink, SinkError};
//!
//! /// A sink of your own: print every Warning. A real one calls its service here.
//! struct Printer;
//!
//! #[async_trait]
//! impl Sink for Printer {
//!     fn name(&self) -> &str {
//!         "printer"
//!     }
//!
//!     async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
//!         // Ok only once stored; SinkError::retryable(..) for a transient failure,
//!         // SinkError::fatal(..) when retrying cannot help, SinkError::rejected(..) per event.
//!         for event in batch {
//!             println!("{} {}/{}: {}", event.reason, event.regarding.kind, event.regarding.name, event.message);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The checkpoint, loaded once: the stream resumes from it, the pipeline saves into it.
//!     let keeper = Keeper::load(FileCheckpointStore::new("checkpoint.json")).await?;
//!     let events = keeper
//!         .watch(kube::Client::try_default().await?, EventStreamConfig::default())
//!         .await?
//!         .filter_with(event_types(["Warning"]));
//!     let report = keeper.pipeline(events).sink(Printer).run(shutdown_on_signals()).await?;
//!     println!("stored {} occurrences", report.acknowledged);
//!     Ok(())
//! }
//! ```
//!
//! - [`Event`]: one normalized record for both `core/v1` and `events.k8s.io/v1` Events.
//! - [`Keeper`]: the checkpoint, loaded once; it starts the watch and builds the pipeline.
//! - [`EventStream`]: every new occurrence, resumed from the checkpoint's resourceVersion, then
//!   kube-rs's watcher (list, watch, relist on 410 Gone, backoff with jitter).
//! - [`EventStreamExt`] and [`filter`]: which events to keep, in code or as a [`FilterConfig`].
//!   Any other stream operator works too: an item dropped before the pipeline counts as
//!   filtered out and never holds the checkpoint back ([`checkpoint::Ticket`]).
//! - [`Sink`]: the small async contract a destination implements.
//! - Object changes: with [`EventStreamConfig::objects`], the additions, modifications and
//!   deletions of pods, nodes, namespaces, services and persistentvolumeclaims, as [`Event`]s
//!   of their own ([`event::change`]).
//! - [`health`]: readiness of every watch, and (feature `http`) a server for `/healthz`,
//!   `/readyz` and `/metrics`.
//! - [`Pipeline`]: batches, fans out to sinks behind bounded queues, retries, routes refused
//!   events to a dead letter, and acknowledges into the [`checkpoint`] only what every sink stored.
//!
//! Reading the kept events back, `kubectl get events` for any time range, is the
//! `event-history` crate's.
//!
//! `examples/custom_sink.rs` runs a sink through a [`Pipeline`] without a cluster;
//! `examples/quickstart.rs` shows the whole chain against a simulated cluster.
//!
//! # Filters
//!
//! Filters chain over any stream of `Result<T, E>` where `T` is [`Observed`]; `Err` items pass
//! through:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use event_core::filter::{Predicate, event_types, involved_kinds, min_count, namespaces};
//! use event_core::{Event, EventStreamExt, ObjectRef};
//! use futures::{StreamExt, stream};
//!
//! let mut crash = Event::new("7d3c6a2e", "1042");
//! crash.namespace = Some("payments".into());
//! crash.event_type = "Warning".into();
//! crash.regarding = ObjectRef::new("Pod", "api-7d9f");
//! crash.count = 3;
//! let mut pulled = crash.clone();
//! pulled.event_type = "Normal".into();
//!
//! let kept: Vec<Event> = futures::executor::block_on(
//!     stream::iter([Ok::<Event, Infallible>(crash), Ok(pulled)])
//!         .filter_with(namespaces(["payments", "billing"]))
//!         .filter_with(event_types(["Warning"]).and(involved_kinds(["pod"])))
//!         .filter_with(min_count(2))
//!         .filter_map(|item| async move { item.ok() })
//!         .collect(),
//! );
//! assert_eq!(kept.len(), 1);
//! assert!(kept[0].is_warning());
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod checkpoint;
pub mod clock;
pub mod event;
pub mod filter;
pub mod health;
#[doc(hidden)]
pub mod internals;
mod keeper;
pub mod metrics;
pub mod observed;
pub mod pipeline;
pub mod retry;
pub mod sink;
pub mod source;
pub mod stream;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
mod tracked;

pub use event::{Event, EventApi, NormalizeError, ObjectRef, OccurrenceKey};
pub use filter::{CompiledFilter, ConfigError, FilterConfig, FilterRule, Predicate};
pub use keeper::Keeper;
pub use observed::Observed;
pub use pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineReport};
pub use sink::{BatchLimits, BoxError, Rejection, Sink, SinkError};
pub use source::{ApiChoice, EventStream, EventStreamConfig, ObjectKind, WatchError};
pub use stream::EventStreamExt;
pub use tracked::Tracked;
