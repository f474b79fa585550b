//! [`CloudWatchSinkConfig`]: where events go in CloudWatch Logs, validated in one step.
//!
//! Over 400 lines with its tests only (about 360 without).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_TAGS, RETENTION_DAYS};
use crate::template::{NameTemplate, TemplateError};

/// The default log group template.
pub const DEFAULT_LOG_GROUP: &str = "/event-keeper/{cluster}";
/// The default log stream template.
pub const DEFAULT_LOG_STREAM: &str = "{namespace}";
/// The default bound of one AWS request, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// The default bound of one `send`, in seconds: under the pipeline's own 60 s `sink_timeout`.
pub const DEFAULT_SEND_TIMEOUT_SECS: u64 = 45;
const MAX_TIMEOUT_SECS: u64 = 600;

/// Settings of the [`CloudWatchSink`](crate::CloudWatchSink) (and, with the `history` feature,
/// of the client of the `CloudWatchHistory`, through `history_client`).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `log_group` | `/event-keeper/{cluster}` | log group name template; see [`NameTemplate`] for the placeholders |
/// | `log_stream` | `{namespace}` | log stream name template; cluster-scoped events render `{namespace}` as `_cluster` |
/// | `retention_days` | none (never expire) | retention set on the groups the sink creates: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 |
/// | `kms_key_id` | none | ARN of the KMS key that encrypts the groups the sink creates |
/// | `tags` | none | tags of the groups the sink creates (at most 50; keys 1-128 characters, not `aws:`; values up to 256) |
/// | `create_missing` | `true` | create missing groups and streams; with `false` a missing one is a fatal error |
/// | `region` | the default chain (`AWS_REGION`, profile, IMDS) | AWS region, e.g. `eu-west-1` |
/// | `endpoint_url` | the regional endpoint | another endpoint (LocalStack, moto, a VPC endpoint) |
/// | `timeout_secs` | `10` | bound of one AWS request (1-600); elapsing is retried by the pipeline |
/// | `send_timeout_secs` | `45` | bound of one whole `send` (at least `timeout_secs`, at most 600) |
///
/// Credentials come from aws-config's default chain: environment, profile, IRSA web identity,
/// ECS/EKS container credentials, IMDS.
///
/// ```
/// use sink_cloudwatch::CloudWatchSinkConfig;
///
/// let config = CloudWatchSinkConfig::from_json(r#"{
///     "log_group": "/event-keeper/{cluster}",
///     "log_stream": "{namespace}",
///     "retention_days": 30,
///     "region": "eu-west-1",
///     "tags": {"team": "platform"}
/// }"#)?;
/// assert_eq!(config.retention_days, Some(30));
/// # Ok::<(), sink_cloudwatch::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CloudWatchSinkConfig {
    /// Log group name template.
    pub log_group: String,
    /// Log stream name template.
    pub log_stream: String,
    /// Retention of the groups the sink creates; `None` never expires.
    pub retention_days: Option<u32>,
    /// AWS region; `None` uses the default chain.
    pub region: Option<String>,
    /// Endpoint override; `None` uses the regional endpoint.
    pub endpoint_url: Option<String>,
    /// KMS key ARN for the groups the sink creates.
    pub kms_key_id: Option<String>,
    /// Tags of the groups the sink creates.
    pub tags: BTreeMap<String, String>,
    /// Whether missing groups and streams are created.
    pub create_missing: bool,
    /// Bound of one AWS request, in seconds.
    pub timeout_secs: u64,
    /// Bound of one `send`, in seconds.
    pub send_timeout_secs: u64,
}

impl Default for CloudWatchSinkConfig {
    fn default() -> Self {
        CloudWatchSinkConfig {
            log_group: DEFAULT_LOG_GROUP.to_owned(),
            log_stream: DEFAULT_LOG_STREAM.to_owned(),
            retention_days: None,
            region: None,
            endpoint_url: None,
            kms_key_id: None,
            tags: BTreeMap::new(),
            create_missing: true,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            send_timeout_secs: DEFAULT_SEND_TIMEOUT_SECS,
        }
    }
}

