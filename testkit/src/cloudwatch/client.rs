//! An AWS SDK CloudWatch Logs client for a local endpoint (moto or a [`StrictProxy`]).
//!
//! [`StrictProxy`]: super::StrictProxy

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Builder, Credentials, Region};

/// The region every test client uses (moto keeps state per region).
pub const TEST_REGION: &str = "us-east-1";

/// A client configuration for `endpoint`: static credentials `test`/`test`, region
/// `us-east-1`, the endpoint override, SDK retries disabled (a test decides what is
/// retried) and the SDK's default timeouts. Change what a test needs, then build:
///
/// ```no_run
/// # async fn demo(endpoint: &str) {
/// use std::time::Duration;
/// use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
///
/// let config = testkit::cloudwatch::config(endpoint)
///     .timeout_config(
///         TimeoutConfig::builder()
///             .operation_timeout(Duration::from_secs(2))
///             .build(),
///     )
///     .build();
/// let logs = aws_sdk_cloudwatchlogs::Client::from_conf(config);
/// # }
/// ```
#[must_use]
pub fn config(endpoint: &str) -> Builder {
    aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static(TEST_REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "testkit"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
}

/// A client for `endpoint` as [`config`] describes it.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let moto = testkit::moto::Moto::start().await?;
/// let logs = testkit::cloudwatch::client(&moto.endpoint()).await;
/// logs.create_log_group().log_group_name("app").send().await.ok();
/// # Ok(())
/// # }
/// ```
pub async fn client(endpoint: &str) -> Client {
    Client::from_conf(config(endpoint).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clients_point_at_the_endpoint_without_retries() {
        let logs = client("http://127.0.0.1:1").await;
        let config = logs.config();
        assert_eq!(config.region().map(Region::as_ref), Some("us-east-1"));
        assert_eq!(
            config.retry_config().map(RetryConfig::max_attempts),
            Some(1)
        );
    }
}
