//! Keep Kubernetes Events past their TTL.
//!
//! Kubernetes deletes Events an hour after their last update (`--event-ttl`; 60 minutes on Amazon
//! EKS, where it cannot be changed). `event-core` watches them and ships every occurrence to
//! durable sinks without losing or duplicating any across restarts:
//!
//! - [`Event`]: one normalized record for both `core/v1` and `events.k8s.io/v1` Events.
//! - [`Sink`]: the small async contract a destination implements.
//! - [`EventStreamExt`] and [`filter`]: which events to keep, in code or as a [`FilterConfig`];
//!   what a filter drops is settled, so it never holds the checkpoint back.
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
pub mod event;
pub mod filter;
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
pub use sink::{BoxError, Rejection, Sink, SinkError};
pub use source::{ApiChoice, EventStream, EventStreamConfig, WatchError};
pub use stream::EventStreamExt;
pub use tracked::Tracked;