impl CloudWatchSinkConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`log_group`](Self::log_group).
    #[must_use]
    pub fn log_group(mut self, template: impl Into<String>) -> Self {
        self.log_group = template.into();
        self
    }

    /// Sets [`log_stream`](Self::log_stream).
    #[must_use]
    pub fn log_stream(mut self, template: impl Into<String>) -> Self {
        self.log_stream = template.into();
        self
    }

    /// Sets [`retention_days`](Self::retention_days).
    #[must_use]
    pub fn retention_days(mut self, days: u32) -> Self {
        self.retention_days = Some(days);
        self
    }

    /// Sets [`region`](Self::region).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets [`endpoint_url`](Self::endpoint_url).
    #[must_use]
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Sets [`kms_key_id`](Self::kms_key_id).
    #[must_use]
    pub fn kms_key_id(mut self, arn: impl Into<String>) -> Self {
        self.kms_key_id = Some(arn.into());
        self
    }

    /// Adds one tag to [`tags`](Self::tags).
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Sets [`create_missing`](Self::create_missing).
    #[must_use]
    pub fn create_missing(mut self, create: bool) -> Self {
        self.create_missing = create;
        self
    }

    /// Sets [`timeout_secs`](Self::timeout_secs).
    #[must_use]
    pub fn timeout_secs(mut self, secs: u64) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Sets [`send_timeout_secs`](Self::send_timeout_secs).
    #[must_use]
    pub fn send_timeout_secs(mut self, secs: u64) -> Self {
        self.send_timeout_secs = secs;
        self
    }

    /// The bound of one AWS request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The bound of one `send`.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs)
    }

    /// Parses and validates a config written in JSON.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`] for malformed JSON, an unknown key or a value of the wrong shape
    /// (the message names the key), and the errors of [`validate`](Self::validate).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: CloudWatchSinkConfig =
            serde_json::from_str(json).map_err(|source| ConfigError::Syntax { source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting at once, before any AWS call.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Template`] for a name template that cannot work, [`ConfigError::Invalid`]
    /// naming the first other key whose value cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.templates()?;
        let invalid = |key, problem: String| Err(ConfigError::Invalid { key, problem });
        if let Some(days) = self.retention_days
            && !RETENTION_DAYS.contains(&days)
        {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
            return invalid(
                "retention_days",
                format!(
                    "is {days}; CloudWatch Logs accepts {}, or leave it out to never expire",
                    allowed.join(", ")
                ),
            );
        }
        if let Some(region) = &self.region
            && (region.is_empty()
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return invalid(
                "region",
                format!("is {region:?}; write a region code such as \"eu-west-1\""),
            );
        }
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(
                "endpoint_url",
                format!(
                    "is {url:?}; write a URL starting with https:// (or http:// for a local test server)"
                ),
            );
        }
        if let Some(key) = &self.kms_key_id
            && !(key.starts_with("arn:") && key.contains(":kms:"))
        {
            return invalid(
                "kms_key_id",
                format!(
                    "is {key:?}; CreateLogGroup takes the full key ARN, arn:aws:kms:REGION:ACCOUNT:key/ID"
                ),
            );
        }
        self.validate_tags()?;
        if !(1..=MAX_TIMEOUT_SECS).contains(&self.timeout_secs) {
            return invalid(
                "timeout_secs",
                format!(
                    "is {}; use 1 to {MAX_TIMEOUT_SECS} seconds, e.g. 10",
                    self.timeout_secs
                ),
            );
        }
        if !(self.timeout_secs..=MAX_TIMEOUT_SECS).contains(&self.send_timeout_secs) {
            return invalid(
                "send_timeout_secs",
                format!(
                    "is {}; use at least timeout_secs ({}) and at most {MAX_TIMEOUT_SECS}, below the pipeline's sink_timeout",
                    self.send_timeout_secs, self.timeout_secs
                ),
            );
        }
        Ok(())
    }

    fn validate_tags(&self) -> Result<(), ConfigError> {
        let invalid = |problem: String| {
            Err(ConfigError::Invalid {
                key: "tags",
                problem,
            })
        };
        if self.tags.len() > MAX_TAGS {
            return invalid(format!(
                "has {} tags; a log group takes at most {MAX_TAGS}",
                self.tags.len()
            ));
        }
        for (key, value) in &self.tags {
            let key_len = key.chars().count();
            if key_len == 0 || key_len > MAX_TAG_KEY_LEN || key.starts_with("aws:") {
                return invalid(format!(
                    "has key {key:?}; keys are 1 to {MAX_TAG_KEY_LEN} characters and cannot start with \"aws:\""
                ));
            }
            if value.chars().count() > MAX_TAG_VALUE_LEN {
                return invalid(format!(
                    "has a value of {} characters for {key:?}; values are at most {MAX_TAG_VALUE_LEN}",
                    value.chars().count()
                ));
            }
        }
        Ok(())
    }

    /// The parsed group and stream templates.
    pub(crate) fn templates(&self) -> Result<(NameTemplate, NameTemplate), ConfigError> {
        let group =
            NameTemplate::log_group(&self.log_group).map_err(|source| ConfigError::Template {
                key: "log_group",
                source,
            })?;
        let stream =
            NameTemplate::log_stream(&self.log_stream).map_err(|source| ConfigError::Template {
                key: "log_stream",
                source,
            })?;
        Ok((group, stream))
    }
}

/// A config that cannot work, found before the sink starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JSON is malformed, has an unknown key, or a value of the wrong shape.
    #[error("cloudwatch sink config cannot be read: {source}")]
    Syntax {
        /// The parser's error, naming the key and the position.
        #[source]
        source: serde_json::Error,
    },
    /// A name template cannot be used.
    #[error("cloudwatch sink config `{key}` {source}")]
    Template {
        /// `log_group` or `log_stream`.
        key: &'static str,
        /// What is wrong with it.
        #[source]
        source: TemplateError,
    },
    /// A value is out of range, or cannot be resolved (a region found nowhere).
    #[error("cloudwatch sink config `{key}` {problem}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong and what to write instead.
        problem: String,
    },
}

impl ConfigError {
    /// The key the error is about, when it names one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::Template { key, .. } => Some(key),
            ConfigError::Syntax { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<CloudWatchSinkConfig, ConfigError> {
        CloudWatchSinkConfig::from_json(json)
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let config = parse("{}").unwrap();
        assert_eq!(config, CloudWatchSinkConfig::new());
        assert_eq!(config.log_group, "/event-keeper/{cluster}");
        assert_eq!(config.log_stream, "{namespace}");
        assert_eq!(config.retention_days, None);
        assert_eq!(
            (config.region.as_deref(), config.endpoint_url.as_deref()),
            (None, None)
        );
        assert_eq!(config.kms_key_id, None);
        assert!(config.tags.is_empty());
        assert!(config.create_missing);
        assert_eq!(config.timeout(), Duration::from_secs(10));
        assert_eq!(config.send_timeout(), Duration::from_secs(45));
    }

    #[test]
    fn reads_every_key() {
        let config = parse(
            r#"{"log_group": "/ek/{cluster}/{type}", "log_stream": "{namespace}/{kind}",
                "retention_days": 3653, "region": "eu-west-1",
                "endpoint_url": "http://127.0.0.1:4566",
                "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/abc",
                "tags": {"team": "platform"}, "create_missing": false,
                "timeout_secs": 5, "send_timeout_secs": 20}"#,
        )
        .unwrap();
        let expected = CloudWatchSinkConfig::new()
            .log_group("/ek/{cluster}/{type}")
            .log_stream("{namespace}/{kind}")
            .retention_days(3653)
            .region("eu-west-1")
            .endpoint_url("http://127.0.0.1:4566")
            .kms_key_id("arn:aws:kms:eu-west-1:123456789012:key/abc")
            .tag("team", "platform")
            .create_missing(false)
            .timeout_secs(5)
            .send_timeout_secs(20);
        assert_eq!(config, expected);
    }

    #[test]
    fn unknown_keys_are_named_in_the_error() {
        let err = parse(r#"{"log_groups": "/x"}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `log_groups`"),
            "{err}"
        );
        assert_eq!(err.key(), None);
    }

    #[test]
    fn unknown_placeholder_names_the_key_and_the_placeholder() {
        let err = parse(r#"{"log_stream": "{namespace}/{pod}"}"#).unwrap_err();
        assert_eq!(err.key(), Some("log_stream"));
        let message = err.to_string();
        assert!(message.contains("`log_stream`"), "{message}");
        assert!(message.contains("`{pod}`"), "{message}");
    }

    #[test]
    fn every_accepted_retention_is_accepted_and_others_list_them() {
        for days in RETENTION_DAYS {
            assert!(
                CloudWatchSinkConfig::new()
                    .retention_days(days)
                    .validate()
                    .is_ok(),
                "{days}"
            );
        }
        let err = parse(r#"{"retention_days": 2}"#).unwrap_err();
        assert_eq!(err.key(), Some("retention_days"));
        let message = err.to_string();
        assert!(message.contains("is 2"), "{message}");
        assert!(message.contains("1, 3, 5, 7, 14"), "{message}");
        assert!(message.contains("3653"), "{message}");
    }

    #[test]
    fn out_of_range_values_name_their_key_and_the_fix() {
        let too_many: BTreeMap<String, String> =
            (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        let cases = [
            (
                CloudWatchSinkConfig::new().region("eu west"),
                "region",
                "region code",
            ),
            (
                CloudWatchSinkConfig::new().region(""),
                "region",
                "region code",
            ),
            (
                CloudWatchSinkConfig::new().endpoint_url("localhost:4566"),
                "endpoint_url",
                "https://",
            ),
            (
                CloudWatchSinkConfig::new().kms_key_id("alias/logs"),
                "kms_key_id",
                "key ARN",
            ),
            (
                CloudWatchSinkConfig::new().tag("aws:owner", "x"),
                "tags",
                "aws:",
            ),
            (CloudWatchSinkConfig::new().tag("", "x"), "tags", "1 to 128"),
            (
                CloudWatchSinkConfig::new().tag("k", "v".repeat(257)),
                "tags",
                "at most 256",
            ),
            (
                CloudWatchSinkConfig {
                    tags: too_many,
                    ..Default::default()
                },
                "tags",
                "at most 50",
            ),
            (
                CloudWatchSinkConfig::new().timeout_secs(0),
                "timeout_secs",
                "1 to 600",
            ),
            (
                CloudWatchSinkConfig::new()
                    .timeout_secs(20)
                    .send_timeout_secs(10),
                "send_timeout_secs",
                "at least timeout_secs",
            ),
            (
                CloudWatchSinkConfig::new().log_group(""),
                "log_group",
                "is empty",
            ),
            (
                CloudWatchSinkConfig::new().log_group("/a b"),
                "log_group",
                "' '",
            ),
        ];
        for (config, key, hint) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.key(), Some(key), "{err}");
            let message = err.to_string();
            assert!(message.contains(&format!("`{key}`")), "{message}");
            assert!(message.contains(hint), "{message}");
        }
    }

    #[test]
    fn boundary_values_are_accepted() {
        let config = CloudWatchSinkConfig::new()
            .timeout_secs(600)
            .send_timeout_secs(600)
            .tag("k".repeat(128), "v".repeat(256))
            .endpoint_url("https://logs.eu-west-1.amazonaws.com");
        assert!(config.validate().is_ok());
        assert!(
            CloudWatchSinkConfig::new()
                .timeout_secs(1)
                .send_timeout_secs(1)
                .validate()
                .is_ok()
        );
    }
}
