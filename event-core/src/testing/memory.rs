//! [`MemorySink`]: stores events in memory, fails on command.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::{BatchLimits, Event, OccurrenceKey, Rejection, Sink, SinkError};

/// A scripted outcome for the next `send` calls of a [`MemorySink`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Scripted {
    /// Fail with a retryable error, storing nothing.
    Retryable,
    /// Fail with a fatal error, storing nothing.
    Fatal,
    /// Store the batch, then fail as a timeout would ([`SinkError::maybe_stored`]).
    StoreThenTimeOut,
}

type RejectRule = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    stored: Vec<Event>,
    script: VecDeque<Scripted>,
    reject: Option<RejectRule>,
    calls: usize,
    /// Whether `already_stored` answers (true) or says it cannot tell.
    cannot_tell: bool,
    limits: Option<BatchLimits>,
    batch_sizes: Vec<usize>,
}

/// A sink that keeps events in memory. Clones share the same storage, so a test keeps one
/// clone to inspect what the pipeline stored through another.
///
/// ```
/// use event_core::testing::{sample_event, MemorySink, Scripted};
/// use event_core::Sink;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sink = MemorySink::new("memory");
/// let mut writer = sink.clone();
/// sink.script([Scripted::Retryable]);
/// assert!(writer.send(&[sample_event("u", 1, "ns")]).await.is_err());
/// writer.send(&[sample_event("u", 1, "ns")]).await.unwrap();
/// assert_eq!(sink.events().len(), 1);
/// # }
/// ```
#[derive(Clone)]
pub struct MemorySink {
    name: String,
    state: Arc<Mutex<State>>,
}

impl MemorySink {
    /// An empty sink named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        MemorySink {
            name: name.into(),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every event stored so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().stored.clone()
    }

    /// The occurrence keys stored so far, in order.
    pub fn keys(&self) -> Vec<OccurrenceKey> {
        self.lock().stored.iter().map(Event::key).collect()
    }

    /// How many times `send` was called.
    pub fn send_calls(&self) -> usize {
        self.lock().calls
    }

    /// The length of every batch `send` was given, in order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.lock().batch_sizes.clone()
    }

    /// Makes [`Sink::already_stored`] answer `Ok(None)` ("cannot tell"), like a sink that
    /// cannot read back what it stored.
    pub fn cannot_tell(&self) {
        self.lock().cannot_tell = true;
    }

    /// Declares request limits through [`Sink::batch_limits`].
    pub fn limit_batches(&self, limits: BatchLimits) {
        self.lock().limits = Some(limits);
    }

    /// Queues outcomes for the next `send` calls, in order.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Scripted>) {
        self.lock().script.extend(outcomes);
    }

    /// Refuses, for good, every event matching `rule` (the rest of each batch is stored).
    pub fn reject_when(&self, rule: impl Fn(&Event) -> bool + Send + Sync + 'static) {
        self.lock().reject = Some(Arc::new(rule));
    }
}

#[async_trait]
impl Sink for MemorySink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        let mut state = self.lock();
        state.calls += 1;
        state.batch_sizes.push(batch.len());
        match state.script.pop_front() {
            Some(Scripted::Retryable) => {
                return Err(SinkError::retryable_msg("scripted retryable failure"));
            }
            Some(Scripted::Fatal) => return Err(SinkError::fatal_msg("scripted fatal failure")),
            Some(Scripted::StoreThenTimeOut) => {
                state.stored.extend(batch.iter().cloned());
                return Err(SinkError::maybe_stored(
                    "scripted timeout after storing",
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                ));
            }
            None => {}
        }
        let mut rejected = Vec::new();
        for (index, event) in batch.iter().enumerate() {
            if state.reject.as_ref().is_some_and(|rule| rule(event)) {
                rejected.push(Rejection::new(index, "refused by rule"));
            } else {
                state.stored.push(event.clone());
            }
        }
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(SinkError::rejected(rejected))
        }
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        self.lock().limits
    }

    async fn already_stored(
        &mut self,
        candidates: &[Event],
    ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
        let state = self.lock();
        if state.cannot_tell {
            return Ok(None);
        }
        let wanted: HashSet<OccurrenceKey> = candidates.iter().map(Event::key).collect();
        Ok(Some(
            state
                .stored
                .iter()
                .map(Event::key)
                .filter(|k| wanted.contains(k))
                .collect(),
        ))
    }
}
