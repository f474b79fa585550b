//! [`MemorySink`]: stores events in memory, fails on command.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::{Event, OccurrenceKey, Rejection, Sink, SinkError};

/// A scripted outcome for the next `send` calls of a [`MemorySink`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Scripted {
    /// Fail with a retryable error, storing nothing.
    Retryable,
    /// Fail with a fatal error, storing nothing.
    Fatal,
}

type RejectRule = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    stored: Vec<Event>,
    script: VecDeque<Scripted>,
    reject: Option<RejectRule>,
    calls: usize,
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
        match state.script.pop_front() {
            Some(Scripted::Retryable) => {
                return Err(SinkError::retryable_msg("scripted retryable failure"));
            }
            Some(Scripted::Fatal) => return Err(SinkError::fatal_msg("scripted fatal failure")),
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
}
