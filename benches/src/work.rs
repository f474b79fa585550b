//! The work measured per event: what kube-rs does with a watch line (decode), what
//! `event-core` adds (normalize, filter) and what a sink does (serialize), and a null sink.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use event_core::filter::Predicate;
use event_core::internals::{CoreV1Event, EventsV1Event, Lenient, LenientDecode};
use event_core::{
    CompiledFilter, ConfigError, Event, EventStreamExt, FilterConfig, FilterRule, Pipeline,
    PipelineConfig, PipelineError, Sink, SinkError, Tracked,
};
use futures::{Stream, StreamExt, stream};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::api::WatchEvent;
use serde::de::IgnoredAny;
use tokio_util::sync::CancellationToken;

use crate::fixtures::Group;

/// Decodes one watch line exactly as kube-rs does (`serde_json::from_str::<WatchEvent<K>>`),
/// and returns how many objects it held (0 for a line that does not decode).
pub fn decode_only(group: Group, line: &str) -> usize {
    match group {
        Group::CoreV1 => serde_json::from_str::<WatchEvent<CoreEvent>>(line).map_or(0, |e| {
            std::hint::black_box(e);
            1
        }),
        Group::EventsV1 => serde_json::from_str::<WatchEvent<EventsEvent>>(line).map_or(0, |e| {
            std::hint::black_box(e);
            1
        }),
    }
}

/// Decodes one watch line as `event-core`'s source does (a [`Lenient`] [`CoreV1Event`] or
/// [`EventsV1Event`]: the fields of an occurrence read in one pass, the rest skipped), and
/// returns how many objects decoded. The decode step of the pipeline, alone.
pub fn decode_lenient(group: Group, line: &str) -> usize {
    let decoded =
        match group {
            Group::CoreV1 => watched_object::<CoreV1Event>(line)
                .map(|o| std::hint::black_box(o).decoded().is_ok()),
            Group::EventsV1 => watched_object::<EventsV1Event>(line)
                .map(|o| std::hint::black_box(o).decoded().is_ok()),
        };
    usize::from(decoded == Some(true))
}

/// The object of an ADDED or MODIFIED watch line, decoded as the source decodes it.
fn watched_object<K: LenientDecode>(line: &str) -> Option<Lenient<K>> {
    match serde_json::from_str::<WatchEvent<Lenient<K>>>(line).ok()? {
        WatchEvent::Added(object) | WatchEvent::Modified(object) => Some(object),
        _ => None,
    }
}

/// Parses one line as untyped JSON (`serde_json::Value`), the counterpart of Python's
/// `json.loads`.
pub fn parse_value(line: &str) -> usize {
    serde_json::from_str::<serde_json::Value>(line).map_or(0, |v| {
        std::hint::black_box(v);
        1
    })
}

/// Only checks that the line is valid JSON (`IgnoredAny`): the lower bound of any decoder.
pub fn validate_only(line: &str) -> usize {
    serde_json::from_str::<IgnoredAny>(line).map_or(0, |_| 1)
}

/// Decodes a watch line as `event-core`'s source does (each object through
/// [`Lenient`], so one bad object cannot fail a list) and normalizes it into an [`Event`].
pub fn normalize(group: Group, line: &str) -> Option<Event> {
    match group {
        Group::CoreV1 => watched_object::<CoreV1Event>(line)?
            .into_decoded()
            .ok()?
            .into_event()
            .ok(),
        Group::EventsV1 => watched_object::<EventsV1Event>(line)?
            .into_decoded()
            .ok()?
            .into_event()
            .ok(),
    }
}

/// The whole per-event work without the async machinery: decode, normalize, filter, and
/// serialize into `out` (cleared first). Returns whether the event was kept.
pub fn process(group: Group, line: &str, filter: &CompiledFilter, out: &mut Vec<u8>) -> bool {
    out.clear();
    let Some(event) = normalize(group, line) else {
        return false;
    };
    if !filter.matches(&event) {
        return false;
    }
    event.write_json(out);
    true
}

/// The filters the benches run, by how much of the fixture stream they keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Filtering {
    /// Two exclude rules (a namespace, a message regex) that match none of the fixtures: every
    /// rule is evaluated and every event is serialized. The bench's worst case.
    KeepAll,
    /// The filter of the README (Warnings and ScalingReplicaSet, minus two exclusions).
    Readme,
}

impl Filtering {
    /// The compiled filter.
    ///
    /// # Errors
    ///
    /// The filter's [`ConfigError`]; both configs are constants that compile (see the tests).
    pub fn compile(self) -> Result<CompiledFilter, ConfigError> {
        let config = match self {
            Filtering::KeepAll => FilterConfig::default()
                .exclude(FilterRule::default().namespaces(["kube-system"]))
                .exclude(FilterRule::default().message("^Readiness probe failed")),
            Filtering::Readme => FilterConfig::default()
                .include(FilterRule::default().types(["Warning"]))
                .include(FilterRule::default().reasons(["ScalingReplicaSet"]))
                .exclude(
                    FilterRule::default()
                        .namespaces(["kube-system"])
                        .reasons(["Pulled"]),
                )
                .exclude(FilterRule::default().message("^Readiness probe failed")),
        };
        config.compile()
    }

    /// A short name for bench ids: `keep-all` or `readme`.
    pub fn as_str(self) -> &'static str {
        match self {
            Filtering::KeepAll => "keep-all",
            Filtering::Readme => "readme",
        }
    }
}

