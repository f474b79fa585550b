//! The configured sinks, built and checked; [`Named`] gives each its configured name.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use event_core::metrics::Metrics;
use event_core::{BatchLimits, BoxError, CompiledFilter, Event, OccurrenceKey, Sink, SinkError};
use sink_cloudwatch::CloudWatchSink;
use sink_file::FileSink;
use sink_otlp::OtlpSink;
use sink_stdout::StdoutSink;
use sink_webhook::WebhookSink;

use super::run::RunError;
use super::settings::{Settings, SinkKind, SinkSettings};

/// A sink under the name the config gives it: the `sink` label of its metrics and logs, so two
/// sinks of one kind stay apart. Everything else is delegated.
///
/// (The cluster's name is set on every event at the source, through
/// [`EventStreamConfig::cluster`](event_core::EventStreamConfig::cluster), so the pipeline sizes
/// batches by the record as it is stored.)
///
/// ```
/// # futures::executor::block_on(async {
/// use event_core::testing::MemorySink;
/// use event_core::{Event, Sink};
/// use examples::exporter::Named;
///
/// let memory = MemorySink::new("memory");
/// let mut sink = Named::new(memory.clone(), "archive");
/// assert_eq!(sink.name(), "archive");
/// sink.send(&[Event::new("7d3c6a2e", "1042")]).await?;
/// assert_eq!(memory.events().len(), 1);
/// # Ok::<(), event_core::SinkError>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct Named<S> {
    inner: S,
    name: String,
}

impl<S: Sink> Named<S> {
    /// `inner`, named `name`.
    pub fn new(inner: S, name: impl Into<String>) -> Self {
        Named {
            inner,
            name: name.into(),
        }
    }
}

#[async_trait]
impl<S: Sink> Sink for Named<S> {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
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
        self.inner.already_stored(candidates).await
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        self.inner.health_check().await
    }
}

/// A sink ready for the pipeline, with its routing filter.
pub(crate) struct Built {
    pub sink: Named<Box<dyn Sink>>,
    pub route: Option<CompiledFilter>,
}

/// Builds every configured sink and runs its health check: a fatal failure (bad credentials,
/// missing permissions) stops the start-up with the sink's message; a transient one is logged
/// and left to the pipeline's retries. Each sink's own counters are registered in `metrics`.
pub(crate) async fn build(settings: &Settings, metrics: &Metrics) -> Result<Vec<Built>, RunError> {
    let mut built = Vec::with_capacity(settings.sinks.len());
    for spec in &settings.sinks {
        let inner = open(spec, metrics).await?;
        let mut sink = Named::new(inner, spec.name.clone());
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

/// Checks that every file sink's directory can be written, without opening its archive (that
/// is for the replica that exports): a directory that never can be (read-only, not a
/// directory, permission denied) stops the start-up; anything else is logged and left to the
/// pipeline's retries.
pub(crate) async fn check_writable(settings: &Settings) -> Result<(), RunError> {
    for spec in &settings.sinks {
        let SinkKind::File(config) = &spec.kind else {
            continue;
        };
        let failed = |source: BoxError| RunError::Sink {
            sink: spec.name.clone(),
            source,
        };
        let sink = FileSink::new(config.clone()).map_err(|e| failed(Box::new(e)))?;
        match sink.check_writable().await {
            Ok(()) => {}
            Err(error) if error.is_retryable() => {
                tracing::warn!(sink = %spec.name, %error, "archive directory check failed; starting anyway, the pipeline retries")
            }
            Err(error) => return Err(failed(Box::new(error))),
        }
    }
    Ok(())
}

async fn open(spec: &SinkSettings, metrics: &Metrics) -> Result<Box<dyn Sink>, RunError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| RunError::Sink {
        sink: spec.name.clone(),
        source,
    };
    Ok(match &spec.kind {
        SinkKind::CloudWatch(config) => {
            let sink = CloudWatchSink::connect(config.clone())
                .await
                .map_err(|e| failed(Box::new(e)))?;
            metrics.register_sink_statistics(&spec.name, Arc::new(sink.stats()));
            Box::new(sink)
        }
        SinkKind::File(config) => {
            let sink = FileSink::new(config.clone()).map_err(|e| failed(Box::new(e)))?;
            metrics.register_sink_statistics(&spec.name, Arc::new(sink.stats()));
            Box::new(sink)
        }
        SinkKind::Otlp(config) => {
            Box::new(OtlpSink::new(config.clone()).map_err(|e| failed(Box::new(e)))?)
        }
        SinkKind::Stdout(config) => Box::new(StdoutSink::from_config(config)),
        SinkKind::Webhook(config) => {
            Box::new(WebhookSink::new(config.clone()).map_err(|e| failed(Box::new(e)))?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn everything_but_the_name_is_the_inner_sinks() {
        struct Inner(Vec<usize>);
        #[async_trait]
        impl Sink for Inner {
            fn name(&self) -> &str {
                "inner"
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
                self.0.push(candidates.len());
                Ok(Some(candidates.iter().map(Event::key).collect()))
            }
        }
        let mut sink = Named::new(Inner(Vec::new()), "archive");
        assert_eq!(sink.name(), "archive");
        let found = sink.already_stored(&[Event::new("u1", "1")]).await.unwrap();
        assert_eq!(found.map(|f| f.len()), Some(1));
        assert_eq!(sink.inner.0, [1]);
        assert_eq!(sink.batch_limits(), Some(BatchLimits::new(7, 1000)));
    }
}
