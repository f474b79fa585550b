//! From the file as written (with its overrides) to [`Settings`]: defaults filled in, every value
//! checked, and combinations that cannot work refused, each error naming its key.

use std::net::SocketAddr;
use std::time::Duration;

use event_core::{EventStreamConfig, FilterConfig, PipelineConfig};

use super::env::Env;
use super::error::{ConfigError, Origin};
use super::file::{RawConfig, RawLog, RawPipeline, RawServer, RawSource};
use super::overrides::Overridden;
use super::settings::{LogSettings, ServerSettings, Settings, SinkKind, SinkSettings};
use super::sink_spec;

/// The default `leader_election.lease_name`, as in deploy/.
pub const DEFAULT_LEASE_NAME: &str = "event-keeper";
/// The default `checkpoint.name`, as in deploy/.
pub const DEFAULT_CHECKPOINT_NAME: &str = "event-keeper-checkpoint";
/// The default `checkpoint.path`.
pub const DEFAULT_CHECKPOINT_PATH: &str = "/var/lib/event-keeper/checkpoint.json";
/// The default `server.listen`: port 8080, as the container port and probes in deploy/.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// The default `pipeline.shutdown_timeout_secs`, counted from SIGTERM: this drain (10 s), then
/// the final checkpoint save (at most `PipelineConfig::checkpoint_timeout`, 5 s) and the Lease
/// release (at most `event_leader::RELEASE_TIMEOUT`, 5 s) take at most 20 s, within the
/// pods' 30 s terminationGracePeriodSeconds with 10 s to spare.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// A PutLogEvents request holds at most 10,000 events: a larger batch only waits longer.
const MAX_BATCH_EVENTS: usize = 10_000;
/// The longest cluster name EKS accepts.
const MAX_CLUSTER_LEN: usize = 100;

/// Where each key's value came from: an override, else the file (or the defaults).
pub(crate) struct Origins {
    file: Origin,
    overridden: Overridden,
}

impl Origins {
    pub(crate) fn new(file: Origin, overridden: Overridden) -> Self {
        Origins { file, overridden }
    }

    fn of(&self, key: &str) -> Origin {
        self.overridden
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.file.clone())
    }

    fn is_overridden(&self, key: &str) -> bool {
        self.overridden.contains_key(key)
    }

    fn invalid(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::invalid(key, self.of(key), problem)
    }

    /// A number of seconds in `min..=max`, or `default`.
    fn secs(
        &self,
        key: &str,
        value: Option<f64>,
        default: Duration,
        (min, max): (f64, f64),
    ) -> Result<Duration, ConfigError> {
        let Some(secs) = value else {
            return Ok(default);
        };
        if secs.is_finite() && (min..=max).contains(&secs) {
            Ok(Duration::from_secs_f64(secs))
        } else {
            Err(self.invalid(
                key,
                format!(
                    "is {secs}; use a number of seconds from {min} to {max} (default {})",
                    default.as_secs_f64()
                ),
            ))
        }
    }
}

/// Validates everything, in the order of the documented sections.
pub(crate) fn settings(
    raw: RawConfig,
    origins: &Origins,
    env: &Env,
) -> Result<Settings, ConfigError> {
    let cluster = cluster(raw.cluster, origins)?;
    let source = source(raw.source, origins)?.cluster(cluster.clone());
    let filter = match raw.filter {
        Some(filter) => Some(compiled(filter, "filter", origins)?),
        None => None,
    };
    let leader_election = replication::leader_election(raw.leader_election, origins, env)?;
    let interval = origins.secs(
        "checkpoint.interval_secs",
        raw.checkpoint.interval_secs,
        PipelineConfig::default().checkpoint_interval,
        (0.01, 300.0),
    )?;
    let checkpoint =
        replication::checkpoint(raw.checkpoint, leader_election.is_some(), origins, env)?;
    let sinks = sink_spec::parse(raw.sinks, &origins.of("sinks"))?;
    let pipeline = pipeline(raw.pipeline, &sinks, origins)?.checkpoint_interval(interval);
    Ok(Settings {
        config_file: None,
        cluster,
        source,
        filter,
        checkpoint,
        leader_election,
        sinks,
        pipeline,
        server: server(raw.server, origins)?,
        log: log(raw.log, origins)?,
    })
}