/// A sink that serializes every event as a JSON line into a buffer it then discards, as a
/// stdout or file sink would before its write; counts what it was sent.
#[derive(Debug, Default)]
pub struct NullSink {
    buffer: Vec<u8>,
    counts: Arc<NullCounts>,
}

/// What a [`NullSink`] received; shared with the bench after the sink moves into a pipeline.
#[derive(Debug, Default)]
pub struct NullCounts {
    /// Events sent.
    pub events: AtomicU64,
    /// Bytes of their JSON lines.
    pub bytes: AtomicU64,
    /// `send` calls.
    pub batches: AtomicU64,
}

impl NullSink {
    /// A sink and the counters it updates.
    pub fn new() -> (NullSink, Arc<NullCounts>) {
        let sink = NullSink::default();
        let counts = sink.counts.clone();
        (sink, counts)
    }
}

#[async_trait]
impl Sink for NullSink {
    fn name(&self) -> &str {
        "null"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.buffer.clear();
        for event in batch {
            event.write_json(&mut self.buffer);
            self.buffer.push(b'\n');
        }
        std::hint::black_box(&self.buffer);
        self.counts
            .events
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.counts
            .bytes
            .fetch_add(self.buffer.len() as u64, Ordering::Relaxed);
        self.counts.batches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The lines as a stream of untracked events, decoded and normalized lazily as the pipeline
/// pulls them (so that work is inside the measured pipeline run).
pub fn decoded_stream(
    group: Group,
    lines: Arc<Vec<String>>,
) -> impl Stream<Item = Result<Tracked, Infallible>> + Send + Unpin + 'static {
    let count = lines.len();
    stream::iter(0..count).filter_map(move |i| {
        let event = normalize(group, &lines[i]).map(|e| Ok(Tracked::untracked(e)));
        futures::future::ready(event)
    })
}

/// Runs the lines through a real [`Pipeline`] (batcher, queue, worker) into a [`NullSink`] on
/// the current runtime; returns how many events the sink received.
///
/// # Errors
///
/// The pipeline's error (the null sink itself never fails).
pub async fn run_pipeline(
    group: Group,
    lines: Arc<Vec<String>>,
    filter: CompiledFilter,
    config: PipelineConfig,
) -> Result<u64, PipelineError> {
    let (sink, counts) = NullSink::new();
    let source = decoded_stream(group, lines).filter_with(filter);
    Pipeline::new(source)
        .sink(sink)
        .config(config)
        .run(CancellationToken::new())
        .await?;
    Ok(counts.events.load(Ordering::Relaxed))
}

/// The best rate of `passes` runs of `work`, each handling `events` events, in events/s.
pub fn best_rate(passes: usize, events: u64, mut work: impl FnMut()) -> f64 {
    (0..passes.max(1))
        .map(|_| {
            let start = std::time::Instant::now();
            work();
            crate::stats::rate(events, start.elapsed())
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{recorded, replicate};

    #[test]
    fn every_recorded_occurrence_decodes_and_normalizes() {
        for group in Group::ALL {
            for line in recorded(group) {
                assert_eq!(decode_only(group, line), 1, "{line}");
                assert_eq!(decode_lenient(group, line), 1, "{line}");
                assert_eq!(parse_value(line), 1);
                assert_eq!(validate_only(line), 1);
                assert!(normalize(group, line).is_some(), "{line}");
            }
        }
    }

    #[test]
    fn keep_all_keeps_every_fixture_and_readme_drops_some() {
        let lines = replicate(Group::CoreV1, 100);
        let mut out = Vec::new();
        let keep_all = Filtering::KeepAll.compile().unwrap();
        let kept = lines
            .iter()
            .filter(|l| process(Group::CoreV1, l, &keep_all, &mut out))
            .count();
        assert_eq!(kept, 100);
        let readme = Filtering::Readme.compile().unwrap();
        let kept = lines
            .iter()
            .filter(|l| process(Group::CoreV1, l, &readme, &mut out))
            .count();
        assert!(kept > 0 && kept < 100, "{kept}");
    }

    #[test]
    fn processing_writes_the_normalized_record() {
        let lines = replicate(Group::EventsV1, 1);
        let mut out = Vec::new();
        assert!(process(
            Group::EventsV1,
            &lines[0],
            &Filtering::KeepAll.compile().unwrap(),
            &mut out
        ));
        let back: Event = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.uid, crate::fixtures::uid(0));
    }

    #[tokio::test]
    async fn a_pipeline_run_delivers_every_kept_event() {
        let lines = Arc::new(replicate(Group::EventsV1, 1_200));
        let filter = Filtering::KeepAll.compile().unwrap();
        let sent = run_pipeline(Group::EventsV1, lines, filter, PipelineConfig::default())
            .await
            .unwrap();
        assert_eq!(sent, 1_200);
    }

    #[test]
    fn the_best_rate_is_the_fastest_pass() {
        let mut slow = true;
        let rate = best_rate(2, 1, || {
            if std::mem::replace(&mut slow, false) {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        assert!(rate > 50.0, "{rate}");
    }

    #[tokio::test]
    async fn the_null_sink_counts_events_and_bytes() {
        let (mut sink, counts) = NullSink::new();
        let event = normalize(Group::CoreV1, &replicate(Group::CoreV1, 1)[0]).unwrap();
        sink.send(&[event.clone(), event]).await.unwrap();
        assert_eq!(counts.events.load(Ordering::Relaxed), 2);
        assert_eq!(counts.batches.load(Ordering::Relaxed), 1);
        assert!(counts.bytes.load(Ordering::Relaxed) > 200);
    }
}
