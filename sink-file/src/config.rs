//! [`FileSinkConfig`]: where and how the archive is written, validated in one step.
//!
//! Over 400 lines with its tests only (about 350 without).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::retention::Retention;
use crate::rotation::{Period, Rotation};
use crate::writer::FsyncPolicy;

/// The default file name prefix.
pub const DEFAULT_PREFIX: &str = "events";
/// The default size limit of one file: 100 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// The smallest size limit accepted: below it, nearly every batch would start a file.
pub const MIN_MAX_FILE_BYTES: u64 = 1024;
/// The default bound of one write, under the pipeline's own 60 s `sink_timeout`.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_PREFIX_LEN: usize = 64;

/// Settings of the [`FileSink`](crate::FileSink).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `directory` | required | folder of the archive; created if missing |
/// | `prefix` | `events` | start of every file name: 1–64 letters, digits, `_` or `-` |
/// | `rotation` | `hourly` | `hourly`, `daily` (UTC) or `never`: when a new file starts by time |
/// | `max_file_bytes` | `104857600` (100 MiB) | a new file starts before one would grow past this; `0` for no limit, else at least 1024 |
/// | `fsync` | `every-batch` | `every-batch`, `never`, or `{"interval": "5s"}`; see [`FsyncPolicy`] |
/// | `compress` | `false` | gzip each closed file to `.jsonl.gz` |
/// | `keep_files` | none (keep all) | keep at most this many files, the one being written included |
/// | `keep_days` | none (keep all) | delete files whose last write is older than this many days |
/// | `write_timeout` | `30s` | bound of one `send` or `flush`; elapsing is retryable |
///
/// Durations are written like `500ms`, `5s`, `1m 30s` or `PT5S`.
///
/// ```
/// use sink_file::FileSinkConfig;
///
/// let config = FileSinkConfig::from_json(r#"{
///     "directory": "/var/lib/event-keeper/archive",
///     "rotation": "daily",
///     "max_file_bytes": 268435456,
///     "fsync": {"interval": "1s"},
///     "compress": true,
///     "keep_days": 30
/// }"#)?;
/// assert_eq!(config.rotation.to_string(), "daily or at 268435456 bytes");
/// # Ok::<(), sink_file::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "RawConfig")]
#[non_exhaustive]
pub struct FileSinkConfig {
    /// The folder the archive is written to.
    pub directory: PathBuf,
    /// The start of every file name.
    pub prefix: String,
    /// When a new file starts: by period (`rotation`) and size (`max_file_bytes`).
    pub rotation: Rotation,
    /// When written data is synced to the disk.
    pub fsync: FsyncPolicy,
    /// Whether closed files are gzipped.
    pub compress: bool,
    /// Keep at most this many files; `None` keeps them all.
    pub keep_files: Option<u32>,
    /// Keep the files written in the last this many days; `None` keeps them all.
    pub keep_days: Option<u32>,
    /// The bound of one `send` or `flush`.
    pub write_timeout: Duration,
}

