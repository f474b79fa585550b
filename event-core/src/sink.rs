//! The [`Sink`] trait: where events go, and what `Ok` promises.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;

use crate::{Event, OccurrenceKey};

/// A boxed error that sinks use to keep the underlying cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A destination for events: CloudWatch Logs, a file, stdout, or your own.
///
/// # Contract
///
/// - **`Ok` means stored.** Return `Ok(())` from [`send`](Sink::send) only once every event of the
///   batch is durably stored by this sink's own standard (acknowledged by the service, written
///   and synced per the configured policy). Only then does the pipeline record the events in the
///   checkpoint; an event acknowledged too early is an event lost on a crash.
/// - **One call in flight.** The pipeline never overlaps calls on one sink (`&mut self`), and
///   calls `send` with batches in the order the events were observed.
/// - **The sink times out.** Bound each call by a timeout of your own and return
///   [`SinkError::Retryable`] when it elapses. The pipeline also wraps every call in an outer
///   timeout (see `SinkOptions`) as a last resort and treats it as retryable.
/// - **The pipeline retries.** Return [`SinkError::Retryable`] for transient failures
///   (throttling, 5xx, timeouts, a full disk); the pipeline retries the *same* batch with jittered
///   exponential backoff, as often as it takes, and never drops it. Do not retry forever inside
///   the sink. A sink that stores part of a batch before failing may see those events again:
///   readers deduplicate by [`Event::key`].
/// - **Per-event rejection.** When some events can never be stored (too large after
///   truncation, refused by the service), store the rest and return [`SinkError::Rejected`]
///   naming the rejected ones by index. They are routed to the dead-letter sink, or logged and
///   counted; never silently acknowledged.
/// - **Ambiguous outcomes are checked, not guessed.** When a call may have stored the batch
///   even though it failed (a timeout after the request was sent, a connection dropped before
///   the response), return [`SinkError::maybe_stored`]. Before resending, the pipeline asks
///   [`already_stored`](Sink::already_stored) which events arrived, and resends only the others;
///   it asks the same after a restart for the events the previous run had handed out but not
///   checkpointed. A sink that cannot tell keeps the default, and readers deduplicate by key.
/// - **Fatal errors stop the pipeline.** Return [`SinkError::Fatal`] for errors that retrying
///   cannot fix (bad credentials, missing permissions, a misconfigured destination). The pipeline
///   stops without acknowledging the batch, so nothing is lost: fix the cause and restart.
///
/// # Example: a custom sink
///
/// ```
/// use async_trait::async_trait;
/// use event_core::{Event, Sink, SinkError};
///
/// /// Counts Warning events; a real sink would write them somewhere.
/// #[derive(Default)]
/// struct WarningCounter {
///     warnings: usize,
/// }
///
/// #[async_trait]
/// impl Sink for WarningCounter {
///     fn name(&self) -> &str {
///         "warning-counter"
///     }
///
///     async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
///         self.warnings += batch.iter().filter(|e| e.is_warning()).count();
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Sink: Send {
    /// A short, stable name for logs and metrics, e.g. `cloudwatch`.
    fn name(&self) -> &str;

    /// Stores a batch of events. See the trait's contract for what each result means.
    ///
    /// # Errors
    ///
    /// [`SinkError::Retryable`], [`SinkError::Rejected`] or [`SinkError::Fatal`], as the contract
    /// describes.
    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError>;

    /// Makes everything accepted so far durable; called before shutdown and before a checkpoint
    /// that must not run ahead of the sink. Sinks whose `send` is already durable keep the default.
    ///
    /// # Errors
    ///
    /// As for [`send`](Sink::send).
    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// The request limits of this sink, so that the pipeline cuts batches that fit one request
    /// (for CloudWatch Logs: 10,000 events and 1,048,576 bytes). `None`, the default, leaves
    /// batching to the pipeline's own settings.
    fn batch_limits(&self) -> Option<BatchLimits> {
        None
    }

    /// Which of `candidates` this sink has already stored, for events whose earlier delivery
    /// had an unknown outcome (a timeout, a crash between storing and checkpointing).
    ///
    /// Return `Ok(None)`, the default, when the sink cannot tell: the pipeline then sends the
    /// candidates again, and readers deduplicate by [`Event::key`].
    ///
    /// # Errors
    ///
    /// As for [`send`](Sink::send); a retryable error makes the pipeline ask again later.
    async fn already_stored(
        &mut self,
        candidates: &[Event],
    ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
        let _ = candidates;
        Ok(None)
    }

    /// Checks that the destination is reachable and writable, for readiness probes and for a
    /// clear error at start-up rather than at the first batch.
    ///
    /// # Errors
    ///
    /// The error that a `send` would most likely meet.
    async fn health_check(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[async_trait]
impl<S: Sink + ?Sized> Sink for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        (**self).send(batch).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush().await
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        (**self).health_check().await
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        (**self).batch_limits()
    }

    async fn already_stored(
        &mut self,
        candidates: &[Event],
    ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
        (**self).already_stored(candidates).await
    }
}

