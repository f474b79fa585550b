//! [`StdoutSink`]: writes each batch as one buffer and flushes it.

use std::io::ErrorKind;

use async_trait::async_trait;
use event_core::{Event, Sink, SinkError};
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::format::{Format, write_json_line, write_text_line};

/// Configuration of the stdout sink.
///
/// | key | default | values |
/// |---|---|---|
/// | `format` | `json` | `json`, `text` |
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StdoutConfig {
    /// The line format.
    pub format: Format,
}

/// Prints events to stdout, or to any [`AsyncWrite`] (tests, a pipe).
///
/// `send` returns `Ok` once the batch is written and flushed. A closed pipe (the reader went
/// away) is fatal; other write errors are retryable.
pub struct StdoutSink<W = tokio::io::Stdout> {
    format: Format,
    out: W,
}

impl StdoutSink<tokio::io::Stdout> {
    /// A sink printing to the process's stdout.
    pub fn new(format: Format) -> Self {
        StdoutSink::with_writer(format, tokio::io::stdout())
    }

    /// A sink from its configuration.
    pub fn from_config(config: &StdoutConfig) -> Self {
        StdoutSink::new(config.format)
    }
}

impl<W: AsyncWrite + Unpin + Send> StdoutSink<W> {
    /// A sink writing to `out`.
    pub fn with_writer(format: Format, out: W) -> Self {
        StdoutSink { format, out }
    }

    /// The writer, e.g. to inspect what a test sink wrote.
    pub fn writer(&self) -> &W {
        &self.out
    }

    fn render(&self, batch: &[Event]) -> Result<Vec<u8>, SinkError> {
        match self.format {
            Format::Json => {
                let mut out = Vec::with_capacity(batch.len() * 512);
                for event in batch {
                    write_json_line(&mut out, event)
                        .map_err(|e| SinkError::fatal("serializing an event to JSON", e))?;
                }
                Ok(out)
            }
            Format::Text => {
                let mut out = String::with_capacity(batch.len() * 160);
                for event in batch {
                    write_text_line(&mut out, event);
                }
                Ok(out.into_bytes())
            }
        }
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> Sink for StdoutSink<W> {
    fn name(&self) -> &str {
        "stdout"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let bytes = self.render(batch)?;
        let written = async {
            self.out.write_all(&bytes).await?;
            self.out.flush().await
        };
        written.await.map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => SinkError::fatal(
                "stdout was closed by its reader; restart with stdout attached to a reader",
                e,
            ),
            _ => SinkError::retryable("writing to stdout", e),
        })
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.out
            .flush()
            .await
            .map_err(|e| SinkError::retryable("flushing stdout", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_core::testing::{check_sink, sample_event};

    #[tokio::test]
    async fn writes_one_json_line_per_event() {
        let mut sink = StdoutSink::with_writer(Format::Json, Vec::new());
        let batch = [sample_event("a", 1, "ns"), sample_event("b", 2, "ns")];
        sink.send(&batch).await.unwrap();
        let text = String::from_utf8(sink.writer().clone()).unwrap();
        let uids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Event>(l).unwrap().uid)
            .collect();
        assert_eq!(uids, ["a", "b"]);
    }

    #[tokio::test]
    async fn conforms_to_the_sink_contract_and_reads_back_exactly_once() {
        let mut sink = StdoutSink::with_writer(Format::Json, Vec::new());
        let read_back = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Event>(l).unwrap())
                .collect::<Vec<_>>()
        };
        // The kit reads back through a snapshot taken after its sends.
        check_sink(&mut sink, || async { None }).await.unwrap();
        let stored = read_back(sink.writer().clone());
        assert_eq!(
            stored.iter().filter(|e| e.uid == "conformance-2").count(),
            1
        );
        assert_eq!(
            stored
                .iter()
                .filter(|e| e.uid == "conformance-resend-0")
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn a_closed_pipe_is_fatal_and_other_errors_retryable() {
        struct Failing(ErrorKind);
        impl AsyncWrite for Failing {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::task::Poll::Ready(Err(std::io::Error::from(self.0)))
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
        let batch = [sample_event("a", 1, "ns")];
        let mut closed = StdoutSink::with_writer(Format::Text, Failing(ErrorKind::BrokenPipe));
        assert!(matches!(
            closed.send(&batch).await,
            Err(SinkError::Fatal { .. })
        ));
        let mut busy = StdoutSink::with_writer(Format::Text, Failing(ErrorKind::StorageFull));
        assert!(busy.send(&batch).await.unwrap_err().is_retryable());
    }
}
