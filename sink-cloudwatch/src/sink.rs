//! [`CloudWatchSink`]: the [`Sink`] that stores events in CloudWatch Logs.

mod destinations;
mod healthcheck;
mod stored;

use std::collections::{HashMap, HashSet, VecDeque};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use event_core::{BatchLimits, Event, OccurrenceKey, Rejection, Sink, SinkError};

use crate::batch::{self, PUT_LOG_EVENTS, PutRequest, Window};
use crate::client::{client_from_config, retune};
use crate::config::{CloudWatchSinkConfig, ConfigError};
use crate::error::FailureKind;
use crate::limits::{EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use crate::rejected::refused_positions;
use crate::service;
use crate::stats::CloudWatchSinkStats;
use crate::template::NameTemplate;
use destinations::Destinations;
use event_core::clock::Clock;

/// The name the sink reports in logs and metrics.
pub const SINK_NAME: &str = "cloudwatch";

/// What became of an event of a batch that failed part way, so that the retry of that batch
/// sends only the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settled {
    Stored,
    Refused(String),
}

/// Stores events in Amazon CloudWatch Logs, one JSON record per event.
///
/// See the [crate documentation](crate) for what it guarantees; the settings are on
/// [`CloudWatchSinkConfig`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::{Event, Sink};
/// use sink_cloudwatch::{CloudWatchSink, CloudWatchSinkConfig};
///
/// let config = CloudWatchSinkConfig::new()
///     .log_group("/event-keeper/{cluster}")
///     .retention_days(30);
/// let mut sink = CloudWatchSink::connect(config).await?;
/// sink.health_check().await?;
/// sink.send(&[Event::new("7d3c6a2e", "1042")]).await?;
/// println!("{} PutLogEvents calls", sink.stats().put_calls());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CloudWatchSink {
    client: Client,
    config: CloudWatchSinkConfig,
    group: NameTemplate,
    stream: NameTemplate,
    clock: Clock,
    stats: CloudWatchSinkStats,
    destinations: Destinations,
    settled: HashMap<OccurrenceKey, Settled>,
}

impl CloudWatchSink {
    /// Validates `config` and builds a client from the default credentials chain.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an invalid config or when no region is set anywhere.
    pub async fn connect(config: CloudWatchSinkConfig) -> Result<Self, ConfigError> {
        let client = client_from_config(&config).await?;
        Self::from_client(client, config)
    }

    /// Validates `config` and uses `client` (its credentials, region and endpoint), with the
    /// sink's timeouts and SDK retries turned off. `region` and `endpoint_url` of the config are
    /// not applied: the client already has them.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an invalid config.
    pub fn from_client(client: Client, config: CloudWatchSinkConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let (group, stream) = config.templates()?;
        Ok(CloudWatchSink {
            client: retune(&client, config.timeout()),
            config,
            group,
            stream,
            clock: Clock::system(),
            stats: CloudWatchSinkStats::default(),
            destinations: Destinations::default(),
            settled: HashMap::new(),
        })
    }

    /// Reads "now" from `clock` (for the accepted time window) instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The sink's counters; clones keep counting after the sink moves into a pipeline.
    pub fn stats(&self) -> CloudWatchSinkStats {
        self.stats.clone()
    }

    /// The client the sink uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The validated config.
    pub fn config(&self) -> &CloudWatchSinkConfig {
        &self.config
    }

    /// The log group and stream `event` goes to.
    pub fn destination(&self, event: &Event) -> (String, String) {
        (self.group.render(event), self.stream.render(event))
    }

    fn window(&self) -> Window {
        Window::at(self.clock.now(), self.config.retention_days)
    }

    async fn send_all(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        let mut refused: Vec<Rejection> = Vec::new();
        let mut pending = Vec::with_capacity(batch.len());
        for (index, event) in batch.iter().enumerate() {
            match self.settled.get(&event.key()) {
                Some(Settled::Stored) => {}
                Some(Settled::Refused(reason)) => refused.push(Rejection::new(index, reason)),
                None => pending.push((index, event)),
            }
        }
        let prepared = batch::prepare(
            pending,
            &self.group,
            &self.stream,
            self.window(),
            PUT_LOG_EVENTS,
        );
        for rejection in prepared.rejected {
            tracing::warn!(
                sink = SINK_NAME,
                event.uid = %batch[rejection.index].uid,
                event.rv = %batch[rejection.index].resource_version,
                reason = %rejection.reason,
                "event cannot be stored in CloudWatch Logs"
            );
            self.settle(
                &batch[rejection.index],
                Settled::Refused(rejection.reason.clone()),
            );
            self.stats.add_events_rejected(1);
            refused.push(rejection);
        }
        let mut queue: VecDeque<PutRequest> = prepared.requests.into();
        while let Some(request) = queue.pop_front() {
            self.put(request, batch, &mut queue, &mut refused).await?;
        }
        self.settled.clear();
        if refused.is_empty() {
            Ok(())
        } else {
            refused.sort_by_key(|r| r.index);
            Err(SinkError::rejected(refused))
        }
    }