fn cluster(cluster: Option<String>, origins: &Origins) -> Result<String, ConfigError> {
    let Some(cluster) = cluster else {
        return Err(origins.invalid(
            "cluster",
            "is missing; set it in the config file, with --cluster or with EVENT_KEEPER_CLUSTER: it is added to every record",
        ));
    };
    let ok = (1..=MAX_CLUSTER_LEN).contains(&cluster.len())
        && cluster.starts_with(|c: char| c.is_ascii_alphanumeric())
        && cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(cluster)
    } else {
        Err(origins.invalid(
            "cluster",
            format!(
                "is {cluster:?}; use 1 to {MAX_CLUSTER_LEN} letters, digits, '-', '_' or '.', starting with a letter or digit (an EKS cluster name)"
            ),
        ))
    }
}

/// A Kubernetes object name: lowercase letters, digits, '-' and '.', at most `max` long.
fn is_object_name(name: &str, max: usize) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=max).contains(&name.len())
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name.chars().all(|c| alnum(c) || c == '-' || c == '.')
}

pub(super) fn object_name(
    value: String,
    key: &str,
    origins: &Origins,
) -> Result<String, ConfigError> {
    if is_object_name(&value, 253) {
        Ok(value)
    } else {
        Err(origins.invalid(
            key,
            format!("is {value:?}; a Kubernetes object name is lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"),
        ))
    }
}

fn source(raw: RawSource, origins: &Origins) -> Result<EventStreamConfig, ConfigError> {
    let namespaces = raw.namespaces.unwrap_or_default();
    for (i, ns) in namespaces.iter().enumerate() {
        let key = "source.namespaces";
        if !is_object_name(ns, 63) || ns.contains('.') {
            return Err(origins.invalid(
                key,
                format!(
                    "item {i} is {ns:?}; a namespace is 1 to 63 lowercase letters, digits or '-'"
                ),
            ));
        }
        if namespaces[..i].contains(ns) {
            return Err(
                origins.invalid(key, format!("lists {ns:?} twice; list each namespace once"))
            );
        }
    }
    let mut config = EventStreamConfig::default()
        .api(raw.api.unwrap_or_default())
        .namespaces(namespaces)
        .objects(raw.objects.unwrap_or_default());
    for (key, value) in [
        ("source.label_selector", &raw.label_selector),
        ("source.field_selector", &raw.field_selector),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(origins.invalid(
                key,
                "is empty; write a selector such as app=api, or leave it out",
            ));
        }
    }
    config.label_selector = raw.label_selector;
    config.field_selector = raw.field_selector;
    Ok(config)
}

fn compiled(
    filter: FilterConfig,
    key: &str,
    origins: &Origins,
) -> Result<FilterConfig, ConfigError> {
    let _compiles = filter
        .compile()
        .map_err(|e| origins.invalid(key, e.to_string()))?;
    Ok(filter)
}

/// With a CloudWatch sink, a batch may hold as many events as one PutLogEvents request: under a
/// backlog the sink's own limit (1 MiB) then cuts each batch, so the exporter makes the fewest
/// requests it can, and a quiet cluster's batches are still cut by `max_batch_wait_secs`.
/// Without one, no sink bounds a batch's bytes, and the library's 500 events apply.
const CLOUDWATCH_MAX_BATCH_EVENTS: usize = MAX_BATCH_EVENTS;

/// Batches that large need a shorter queue to bound memory: at most four batches of up to
/// 1 MiB of JSON wait per sink, about as many events as the library's 16 batches of 500.
const CLOUDWATCH_QUEUE_BATCHES: usize = 4;