/// The most one request of a sink can carry; see [`Sink::batch_limits`].
///
/// An event's size is the length of its JSON serialization (`serde_json::to_vec(&event)`)
/// plus `per_event_overhead`.
///
/// ```
/// use event_core::sink::BatchLimits;
///
/// // CloudWatch Logs PutLogEvents: 10,000 events, 1,048,576 bytes counting 26 bytes per event.
/// let limits = BatchLimits::new(10_000, 1_048_576).per_event_overhead(26);
/// assert_eq!(limits.max_events, 10_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchLimits {
    /// Events per request.
    pub max_events: usize,
    /// Bytes per request, counted as the events' JSON plus `per_event_overhead` each.
    pub max_bytes: usize,
    /// Bytes the request format adds to each event.
    pub per_event_overhead: usize,
}

impl BatchLimits {
    /// Limits of `max_events` events and `max_bytes` bytes, no per-event overhead.
    pub fn new(max_events: usize, max_bytes: usize) -> Self {
        BatchLimits {
            max_events: max_events.max(1),
            max_bytes: max_bytes.max(1),
            per_event_overhead: 0,
        }
    }

    /// Sets [`per_event_overhead`](Self::per_event_overhead).
    #[must_use]
    pub fn per_event_overhead(mut self, bytes: usize) -> Self {
        self.per_event_overhead = bytes;
        self
    }

    /// The tighter of two limits, field by field.
    #[must_use]
    pub fn min(self, other: BatchLimits) -> Self {
        BatchLimits {
            max_events: self.max_events.min(other.max_events),
            max_bytes: self.max_bytes.min(other.max_bytes),
            per_event_overhead: self.per_event_overhead.max(other.per_event_overhead),
        }
    }
}

/// One event of a batch that a sink refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// Index of the event in the batch passed to [`Sink::send`].
    pub index: usize,
    /// Why it was refused, for logs and for the dead-letter record.
    pub reason: String,
}

impl Rejection {
    /// A rejection of the event at `index` of the batch.
    pub fn new(index: usize, reason: impl Into<String>) -> Self {
        Rejection {
            index,
            reason: reason.into(),
        }
    }
}

/// What went wrong in [`Sink::send`], and so what the pipeline does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A transient failure: the pipeline retries the same batch after a backoff.
    #[error("sink temporarily failed, the batch will be retried: {message}")]
    #[non_exhaustive]
    Retryable {
        /// What failed, for the log.
        message: String,
        /// A delay the destination asked for, if any; otherwise the pipeline's backoff applies.
        retry_after: Option<Duration>,
        /// The batch may have been stored anyway (a timeout after the request was sent): the
        /// pipeline asks [`Sink::already_stored`] before resending.
        maybe_stored: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// Some events can never be stored; every other event of the batch was stored.
    #[error("sink refused {} event(s) of the batch and stored the rest", rejected.len())]
    #[non_exhaustive]
    Rejected {
        /// The refused events, by index in the batch.
        rejected: Vec<Rejection>,
    },
    /// A failure that retrying cannot fix; the pipeline stops without acknowledging the batch.
    #[error("sink failed and cannot continue: {message}")]
    #[non_exhaustive]
    Fatal {
        /// What failed and what to do about it.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

impl SinkError {
    /// A retryable error with a message and its cause.
    pub fn retryable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::Retryable {
            message: message.into(),
            retry_after: None,
            maybe_stored: false,
            source: Some(source.into()),
        }
    }

    /// A retryable error after which the batch may have been stored anyway: a timeout after
    /// the request was sent, a connection lost before the response.
    pub fn maybe_stored(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::Retryable {
            message: message.into(),
            retry_after: None,
            maybe_stored: true,
            source: Some(source.into()),
        }
    }

    /// Sets the delay the destination asked for on a retryable error (e.g. `Retry-After`);
    /// other errors are returned unchanged.
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        if let SinkError::Retryable { retry_after, .. } = &mut self {
            *retry_after = Some(delay);
        }
        self
    }

    /// A retryable error without an underlying cause.
    pub fn retryable_msg(message: impl Into<String>) -> Self {
        SinkError::Retryable {
            message: message.into(),
            retry_after: None,
            maybe_stored: false,
            source: None,
        }
    }

    /// A fatal error with a message saying what to fix, and its cause.
    pub fn fatal(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SinkError::Fatal {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A fatal error without an underlying cause.
    pub fn fatal_msg(message: impl Into<String>) -> Self {
        SinkError::Fatal {
            message: message.into(),
            source: None,
        }
    }

    /// A per-event rejection of the events at the given indexes.
    pub fn rejected(rejected: Vec<Rejection>) -> Self {
        SinkError::Rejected { rejected }
    }

    /// Whether retrying the same batch may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Retryable { .. })
    }

    /// Whether the failed call may have stored the batch anyway.
    pub fn is_maybe_stored(&self) -> bool {
        matches!(
            self,
            SinkError::Retryable {
                maybe_stored: true,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_retryable_errors_are_retryable() {
        assert!(SinkError::retryable_msg("throttled").is_retryable());
        assert!(!SinkError::fatal_msg("no permission").is_retryable());
        assert!(!SinkError::rejected(vec![Rejection::new(0, "too big")]).is_retryable());
    }

    #[test]
    fn messages_say_what_happens_next() {
        let e = SinkError::rejected(vec![Rejection::new(0, "a"), Rejection::new(3, "b")]);
        assert_eq!(
            e.to_string(),
            "sink refused 2 event(s) of the batch and stored the rest"
        );
        let e = SinkError::retryable("putting log events", std::io::Error::other("throttled"));
        assert!(e.to_string().contains("will be retried"));
    }
}