    /// Sends one request, creating its destination when missing and splitting it when
    /// CloudWatch calls it invalid; pushes the halves of a split request back on `queue`.
    async fn put(
        &mut self,
        request: PutRequest,
        batch: &[Event],
        queue: &mut VecDeque<PutRequest>,
        refused: &mut Vec<Rejection>,
    ) -> Result<(), SinkError> {
        let mut created = false;
        loop {
            self.stats.add_put_calls(1);
            let failure = match service::put_log_events(&self.client, &request).await {
                Ok(info) => {
                    self.record_stored(&request, info.as_ref(), batch, refused);
                    return Ok(());
                }
                Err(failure) => failure,
            };
            self.stats.add_put_failures(1);
            if failure.kind == FailureKind::Throttled {
                self.stats.add_put_throttled(1);
            }
            let target = format!("{}:{}", request.group, request.stream);
            match failure.kind {
                FailureKind::NotFound if !created => {
                    destinations::create(self, &request.group, &request.stream).await?;
                    created = true;
                }
                FailureKind::InvalidParameter => {
                    log_invalid(&request, &failure);
                    if request.entries.len() > 1 {
                        let (a, b) = request.split_in_half();
                        queue.push_front(b);
                        queue.push_front(a);
                    } else {
                        for entry in &request.entries {
                            let reason =
                                format!("CloudWatch Logs refused the event as invalid: {failure}");
                            self.settle(&batch[entry.index], Settled::Refused(reason.clone()));
                            self.stats.add_events_rejected(1);
                            refused.push(Rejection::new(entry.index, reason));
                        }
                    }
                    return Ok(());
                }
                _ => {
                    tracing::warn!(
                        sink = SINK_NAME,
                        log_group = %request.group,
                        log_stream = %request.stream,
                        events = request.entries.len(),
                        error = %failure,
                        "PutLogEvents failed"
                    );
                    return Err(failure.into_sink_error(&target));
                }
            }
        }
    }

    fn record_stored(
        &mut self,
        request: &PutRequest,
        info: Option<&aws_sdk_cloudwatchlogs::types::RejectedLogEventsInfo>,
        batch: &[Event],
        refused: &mut Vec<Rejection>,
    ) {
        let mut refused_here: HashMap<usize, &'static str> = HashMap::new();
        if let Some(info) = info {
            refused_here.extend(refused_positions(info, request.entries.len()));
            if !refused_here.is_empty() {
                tracing::warn!(
                    sink = SINK_NAME,
                    log_group = %request.group,
                    log_stream = %request.stream,
                    refused = refused_here.len(),
                    too_new_start = ?info.too_new_log_event_start_index(),
                    too_old_end = ?info.too_old_log_event_end_index(),
                    expired_end = ?info.expired_log_event_end_index(),
                    "CloudWatch Logs refused events of a request (rejectedLogEventsInfo)"
                );
            }
        }
        for (position, entry) in request.entries.iter().enumerate() {
            let event = &batch[entry.index];
            if let Some(reason) = refused_here.get(&position) {
                self.settle(event, Settled::Refused((*reason).to_owned()));
                self.stats.add_events_rejected(1);
                refused.push(Rejection::new(entry.index, *reason));
                continue;
            }
            self.settle(event, Settled::Stored);
            self.stats.add_events_stored(1);
            self.stats
                .add_bytes_stored((entry.message.len() + EVENT_OVERHEAD_BYTES) as u64);
            if entry.clamped {
                self.stats.add_events_clamped(1);
            }
            if entry.truncated {
                self.stats.add_events_truncated(1);
            }
        }
    }

    fn settle(&mut self, event: &Event, outcome: Settled) {
        self.settled.insert(event.key(), outcome);
    }
}

/// Logs the shape of a request CloudWatch refused as invalid: a bug in request building, or a
/// service with other limits. The first refusal is an error; those of its halves are details.
fn log_invalid(request: &PutRequest, failure: &crate::error::Failure) {
    let (first, last) = request.time_range();
    if request.split {
        tracing::debug!(
            sink = SINK_NAME,
            log_group = %request.group,
            log_stream = %request.stream,
            events = request.entries.len(),
            bytes = request.bytes,
            error = %failure,
            "part of an invalid request refused as well"
        );
    } else {
        tracing::error!(
            sink = SINK_NAME,
            log_group = %request.group,
            log_stream = %request.stream,
            events = request.entries.len(),
            bytes = request.bytes,
            first_timestamp = first,
            last_timestamp = last,
            span_ms = last - first,
            error = %failure,
            "CloudWatch Logs refused a request as invalid; splitting it to isolate the cause"
        );
    }
}

#[async_trait]
impl Sink for CloudWatchSink {
    fn name(&self) -> &str {
        SINK_NAME
    }

    /// Stores the batch: `Ok` once CloudWatch Logs acknowledged every request of it.
    ///
    /// A batch that failed part way is retried without the events already acknowledged (the
    /// sink remembers them until the batch completes), so a throttled second request does not
    /// duplicate the first.
    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let bound = self.config.send_timeout();
        match tokio::time::timeout(bound, self.send_all(batch)).await {
            Ok(result) => result,
            Err(elapsed) => Err(SinkError::maybe_stored(
                format!(
                    "sending to CloudWatch Logs took longer than {bound:?}; checking what was stored before resending"
                ),
                elapsed,
            )),
        }
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        Some(
            BatchLimits::new(MAX_BATCH_EVENTS, MAX_BATCH_BYTES)
                .per_event_overhead(EVENT_OVERHEAD_BYTES),
        )
    }

    async fn already_stored(
        &mut self,
        candidates: &[Event],
    ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
        let bound = self.config.send_timeout();
        match tokio::time::timeout(bound, stored::lookup(self, candidates)).await {
            Ok(result) => result.map(Some),
            Err(elapsed) => Err(SinkError::retryable(
                format!("looking up stored events in CloudWatch Logs took longer than {bound:?}"),
                elapsed,
            )),
        }
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        healthcheck::check(&self.client, &self.group).await
    }
}
