//! [`WebhookSink`]: a batch in, one POST per request body out, each with its idempotency key.

use std::collections::HashSet;

use async_trait::async_trait;
use event_core::sink::BatchLimits;
use event_core::{Event, Sink, SinkError};
use http::{HeaderName, Uri};

use crate::config::WebhookSinkConfig;
use crate::encode::{self, Format, Request, RequestLimits};
use crate::idempotency::key_of;
use crate::secret::{self, SecretError};
use crate::stats::WebhookSinkStats;
use sink_http::{HeaderSource, HttpClient, HttpConfigError, HttpOptions};

/// A [`Sink`] that POSTs each batch to a webhook; see the [crate documentation](crate) for
/// the request and what a receiver can rely on.
///
/// `Debug` shows neither header values nor the URL's path and query.
pub struct WebhookSink {
    client: HttpClient,
    uri: Uri,
    endpoint: String,
    format: Format,
    limits: RequestLimits,
    idempotency_header: HeaderName,
    send_timeout: std::time::Duration,
    stats: WebhookSinkStats,
    /// Requests of the batch in progress already answered 2xx, by idempotency key, with the
    /// key of that whole batch: a resend of it skips them.
    delivered: (String, HashSet<String>),
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("endpoint", &self.endpoint)
            .field("format", &self.format)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// Validates `config`, reads its secrets and builds the HTTP client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`WebhookError`] naming the setting to fix: an invalid value, an unreadable secret or
    /// CA bundle.
    pub fn new(config: WebhookSinkConfig) -> Result<Self, WebhookError> {
        config.validate()?;
        let uri: Uri = config.url.parse().map_err(|_| {
            WebhookError::Config(crate::ConfigError::Invalid {
                key: "url",
                problem: "is not a URL".to_owned(),
            })
        })?;
        let idempotency_header = HeaderName::from_bytes(config.idempotency_header.as_bytes())
            .map_err(|_| {
                WebhookError::Config(crate::ConfigError::Invalid {
                    key: "idempotency_header",
                    problem: "is not a header name".to_owned(),
                })
            })?;
        let mut options = HttpOptions::default()
            .gzip(config.gzip)
            .connect_timeout(std::time::Duration::from_secs(config.connect_timeout_secs))
            .request_timeout(config.timeout());
        if let Some(ca) = &config.ca_file {
            options = options.ca_file(ca.clone());
        }
        // Read here rather than by sink-http, so that errors name the sink's own keys and
        // `auth` can be turned into an Authorization header.
        for header in secret::resolve(&config.headers, config.auth.as_ref())? {
            options = options.header(header.name, HeaderSource::Value(header.value));
        }
        let client = HttpClient::new(&options)?;
        Ok(WebhookSink {
            client,
            uri,
            endpoint: config.endpoint_for_logs(),
            format: config.format,
            limits: RequestLimits {
                max_events: config.max_batch_events,
                max_body_bytes: config.max_body_bytes,
            },
            idempotency_header,
            send_timeout: config.send_timeout(),
            stats: WebhookSinkStats::default(),
            delivered: (String::new(), HashSet::new()),
        })
    }

    /// The sink's counters, shared: clone them before the sink moves into a pipeline.
    pub fn stats(&self) -> WebhookSinkStats {
        self.stats.clone()
    }

    async fn post(&mut self, request: Request) -> Result<(), SinkError> {
        if self.delivered.1.contains(&request.idempotency_key) {
            self.stats.skipped();
            return Ok(());
        }
        let key = http::HeaderValue::from_str(&request.idempotency_key)
            .map_err(|e| SinkError::fatal("the idempotency key is not a header value", e))?;
        let events = request.indexes.len();
        let bytes = request.body.len();
        self.stats.request();
        let headers = [(self.idempotency_header.clone(), key)];
        match self
            .client
            .post(
                &self.uri,
                self.format.content_type(),
                request.body,
                &headers,
            )
            .await
        {
            Ok(response) => {
                self.stats.delivered(events, bytes);
                tracing::debug!(
                    sink = "webhook",
                    endpoint = %self.endpoint,
                    status = response.status.as_u16(),
                    events,
                    bytes,
                    idempotency_key = %request.idempotency_key,
                    "batch posted"
                );
                self.delivered.1.insert(request.idempotency_key);
                Ok(())
            }
            Err(error) => {
                self.stats.failure();
                tracing::debug!(
                    sink = "webhook",
                    endpoint = %self.endpoint,
                    events,
                    idempotency_key = %request.idempotency_key,
                    %error,
                    "post failed"
                );
                Err(error)
            }
        }
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        "webhook"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        let batch_key = key_of(batch);
        if self.delivered.0 != batch_key {
            self.delivered = (batch_key, HashSet::new());
        }
        let plan = encode::plan(batch, self.format, self.limits);
        let rejected = plan.rejected;
        let requests = plan.requests;
        let send_timeout = self.send_timeout;
        let posting = async {
            for request in requests {
                self.post(request).await?;
            }
            Ok::<(), SinkError>(())
        };
        match tokio::time::timeout(send_timeout, posting).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(elapsed) => {
                return Err(SinkError::maybe_stored(
                    format!(
                        "posting the batch to {} did not finish within {:?}",
                        self.endpoint, send_timeout
                    ),
                    elapsed,
                ));
            }
        }
        self.delivered = (String::new(), HashSet::new());
        if rejected.is_empty() {
            Ok(())
        } else {
            self.stats.rejected(rejected.len());
            Err(SinkError::rejected(rejected))
        }
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        Some(
            self.format
                .batch_limits(self.limits.max_events, self.limits.max_body_bytes),
        )
    }
}

/// Why a [`WebhookSink`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A setting cannot work.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// A header value or credential could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The HTTP client could not be built (CA bundle, TLS).
    #[error(transparent)]
    Http(#[from] HttpConfigError),
}
