//! Keep Kubernetes Events past their TTL.
//!
//! Kubernetes deletes Events an hour after their last update (`--event-ttl`; 60 minutes on Amazon
//! EKS, where it cannot be changed). `event-core` watches them and ships every occurrence to
//! durable sinks without losing or duplicating any across restarts:
//!
//! - [`Event`]: one normalized record for both `core/v1` and `events.k8s.io/v1` Events.
//! - [`Sink`]: the small async contract a destination implements.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod checkpoint;
pub mod event;
pub mod metrics;
pub mod observed;
pub mod pipeline;
pub mod retry;
pub mod sink;
pub mod source;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
mod tracked;

pub use event::{Event, EventApi, NormalizeError, ObjectRef, OccurrenceKey};
pub use observed::Observed;
pub use pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineReport};
pub use sink::{BoxError, Rejection, Sink, SinkError};
pub use source::{ApiChoice, EventStream, EventStreamConfig, WatchError};
pub use tracked::Tracked;
