//! The config file as written: serde structs that refuse unknown keys, and YAML errors turned into
//! one [`ConfigError`] naming the key path and the position.

use std::path::{Path, PathBuf};

use event_core::{ApiChoice, FilterConfig, ObjectKind};
use serde::Deserialize;

use super::error::{ConfigError, Origin};
use super::settings::{LogFormat, StoreKind};

/// The whole file. Every section is optional; [`Settings`](super::Settings) documents the
/// defaults. Sinks are kept as YAML values here: their keys depend on their `type`
/// ([`sink_spec`](super::sink_spec) reads them).
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with the keys cluster, source, filter, checkpoint, leader_election, sinks, pipeline, server and log"
)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub source: RawSource,
    #[serde(default)]
    pub filter: Option<FilterConfig>,
    #[serde(default)]
    pub checkpoint: RawCheckpoint,
    #[serde(default)]
    pub leader_election: RawLeaderElection,
    #[serde(default)]
    pub sinks: Option<Vec<yaml_serde::Value>>,
    #[serde(default)]
    pub pipeline: RawPipeline,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub log: RawLog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    #[serde(default)]
    pub api: Option<ApiChoice>,
    #[serde(default)]
    pub namespaces: Option<Vec<String>>,
    #[serde(default)]
    pub objects: Option<Vec<ObjectKind>>,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default)]
    pub field_selector: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheckpoint {
    #[serde(default)]
    pub store: Option<StoreKind>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub interval_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLeaderElection {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub lease_name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub lease_duration_secs: Option<u32>,
    #[serde(default)]
    pub renew_deadline_secs: Option<f64>,
    #[serde(default)]
    pub retry_period_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    #[serde(default)]
    pub max_batch_events: Option<usize>,
    #[serde(default)]
    pub max_batch_wait_secs: Option<f64>,
    #[serde(default)]
    pub queue_batches: Option<usize>,
    #[serde(default)]
    pub sink_timeout_secs: Option<f64>,
    #[serde(default)]
    pub shutdown_timeout_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    #[serde(default)]
    pub listen: Option<String>,
    #[serde(default)]
    pub stall_after_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    #[serde(default)]
    pub format: Option<LogFormat>,
    #[serde(default)]
    pub level: Option<String>,
}

/// Parses the text of the config file `path`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<RawConfig, ConfigError> {
    let deserializer = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key = error.path().to_string();
        let source = error.into_inner();
        let origin = Origin::File {
            path: path.to_owned(),
            position: source.location().map(|l| (l.line(), l.column())),
        };
        let message = bare_message(&source.to_string());
        // serde_path_to_error writes "?" for a part of the path it never reached, which is
        // where the YAML parser failed; "." is the top level.
        if key.split('.').any(|part| part == "?") {
            ConfigError::Syntax { origin, message }
        } else if key == "." {
            ConfigError::invalid("(top level)", origin, message)
        } else {
            ConfigError::invalid(key, origin, message)
        }
    })
}

/// A yaml_serde message without the key path it starts with and the position it ends with,
/// both of which the [`ConfigError`] shows on its own.
pub(crate) fn bare_message(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => &message[..at],
        _ => message,
    };
    let is_path = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]-".contains(c))
    };
    match message.split_once(": ") {
        Some((path, rest)) if is_path(path) => rest.to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> ConfigError {
        match parse(Path::new("config.yaml"), text) {
            Ok(raw) => panic!("unexpectedly parsed: {raw:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        let raw = parse(Path::new("c.yaml"), "").unwrap();
        assert!(raw.cluster.is_none() && raw.sinks.is_none() && raw.filter.is_none());
    }

    #[test]
    fn an_unknown_key_names_its_path_position_and_the_keys_allowed() {
        let error = error_of("cluster: prod\nserver:\n  listne: 0.0.0.0:8080\n");
        assert_eq!(error.key(), Some("server.listne"));
        assert_eq!(
            error.to_string(),
            "config.yaml:3:3: `server.listne`: unknown field `listne`, expected `listen` or `stall_after_secs`"
        );
    }

    #[test]
    fn an_unknown_top_level_key_lists_every_section() {
        let error = error_of("clusters: prod\n");
        assert_eq!(error.key(), Some("clusters"));
        let message = error.to_string();
        assert!(message.contains("unknown field `clusters`"), "{message}");
        assert!(message.contains("`leader_election`"), "{message}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_key_and_what_was_expected() {
        let error = error_of("leader_election:\n  lease_duration_secs: -1\n");
        assert_eq!(error.key(), Some("leader_election.lease_duration_secs"));
        assert_eq!(
            error.to_string(),
            "config.yaml:2:24: `leader_election.lease_duration_secs`: invalid type: integer `-1`, expected u32"
        );
    }

    #[test]
    fn an_unknown_enum_value_lists_the_allowed_values() {
        let error = error_of("source:\n  api: v2\n");
        assert_eq!(error.key(), Some("source.api"));
        let message = error.to_string();
        assert!(
            message
                .contains("unknown variant `v2`, expected one of `auto`, `events-v1`, `core-v1`"),
            "{message}"
        );
        let error = error_of("source:\n  objects: [pods, secrets]\n");
        assert_eq!(error.key(), Some("source.objects[1]"));
        assert!(
            error.to_string().contains("`persistentvolumeclaims`"),
            "{error}"
        );
    }

    #[test]
    fn filter_keys_are_checked_with_their_path() {
        let error = error_of("filter:\n  include:\n    - reason: [BackOff]\n");
        assert_eq!(error.key(), Some("filter.include[0].reason"));
        assert!(
            error.to_string().contains("unknown field `reason`"),
            "{error}"
        );
    }

    #[test]
    fn broken_yaml_is_a_syntax_error_with_its_position() {
        let error = error_of("cluster: prod\n  bad: : :\n");
        assert!(matches!(error, ConfigError::Syntax { .. }), "{error:?}");
        assert!(error.to_string().starts_with("config.yaml:2:"), "{error}");
        let error = error_of("log:\n  level: info\n - x\n");
        assert!(matches!(error, ConfigError::Syntax { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("config.yaml:3:2: not valid YAML: did not find expected key"),
            "{error}"
        );
    }

    #[test]
    fn a_list_at_the_top_says_what_the_file_must_hold() {
        let error = error_of("- cluster: prod\n");
        assert!(
            error
                .to_string()
                .contains("expected a mapping with the keys cluster"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let error = error_of("cluster: a\ncluster: b\n");
        assert!(
            error.to_string().contains("duplicate field `cluster`"),
            "{error}"
        );
    }

    #[test]
    fn bare_messages_lose_only_a_leading_path_and_a_trailing_position() {
        assert_eq!(
            bare_message("server.n: invalid type: string \"x\", expected u32 at line 3 column 6"),
            "invalid type: string \"x\", expected u32"
        );
        assert_eq!(
            bare_message("unknown field `a`, expected `b`"),
            "unknown field `a`, expected `b`"
        );
        assert_eq!(
            bare_message("invalid value: expected a path such as /a: b"),
            "invalid value: expected a path such as /a: b"
        );
    }
}
