//! `/metrics` in the OpenMetrics text format, through the Prometheus project's own Rust client
//! (`prometheus-client`): `# HELP`, `# TYPE` and `# UNIT` on every family, label values
//! escaped, counters suffixed `_total`, the closing `# EOF`.
//!
//! The counters themselves stay plain atomics that the pipeline bumps on its hot path; a
//! [`Collector`] reads them at each scrape.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::{Metrics, SinkCounters, lock, names};

/// The content type of [`Metrics::render_prometheus`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exposition of `metrics`, ending in `# EOF`.
pub(super) fn render(metrics: &Metrics) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(metrics.clone())));
    let mut out = String::new();
    // Writing into a String cannot fail, and the collector's own errors come only from it.
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        tracing::error!("metrics could not be encoded");
    }
    out
}

#[derive(Debug)]
struct Scrape(Metrics);

/// A family's name as OpenMetrics wants it given: counters without `_total`, and times without
/// `_seconds` (the unit is added back, with a `# UNIT` line).
fn family(name: &'static str, kind: MetricType) -> (&'static str, Option<Unit>) {
    let name = match kind {
        MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    match name.strip_suffix("_seconds") {
        Some(base) => (base, Some(Unit::Seconds)),
        None => (name, None),
    }
}

fn scalar(
    encoder: &mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &str,
    kind: MetricType,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let (name, unit) = family(name, kind);
    let mut metric = encoder.encode_descriptor(name, help, unit.as_ref(), kind)?;
    match kind {
        MetricType::Counter => metric
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, f64>(
                &(value as u64),
                None,
            ),
        // Whole numbers (timestamps, the leader flag) as integers, as people read them.
        _ if value.fract() == 0.0 && value.abs() < 9.0e15 => metric.encode_gauge(&(value as i64)),
        _ => metric.encode_gauge(&value),
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let i = &m.inner;
        {
            let mut metric = encoder.encode_descriptor(
                "event_keeper_build",
                "The running build: always 1, labelled with its version.",
                None,
                MetricType::Info,
            )?;
            metric.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
        }
        let counters = [
            (
                names::EVENTS_RECEIVED,
                "Occurrences received from the watch.",
                &i.received,
            ),
            (
                names::EVENTS_ACKNOWLEDGED,
                "Occurrences every sink is done with (stored, or refused and routed).",
                &i.acknowledged,
            ),
            (
                names::EVENTS_FILTERED,
                "Occurrences dropped by filters.",
                &i.filtered,
            ),
            (
                names::WATCH_ERRORS,
                "Watch errors, each followed by a backoff and a retry.",
                &i.watch_errors,
            ),
            (
                names::WATCH_RELISTS,
                "Full relists (first start, or after 410 Gone).",
                &i.relists,
            ),
            (
                names::WATCHES_ESTABLISHED,
                "Watches established: a list completed, or a resumed watch connected.",
                &i.established,
            ),
            (
                names::WATCH_GONE,
                "410 Gone answers: the history the watch wanted was compacted.",
                &i.gone,
            ),
            (
                names::CHECKPOINT_AHEAD,
                "Resume points found ahead of the cluster (etcd restore, another cluster's checkpoint), each followed by a relist.",
                &i.checkpoint_ahead,
            ),
            (
                names::EVENTS_COALESCED,
                "Events changed while the watch could not resume, exported in their latest state.",
                &i.coalesced,
            ),
            (
                names::OBJECTS_DELETED_IN_GAP,
                "Watched objects found deleted by a relist, exported as Deleted.",
                &i.deleted_in_gap,
            ),
            (
                names::EVENTS_MALFORMED,
                "Objects from the API that could not be read, skipped.",
                &i.malformed,
            ),
            (
                names::CHECKPOINT_ERRORS,
                "Checkpoint saves that failed.",
                &i.checkpoint_errors,
            ),
            (
                names::API_START_ERRORS,
                "Failed attempts to reach the API server at start, each followed by a backoff.",
                &i.api_start_errors,
            ),
        ];
        for (name, help, value) in counters {
            let value = value.load(Ordering::Relaxed) as f64;
            scalar(&mut encoder, name, help, MetricType::Counter, value)?;
        }
        let now = jiff::Timestamp::now().as_second();
        let gauges = [
            (
                names::CHECKPOINT_SAVED,
                "Unix time of the last successful checkpoint save (0: none yet).",
                i.checkpoint_saved.load(Ordering::Relaxed) as f64,
            ),
            (
                names::CHECKPOINT_AGE,
                "Seconds since the last successful checkpoint save (since start before the first).",
                m.checkpoint_age_seconds(now) as f64,
            ),
            (
                names::WATCH_PROGRESS,
                "Unix time of the last notification from the watch (event, expiry, bookmark).",
                i.watch_progress.load(Ordering::Relaxed) as f64,
            ),
            (
                names::EVENT_LAG,
                "Seconds from the newest event of the last acknowledged batch to its acknowledgement.",
                i.event_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            ),
            (
                names::API_UNREACHABLE,
                "1 while the process waits at start for the API server to answer, else 0.",
                f64::from(u8::from(i.api_unreachable.load(Ordering::Relaxed))),
            ),
            (
                names::LEADER,
                "1 while this replica holds the leader Lease (or runs without leader election).",
                f64::from(u8::from(i.leader.load(Ordering::Relaxed))),
            ),
        ];
        for (name, help, value) in gauges {
            scalar(&mut encoder, name, help, MetricType::Gauge, value)?;
        }
        let sinks: Vec<(String, Arc<SinkCounters>)> = lock(&i.sinks)
            .iter()
            .map(|(name, counters)| (name.clone(), counters.clone()))
            .collect();
        encode_per_sink(&mut encoder, &sinks)?;
        let statistics: Vec<_> = lock(&i.sink_statistics)
            .iter()
            .map(|(sink, stats)| (sink.clone(), stats.statistics()))
            .collect();
        encode_sink_statistics(&mut encoder, &statistics)
    }
}

type ReadCounter = fn(&SinkCounters) -> u64;
type ReadHistogram = fn(&SinkCounters) -> &Histogram;
/// A sink statistic's family: its help, and the value per sink.
type StatisticFamily<'a> = (&'static str, Vec<(&'a str, u64)>);

fn encode_per_sink(
    encoder: &mut DescriptorEncoder<'_>,
    sinks: &[(String, Arc<SinkCounters>)],
) -> Result<(), std::fmt::Error> {
    let counters: [(&'static str, &str, ReadCounter); 4] = [
        (names::EVENTS_SENT, "Occurrences stored by the sink.", |c| {
            c.sent.load(Ordering::Relaxed)
        }),
        (
            names::EVENTS_REJECTED,
            "Occurrences the sink refused for good (dead-lettered, or logged).",
            |c| c.rejected.load(Ordering::Relaxed),
        ),
        (
            names::BATCHES_RETRIED,
            "Batches retried after a retryable error (throttling, 5xx, timeout, full disk).",
            |c| c.retried.load(Ordering::Relaxed),
        ),
        (
            names::EVENTS_ALREADY_STORED,
            "Occurrences found already stored after an uncertain outcome, not sent again.",
            |c| c.already_stored.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, read) in counters {
        let (name, unit) = family(name, MetricType::Counter);
        let mut metric =
            encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
        for (sink, c) in sinks {
            metric
                .encode_family(&[("sink", sink.as_str())])?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, f64>(&read(c), None)?;
        }
    }
    {
        let mut metric = encoder.encode_descriptor(
            names::QUEUE_DEPTH,
            "Batches waiting in the sink's queue.",
            None,
            MetricType::Gauge,
        )?;
        for (sink, c) in sinks {
            metric
                .encode_family(&[("sink", sink.as_str())])?
                .encode_gauge(&c.queue_depth.load(Ordering::Relaxed))?;
        }
    }
    {
        // Sum and count only (one +Inf bucket): the batcher cuts batches by the sink's limits,
        // so the mean is what an operator reads.
        let mut metric = encoder.encode_descriptor(
            names::BATCH_SIZE,
            "Events per batch sent to the sink.",
            None,
            MetricType::Histogram,
        )?;
        for (sink, c) in sinks {
            let count = c.batches.load(Ordering::Relaxed);
            let sum = c.batch_events.load(Ordering::Relaxed) as f64;
            metric
                .encode_family(&[("sink", sink.as_str())])?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                sum,
                count,
                &[(f64::INFINITY, count)],
                None,
            )?;
        }
    }
    let histograms: [(&'static str, &str, ReadHistogram); 2] = [
        (
            names::EVENT_LATENCY,
            "Seconds from an event's last sighting to its storage by the sink.",
            |c| &c.latency,
        ),
        (
            names::SINK_REQUEST_DURATION,
            "Seconds each request to the sink took, whatever its outcome.",
            |c| &c.request_duration,
        ),
    ];
    for (name, help, read) in histograms {
        let (name, unit) = family(name, MetricType::Histogram);
        let mut metric =
            encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Histogram)?;
        for (sink, c) in sinks {
            read(c).encode(metric.encode_family(&[("sink", sink.as_str())])?)?;
        }
    }
    Ok(())
}

fn encode_sink_statistics(
    encoder: &mut DescriptorEncoder<'_>,
    statistics: &[(String, Vec<super::SinkStatistic>)],
) -> Result<(), std::fmt::Error> {
    // One family per statistic name, across the sinks that report it.
    let mut families: std::collections::BTreeMap<&'static str, StatisticFamily<'_>> =
        std::collections::BTreeMap::new();
    for (sink, stats) in statistics {
        for stat in stats {
            families
                .entry(stat.name)
                .or_insert((stat.help, Vec::new()))
                .1
                .push((sink.as_str(), stat.value));
        }
    }
    for (name, (help, values)) in families {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            tracing::warn!(
                statistic = name,
                "a sink statistic's name is not snake_case; not exported"
            );
            continue;
        }
        let full = format!("{}{name}", names::SINK_STATISTIC_PREFIX);
        let mut metric = encoder.encode_descriptor(&full, help, None, MetricType::Counter)?;
        for (sink, value) in values {
            metric
                .encode_family(&[("sink", sink)])?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, f64>(&value, None)?;
        }
    }
    Ok(())
}
