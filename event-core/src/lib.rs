//! Keep Kubernetes Events past their TTL.
//!
//! Kubernetes deletes Events an hour after their last update (`--event-ttl`; 60 minutes on Amazon
//! EKS, where it cannot be changed). `event-core` watches them and ships every occurrence to
//! durable sinks without losing or duplicating any across restarts:
//!
//! - [`Event`]: one normalized record for both `core/v1` and `events.k8s.io/v1` Events.
//! - [`EventStream`]: every new occurrence, resumed from the checkpoint's resourceVersion, then
//!   kube-rs's watcher (list, watch, relist on 410 Gone, backoff with jitter).
//! - [`EventStreamExt`] and [`filter`]: which events to keep, in code or as a [`FilterConfig`];
//!   what a filter drops is settled, so it never holds the checkpoint back.
//! - [`Sink`]: the small async contract a destination implements.
//! - Object changes: with [`EventStreamConfig::objects`], the additions, modifications and
//!   deletions of pods, nodes, namespaces, services and persistentvolumeclaims, as [`Event`]s
//!   of their own ([`event::change`]).
//! - [`health`]: readiness of every watch, and (feature `http`) a server for `/healthz`,
//!   `/readyz` and `/metrics`.
//! - [`Pipeline`]: batches, fans out to sinks behind bounded queues, retries, routes refused
//!   events to a dead letter, and acknowledges into the [`checkpoint`] only what every sink stored.
//! - [`history`]: reading the kept events back, `kubectl get events` for any time range:
//!   selected with the same filters, each occurrence once, oldest first, followed as it grows.
//!
//! # A custom sink
//!
//! ```
//! use async_trait::async_trait;
//! use event_core::{Event, Sink, SinkError};
//!
//! /// Appends every Warning to a Vec; a real sink would call its service here.
//! #[derive(Default)]
//! struct Warnings(Vec<String>);
//!
//! #[async_trait]
//! impl Sink for Warnings {
//!     fn name(&self) -> &str {
//!         "warnings"
//!     }
//!
//!     async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
//!         // Ok only once stored; SinkError::retryable(..) for a transient failure,
//!         // SinkError::fatal(..) when retrying cannot help, SinkError::rejected(..) per event.
//!         self.0.extend(batch.iter().filter(|e| e.is_warning()).map(|e| e.key().to_string()));
//!         Ok(())
//!     }
//! }
//! ```
//!
//! `examples/custom_sink.rs` runs one through a [`Pipeline`]; `examples/quickstart.rs` shows the
//! whole chain against a simulated cluster.
//!
//! # Filters
//!
//! Filters chain over any stream of `Result<T, E>` where `T` is [`Observed`]; `Err` items pass
//! through:
//!
//! ```
//! use std::convert::Infallible;
//!
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
//!         .namespaces(["payments", "billing"])
//!         .event_types(["Warning"])
//!         .involved_kinds(["pod"])
//!         .min_count(2)
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
pub mod history;
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
pub use observed::Observed;
pub use pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineReport};
pub use sink::{BatchLimits, BoxError, Rejection, Sink, SinkError};
pub use source::{ApiChoice, EventStream, EventStreamConfig, ObjectKind, WatchError};
pub use stream::EventStreamExt;
pub use tracked::Tracked;
