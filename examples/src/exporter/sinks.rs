//! The configured sinks, built and checked; [`Stamped`] gives each its configured name and adds
//! the cluster name to every event it stores.

use std::collections::HashSet;

use async_trait::async_trait;
use event_core::{BatchLimits, CompiledFilter, Event, OccurrenceKey, Sink, SinkError};
use sink_cloudwatch::CloudWatchSink;
use sink_file::FileSink;
use sink_stdout::StdoutSink;

use super::run::RunError;
use super::settings::{Settings, SinkKind, SinkSettings};

/// A sink under the name the config gives it (the `sink` label of its metrics), which sets
/// [`Event::cluster`] on every event before the inner sink sees it, so that the stored record
/// and the `{cluster}` placeholder of a CloudWatch log group carry the cluster's name.
///
/// Everything else is delegated: batch limits, flushes, health checks, and
/// [`already_stored`](Sink::already_stored), asked with the stamped events, as they were
/// stored.
///
/// ```
/// # futures::executor::block_on(async {
/// use event_core::testing::MemorySink;
/// use event_core::{Event, Sink};
/// use examples::exporter::Stamped;
///
/// let memory = MemorySink::new("memory");
/// let mut sink = Stamped::new(memory.clone(), "archive", "prod-eu-1");
/// assert_eq!(sink.name(), "archive");
/// sink.send(&[Event::new("7d3c6a2e", "1042")]).await?;
/// assert_eq!(memory.events()[0].cluster.as_deref(), Some("prod-eu-1"));
/// # Ok::<(), event_core::SinkError>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct Stamped<S> {
    inner: S,
    name: String,
    cluster: String,
    stamped: Vec<Event>,
}

impl<S: Sink> Stamped<S> {
    /// `inner`, named `name`, stamping `cluster` on every event.
    pub fn new(inner: S, name: impl Into<String>, cluster: impl Into<String>) -> Self {
        Stamped {
            inner,
            name: name.into(),
            cluster: cluster.into(),
            stamped: Vec::new(),
        }
    }
}

/// Copies `batch` into `out` with `cluster` set on each event.
fn stamp<'a>(out: &'a mut Vec<Event>, cluster: &str, batch: &[Event]) -> &'a [Event] {
    out.clear();
    out.extend(batch.iter().map(|event| {
        let mut event = event.clone();
        event.cluster = Some(cluster.to_owned());
        event
    }));
    out
}

#[async_trait]
impl<S: Sink> Sink for Stamped<S> {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        let batch = stamp(&mut self.stamped, &self.cluster, batch);
        self.inner.send(batch).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.inner.flush().await
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        self.inner.batch_limits()
    }

    async fn already_stored(
        &mut self,
        candidates: &[Event],
    ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
        let candidates = stamp(&mut self.stamped, &self.cluster, candidates);
        self.inner.already_stored(candidates).await
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        self.inner.health_check().await
    }
}

/// A sink ready for the pipeline, with its routing filter.
pub(crate) struct Built {
    pub sink: Stamped<Box<dyn Sink>>,
    pub route: Option<CompiledFilter>,
}

/// Builds every configured sink and runs its health check: a fatal failure (bad credentials,
/// missing permissions) stops the start-up with the sink's message; a transient one is logged
/// and left to the pipeline's retries.
pub(crate) async fn build(settings: &Settings) -> Result<Vec<Built>, RunError> {
    let mut built = Vec::with_capacity(settings.sinks.len());
    for spec in &settings.sinks {
        let inner = open(spec).await?;
        let mut sink = Stamped::new(inner, spec.name.clone(), settings.cluster.clone());
        match sink.health_check().await {
            Ok(()) => tracing::info!(sink = %spec.name, kind = spec.kind.type_name(), "sink ready"),
            Err(error) if error.is_retryable() => {
                tracing::warn!(sink = %spec.name, %error, "sink health check failed; starting anyway, the pipeline retries")
            }
            Err(error) => {
                return Err(RunError::Sink {
                    sink: spec.name.clone(),
                    source: Box::new(error),
                });
            }
        }
        let route = match &spec.filter {
            Some(filter) => Some(filter.compile().map_err(|e| RunError::Sink {
                sink: spec.name.clone(),
                source: Box::new(e),
            })?),
            None => None,
        };
        built.push(Built { sink, route });
    }
    Ok(built)
}

async fn open(spec: &SinkSettings) -> Result<Box<dyn Sink>, RunError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| RunError::Sink {
        sink: spec.name.clone(),
        source,
    };
    Ok(match &spec.kind {
        SinkKind::CloudWatch(config) => Box::new(
            CloudWatchSink::connect(config.clone())
                .await
                .map_err(|e| failed(Box::new(e)))?,
        ),
        SinkKind::File(config) => {
            Box::new(FileSink::new(config.clone()).map_err(|e| failed(Box::new(e)))?)
        }
        SinkKind::Stdout(config) => Box::new(StdoutSink::from_config(config)),
    })
}

#[cfg(test)]
mod tests {
    use event_core::testing::MemorySink;

    use super::*;

    #[tokio::test]
    async fn every_stored_event_carries_the_cluster_and_the_original_is_untouched() {
        let memory = MemorySink::new("memory");
        let mut sink = Stamped::new(memory.clone(), "archive", "prod");
        let batch = vec![Event::new("u1", "1"), Event::new("u2", "2")];
        sink.send(&batch).await.unwrap();
        let stored = memory.events();
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|e| e.cluster.as_deref() == Some("prod")));
        assert!(batch.iter().all(|e| e.cluster.is_none()));
        assert_eq!(sink.name(), "archive");
    }

    #[tokio::test]
    async fn already_stored_is_asked_with_stamped_events() {
        struct Asked(Vec<Option<String>>);
        #[async_trait]
        impl Sink for Asked {
            fn name(&self) -> &str {
                "asked"
            }
            async fn send(&mut self, _: &[Event]) -> Result<(), SinkError> {
                Ok(())
            }
            fn batch_limits(&self) -> Option<BatchLimits> {
                Some(BatchLimits::new(7, 1000))
            }
            async fn already_stored(
                &mut self,
                candidates: &[Event],
            ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
                self.0.extend(candidates.iter().map(|e| e.cluster.clone()));
                Ok(Some(candidates.iter().map(Event::key).collect()))
            }
        }
        let mut sink = Stamped::new(Asked(Vec::new()), "a", "prod");
        let found = sink.already_stored(&[Event::new("u1", "1")]).await.unwrap();
        assert_eq!(found.map(|f| f.len()), Some(1));
        assert_eq!(sink.inner.0, [Some("prod".to_owned())]);
        assert_eq!(sink.batch_limits(), Some(BatchLimits::new(7, 1000)));
    }
}
