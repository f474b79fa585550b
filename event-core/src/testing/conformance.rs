//! The sink conformance kit: checks any [`Sink`] against the contract.

use std::collections::HashSet;
use std::future::Future;

use super::sample_event;
use crate::{Event, OccurrenceKey, Sink, SinkError};

/// A way in which a sink broke the [`Sink`] contract.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConformanceError {
    /// The sink's name is empty or changed between calls.
    #[error("sink name must be non-empty and stable, got {0:?}")]
    Name(String),
    /// A step that must succeed failed.
    #[error("{step}: the sink returned an error: {source}")]
    Failed {
        /// The step of the kit.
        step: &'static str,
        /// The error.
        #[source]
        source: SinkError,
    },
    /// A rejection named an index outside the batch or the same index twice.
    #[error("{step}: rejection index {index} is outside the batch of {len} or repeated")]
    BadRejection {
        /// The step of the kit.
        step: &'static str,
        /// The index.
        index: usize,
        /// The batch length.
        len: usize,
    },
    /// Reading back showed an event missing or stored twice.
    #[error("read back: occurrence {key} was stored {times} times, expected once")]
    NotExactlyOnce {
        /// The occurrence key.
        key: OccurrenceKey,
        /// How many times it was found.
        times: usize,
    },
}

/// Runs the conformance kit against `sink`; `read_back` returns every event the sink stored so
/// far (return `None` when the sink cannot be read back, and that check is skipped).
///
/// It checks that the name is stable, an empty batch is accepted, a batch with non-ASCII text
/// and a 300 KB message is stored or refused per event (never a fatal error or a panic), a batch
/// resent after a retry is accepted, `flush` succeeds, and, with `read_back`, that every event
/// not refused was stored exactly once apart from the deliberate resend.
///
/// # Errors
///
/// The first [`ConformanceError`] found.
pub async fn check_sink<S, F, Fut>(sink: &mut S, read_back: F) -> Result<(), ConformanceError>
where
    S: Sink + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Vec<Event>>>,
{
    let name = sink.name().to_owned();
    if name.is_empty() {
        return Err(ConformanceError::Name(name));
    }
    sink.send(&[])
        .await
        .map_err(|source| ConformanceError::Failed {
            step: "empty batch",
            source,
        })?;

    let mut batch: Vec<Event> = (0..20)
        .map(|i| sample_event(&format!("conformance-{i}"), 100 + i, "conformance"))
        .collect();
    batch[1].message = "Ünïcödé ✓ 事件 — non-ASCII message".to_owned();
    batch[2].message = "x".repeat(300 * 1024);
    let mut refused = HashSet::new();
    match sink.send(&batch).await {
        Ok(()) => {}
        Err(SinkError::Rejected { rejected }) => {
            for r in rejected {
                if r.index >= batch.len() || !refused.insert(r.index) {
                    return Err(ConformanceError::BadRejection {
                        step: "mixed batch",
                        index: r.index,
                        len: batch.len(),
                    });
                }
            }
        }
        Err(source) => {
            return Err(ConformanceError::Failed {
                step: "mixed batch",
                source,
            });
        }
    }
    if sink.name() != name {
        return Err(ConformanceError::Name(sink.name().to_owned()));
    }

    let resend: Vec<Event> = (0..3)
        .map(|i| sample_event(&format!("conformance-resend-{i}"), 500 + i, "conformance"))
        .collect();
    for step in ["first send", "resend after retry"] {
        sink.send(&resend)
            .await
            .map_err(|source| ConformanceError::Failed { step, source })?;
    }
    sink.flush()
        .await
        .map_err(|source| ConformanceError::Failed {
            step: "flush",
            source,
        })?;

    if let Some(stored) = read_back().await {
        for (index, event) in batch.iter().enumerate() {
            let times = stored.iter().filter(|e| e.key() == event.key()).count();
            let expected = usize::from(!refused.contains(&index));
            if times != expected {
                return Err(ConformanceError::NotExactlyOnce {
                    key: event.key(),
                    times,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemorySink;

    #[tokio::test]
    async fn the_memory_sink_conforms() {
        let sink = MemorySink::new("memory");
        let reader = sink.clone();
        let mut sink = sink;
        check_sink(&mut sink, || async { Some(reader.events()) })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_sink_that_loses_events_is_caught() {
        let sink = MemorySink::new("memory");
        let reader = sink.clone();
        let mut sink = sink;
        let err = check_sink(&mut sink, || async {
            Some(reader.events().into_iter().skip(1).collect())
        })
        .await
        .unwrap_err();
        assert!(
            matches!(err, ConformanceError::NotExactlyOnce { times: 0, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn refusing_an_event_is_allowed_but_it_must_not_be_stored() {
        let sink = MemorySink::new("memory");
        sink.reject_when(|e| e.message.len() > 100_000);
        let reader = sink.clone();
        let mut sink = sink;
        check_sink(&mut sink, || async { Some(reader.events()) })
            .await
            .unwrap();
    }
}