fn pipeline(
    raw: RawPipeline,
    sinks: &[SinkSettings],
    origins: &Origins,
) -> Result<PipelineConfig, ConfigError> {
    let defaults = PipelineConfig::default();
    let (default_batch_events, default_queue_batches) = if sinks
        .iter()
        .any(|sink| matches!(sink.kind, SinkKind::CloudWatch(_)))
    {
        (CLOUDWATCH_MAX_BATCH_EVENTS, CLOUDWATCH_QUEUE_BATCHES)
    } else {
        (defaults.max_batch_events, defaults.queue_batches)
    };
    let count = |key: &str, value: Option<usize>, default: usize, max: usize, why: &str| match value
    {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(origins.invalid(
            key,
            format!("is {n}; use 1 to {max}{why} (default {default})"),
        )),
    };
    let max_batch_events = count(
        "pipeline.max_batch_events",
        raw.max_batch_events,
        default_batch_events,
        MAX_BATCH_EVENTS,
        ": a PutLogEvents request holds at most 10,000 events",
    )?;
    let queue_batches = count(
        "pipeline.queue_batches",
        raw.queue_batches,
        default_queue_batches,
        1024,
        "",
    )?;
    let wait = origins.secs(
        "pipeline.max_batch_wait_secs",
        raw.max_batch_wait_secs,
        defaults.max_batch_wait,
        (0.001, 60.0),
    )?;
    let sink_timeout = origins.secs(
        "pipeline.sink_timeout_secs",
        raw.sink_timeout_secs,
        defaults.sink_timeout,
        (1.0, 600.0),
    )?;
    let shutdown = origins.secs(
        "pipeline.shutdown_timeout_secs",
        raw.shutdown_timeout_secs,
        DEFAULT_SHUTDOWN_TIMEOUT,
        (0.1, 600.0),
    )?;
    // The pipeline's outer timeout must not cut a send the sink still bounds itself: it would
    // count as a plain retry, where the sink's own timeout reports that the batch may be stored.
    for (i, sink) in sinks.iter().enumerate() {
        let (own, key) = match &sink.kind {
            SinkKind::CloudWatch(c) => (c.send_timeout(), "send_timeout_secs"),
            SinkKind::File(c) => (c.write_timeout, "write_timeout"),
            SinkKind::Otlp(c) => (Duration::from_secs(c.timeout_secs), "timeout_secs"),
            SinkKind::Webhook(c) => (c.send_timeout(), "send_timeout_secs"),
            _ => continue,
        };
        if own >= sink_timeout {
            return Err(origins.invalid(
                "pipeline.sink_timeout_secs",
                format!(
                    "is {}, not above sinks[{i}].{key} ({}): the sink's own timeout must fire first, so that an uncertain send is checked before it is resent",
                    sink_timeout.as_secs_f64(),
                    own.as_secs_f64()
                ),
            ));
        }
    }
    Ok(PipelineConfig::default()
        .max_batch_events(max_batch_events)
        .max_batch_wait(wait)
        .queue_batches(queue_batches)
        .sink_timeout(sink_timeout)
        .shutdown_timeout(shutdown))
}

fn server(raw: RawServer, origins: &Origins) -> Result<ServerSettings, ConfigError> {
    let text = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: SocketAddr = text.trim().parse().map_err(|_| {
        origins.invalid(
            "server.listen",
            format!("is {text:?}; write an IP address and a port, e.g. 0.0.0.0:8080 or [::]:8080"),
        )
    })?;
    let stall_after = origins.secs(
        "server.stall_after_secs",
        raw.stall_after_secs,
        event_core::health::DEFAULT_STALL_AFTER,
        (0.1, 3600.0),
    )?;
    Ok(ServerSettings {
        listen,
        stall_after,
    })
}

/// The level names `log.level` takes on its own; anything else must be a directive list.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

fn log(raw: RawLog, origins: &Origins) -> Result<LogSettings, ConfigError> {
    let level = raw.level.unwrap_or_else(|| "info".to_owned());
    let trimmed = level.trim();
    let bare_level = !trimmed.contains(['=', ',']);
    let valid = if bare_level {
        LEVELS.contains(&trimmed.to_ascii_lowercase().as_str())
    } else {
        tracing_subscriber::EnvFilter::builder()
            .parse(trimmed)
            .is_ok()
    };
    if !valid {
        return Err(origins.invalid(
            "log.level",
            format!("is {level:?}; use off, error, warn, info, debug or trace, or directives such as info,event_core=debug"),
        ));
    }
    Ok(LogSettings {
        format: raw.format.unwrap_or_default(),
        level: trimmed.to_owned(),
    })
}

mod replication;
#[cfg(test)]
mod tests;