impl FileSinkConfig {
    /// The default settings, writing to `directory`.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        FileSinkConfig {
            directory: directory.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            rotation: Rotation::HOURLY.with_max_bytes(DEFAULT_MAX_FILE_BYTES),
            fsync: FsyncPolicy::default(),
            compress: false,
            keep_files: None,
            keep_days: None,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }

    /// Sets [`prefix`](Self::prefix).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`rotation`](Self::rotation), its size limit included.
    #[must_use]
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// Sets [`fsync`](Self::fsync).
    #[must_use]
    pub fn fsync(mut self, fsync: FsyncPolicy) -> Self {
        self.fsync = fsync;
        self
    }

    /// Sets [`compress`](Self::compress).
    #[must_use]
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Sets [`keep_files`](Self::keep_files).
    #[must_use]
    pub fn keep_files(mut self, files: u32) -> Self {
        self.keep_files = Some(files);
        self
    }

    /// Sets [`keep_days`](Self::keep_days).
    #[must_use]
    pub fn keep_days(mut self, days: u32) -> Self {
        self.keep_days = Some(days);
        self
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Parses and validates a config written in JSON.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`] for malformed JSON, an unknown key or a value of the wrong shape
    /// (the message names the key), and the errors of [`validate`](Self::validate).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: FileSinkConfig =
            serde_json::from_str(json).map_err(|source| ConfigError::Syntax { source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting at once, before anything touches the disk.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the first key whose value cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: String| Err(ConfigError::Invalid { key, problem });
        if self.directory.as_os_str().is_empty() {
            return invalid(
                "directory",
                "is empty; set it to the folder the archive is written to".into(),
            );
        }
        let prefix_ok = (1..=MAX_PREFIX_LEN).contains(&self.prefix.len())
            && self
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !prefix_ok {
            return invalid(
                "prefix",
                format!(
                    "is {:?}; use 1 to {MAX_PREFIX_LEN} letters, digits, '_' or '-'",
                    self.prefix
                ),
            );
        }
        if let Some(bytes) = self
            .rotation
            .max_bytes()
            .filter(|b| *b < MIN_MAX_FILE_BYTES)
        {
            return invalid(
                "max_file_bytes",
                format!("is {bytes}; use at least {MIN_MAX_FILE_BYTES}, or 0 for no size limit"),
            );
        }
        if let FsyncPolicy::Interval(interval) = self.fsync
            && interval.is_zero()
        {
            return invalid(
                "fsync",
                "has an interval of 0; use \"every-batch\" to sync after each batch".into(),
            );
        }
        if self.keep_files == Some(0) {
            return invalid(
                "keep_files",
                "is 0; keep at least 1 (the file being written), or leave it out to keep all"
                    .into(),
            );
        }
        if self.keep_days == Some(0) {
            return invalid(
                "keep_days",
                "is 0; keep at least 1 day, or leave it out to keep all".into(),
            );
        }
        if self.write_timeout.is_zero() {
            return invalid(
                "write_timeout",
                "is 0; every write would time out, use e.g. \"30s\"".into(),
            );
        }
        Ok(())
    }

    pub(crate) fn retention(&self) -> Retention {
        Retention {
            keep_files: self.keep_files,
            keep_days: self.keep_days,
        }
    }
}

/// A config that cannot work, found before the sink starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JSON is malformed, has an unknown key, or a value of the wrong shape.
    #[error("file sink config cannot be read: {source}")]
    Syntax {
        /// The parser's error, naming the key and the position.
        #[source]
        source: serde_json::Error,
    },
    /// A value is out of range.
    #[error("file sink config `{key}` {problem}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong and what to write instead.
        problem: String,
    },
}

impl ConfigError {
    /// The key that [`Invalid`](ConfigError::Invalid) names.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Syntax { .. } => None,
        }
    }
}

/// The config as written, before the size limit joins the rotation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    directory: PathBuf,
    #[serde(default = "default_prefix")]
    prefix: String,
    #[serde(default)]
    rotation: RawPeriod,
    #[serde(default = "default_max_file_bytes")]
    max_file_bytes: u64,
    #[serde(default)]
    fsync: RawFsync,
    #[serde(default)]
    compress: bool,
    #[serde(default)]
    keep_files: Option<u32>,
    #[serde(default)]
    keep_days: Option<u32>,
    #[serde(default = "default_write_timeout", deserialize_with = "duration")]
    write_timeout: Duration,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
enum RawPeriod {
    #[default]
    Hourly,
    Daily,
    Never,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
enum RawFsync {
    #[default]
    EveryBatch,
    Interval(#[serde(deserialize_with = "duration")] Duration),
    Never,
}

impl From<RawConfig> for FileSinkConfig {
    fn from(raw: RawConfig) -> Self {
        let period = match raw.rotation {
            RawPeriod::Hourly => Period::Hourly,
            RawPeriod::Daily => Period::Daily,
            RawPeriod::Never => Period::Never,
        };
        FileSinkConfig {
            directory: raw.directory,
            prefix: raw.prefix,
            rotation: Rotation::from_period(period).with_max_bytes(raw.max_file_bytes),
            fsync: match raw.fsync {
                RawFsync::EveryBatch => FsyncPolicy::EveryBatch,
                RawFsync::Interval(interval) => FsyncPolicy::Interval(interval),
                RawFsync::Never => FsyncPolicy::Never,
            },
            compress: raw.compress,
            keep_files: raw.keep_files,
            keep_days: raw.keep_days,
            write_timeout: raw.write_timeout,
        }
    }
}

fn default_prefix() -> String {
    DEFAULT_PREFIX.to_owned()
}

fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}

fn default_write_timeout() -> Duration {
    DEFAULT_WRITE_TIMEOUT
}

/// A duration written as text: `500ms`, `5s`, `1m 30s` or ISO 8601 `PT5S`.
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse::<jiff::SignedDuration>()
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}; write e.g. \"500ms\", \"5s\" or \"1m\""
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<FileSinkConfig, ConfigError> {
        FileSinkConfig::from_json(json)
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let config = parse(r#"{"directory": "/archive"}"#).unwrap();
        assert_eq!(config, FileSinkConfig::new("/archive"));
        assert_eq!(config.prefix, "events");
        assert_eq!(
            config.rotation,
            Rotation::HOURLY.with_max_bytes(104_857_600)
        );
        assert_eq!(config.fsync, FsyncPolicy::EveryBatch);
        assert!(!config.compress);
        assert_eq!((config.keep_files, config.keep_days), (None, None));
        assert_eq!(config.write_timeout, Duration::from_secs(30));
    }

    #[test]
    fn reads_every_key() {
        let config = parse(
            r#"{"directory": "/a", "prefix": "prod-events", "rotation": "never",
                "max_file_bytes": 0, "fsync": {"interval": "1m 30s"}, "compress": true,
                "keep_files": 48, "keep_days": 7, "write_timeout": "PT10S"}"#,
        )
        .unwrap();
        let expected = FileSinkConfig::new("/a")
            .prefix("prod-events")
            .rotation(Rotation::NEVER)
            .fsync(FsyncPolicy::Interval(Duration::from_secs(90)))
            .compress(true)
            .keep_files(48)
            .keep_days(7)
            .write_timeout(Duration::from_secs(10));
        assert_eq!(config, expected);
        let never = parse(r#"{"directory": "/a", "fsync": "never", "rotation": "daily"}"#).unwrap();
        assert_eq!(never.fsync, FsyncPolicy::Never);
        assert_eq!(never.rotation.period_name(), "daily");
    }

    #[test]
    fn unknown_keys_and_values_are_named_in_the_error() {
        let unknown = parse(r#"{"directory": "/a", "rotate": "daily"}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `rotate`"),
            "{unknown}"
        );
        let weekly = parse(r#"{"directory": "/a", "rotation": "weekly"}"#).unwrap_err();
        assert!(
            weekly.to_string().contains("unknown variant `weekly`"),
            "{weekly}"
        );
        let missing = parse(r#"{"prefix": "x"}"#).unwrap_err();
        assert!(
            missing.to_string().contains("missing field `directory`"),
            "{missing}"
        );
        let duration = parse(r#"{"directory": "/a", "write_timeout": "soon"}"#).unwrap_err();
        assert!(
            duration.to_string().contains(r#"invalid duration "soon""#),
            "{duration}"
        );
        assert_eq!(duration.key(), None);
    }

    #[test]
    fn out_of_range_values_name_their_key_and_the_fix() {
        let cases = [
            (r#"{"directory": ""}"#, "directory", "is empty"),
            (
                r#"{"directory": "/a", "prefix": "my events"}"#,
                "prefix",
                "letters, digits",
            ),
            (
                r#"{"directory": "/a", "prefix": ""}"#,
                "prefix",
                "letters, digits",
            ),
            (
                r#"{"directory": "/a", "max_file_bytes": 10}"#,
                "max_file_bytes",
                "at least 1024",
            ),
            (
                r#"{"directory": "/a", "fsync": {"interval": "0s"}}"#,
                "fsync",
                "every-batch",
            ),
            (
                r#"{"directory": "/a", "keep_files": 0}"#,
                "keep_files",
                "at least 1",
            ),
            (
                r#"{"directory": "/a", "keep_days": 0}"#,
                "keep_days",
                "at least 1 day",
            ),
            (
                r#"{"directory": "/a", "write_timeout": "0s"}"#,
                "write_timeout",
                "is 0",
            ),
        ];
        for (json, key, hint) in cases {
            let error = parse(json).unwrap_err();
            assert_eq!(error.key(), Some(key), "{json}");
            let message = error.to_string();
            assert!(message.contains(&format!("`{key}`")), "{message}");
            assert!(message.contains(hint), "{message}");
        }
    }

    #[test]
    fn boundary_values_are_accepted() {
        for json in [
            r#"{"directory": "/a", "max_file_bytes": 1024}"#,
            r#"{"directory": "/a", "max_file_bytes": 0}"#,
            r#"{"directory": "/a", "keep_files": 1, "keep_days": 1}"#,
            r#"{"directory": "a", "prefix": "A_z-0"}"#,
        ] {
            assert!(parse(json).is_ok(), "{json}");
        }
    }
}
