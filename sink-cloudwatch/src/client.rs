//! The AWS SDK client: credentials and region from the default chain, our timeouts, no SDK
//! retries.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{Builder, Region};

use crate::config::{CloudWatchSinkConfig, ConfigError};

/// The longest a TCP + TLS connection may take to open, whatever the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a CloudWatch Logs client for `config`: credentials and region from aws-config's
/// default chain (environment, profile, IRSA web identity, container credentials, IMDS), the
/// `region` and `endpoint_url` overrides, rustls, the request timeout, and no SDK retries.
///
/// The SDK's own retries are turned off because the pipeline retries every retryable error
/// with its own backoff, and a retry hidden inside one `send` would stack a second backoff
/// under it, hold the single in-flight call past its timeouts, and resend a PutLogEvents whose
/// outcome is unknown without asking what was stored first.
///
/// ```no_run
/// # async fn demo() -> Result<(), sink_cloudwatch::ConfigError> {
/// use sink_cloudwatch::{CloudWatchSinkConfig, client_from_config};
///
/// let client = client_from_config(&CloudWatchSinkConfig::new().region("eu-west-1")).await?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`ConfigError`] when the config is invalid or no region is set anywhere.
pub async fn client_from_config(config: &CloudWatchSinkConfig) -> Result<Client, ConfigError> {
    config.validate()?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    let shared = loader.load().await;
    if shared.region().is_none() {
        return Err(ConfigError::Invalid {
            key: "region",
            problem: "is not set and none was found in AWS_REGION, AWS_DEFAULT_REGION or the AWS profile; set `region`".to_owned(),
        });
    }
    let builder = aws_sdk_cloudwatchlogs::config::Builder::from(&shared);
    Ok(Client::from_conf(tune(builder, config.timeout()).build()))
}

/// The same client with our retry and timeout settings, for clients built elsewhere.
pub(crate) fn retune(client: &Client, timeout: Duration) -> Client {
    Client::from_conf(tune(client.config().to_builder(), timeout).build())
}

fn tune(builder: Builder, timeout: Duration) -> Builder {
    builder
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_client_has_no_sdk_retries_and_our_timeouts() {
        let config = CloudWatchSinkConfig::new()
            .region("eu-west-1")
            .endpoint_url("http://127.0.0.1:9")
            .timeout_secs(7);
        let client = client_from_config(&config).await.unwrap();
        let conf = client.config();
        assert_eq!(conf.retry_config().unwrap().max_attempts(), 1);
        let timeouts = conf.timeout_config().unwrap();
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(7))
        );
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }

    #[tokio::test]
    async fn an_invalid_config_is_refused_before_loading_anything() {
        let err = client_from_config(&CloudWatchSinkConfig::new().retention_days(2))
            .await
            .unwrap_err();
        assert_eq!(err.key(), Some("retention_days"));
    }
}
