//! `sinks`: each entry's `type`, `name` and `filter`, and the rest read by the sink crate's own
//! config type, its errors renamed to the entry's key path (`sinks[0].retention_days`).
//!
//! Over 400 lines with its tests only (about 240 without).

use std::collections::BTreeMap;

use event_core::FilterConfig;
use serde::de::DeserializeOwned;
use sink_cloudwatch::CloudWatchSinkConfig;
use sink_file::FileSinkConfig;
use sink_otlp::{OtlpConfigError, OtlpSinkConfig};
use sink_stdout::StdoutConfig;
use sink_webhook::WebhookSinkConfig;
use yaml_serde::Value;

use super::error::{ConfigError, Origin};
use super::file::bare_message;
use super::settings::{SinkKind, SinkSettings};

/// The sink types, as `type` spells them.
const TYPES: &str = "cloudwatch, file, otlp, stdout or webhook";
/// The longest sink name: it labels metrics and log lines.
const MAX_NAME_LEN: usize = 64;

/// The `sinks` list, validated; one CloudWatch sink with its defaults when the key is absent.
pub(crate) fn parse(
    values: Option<Vec<Value>>,
    origin: &Origin,
) -> Result<Vec<SinkSettings>, ConfigError> {
    let Some(values) = values else {
        return Ok(vec![SinkSettings {
            name: "cloudwatch".to_owned(),
            filter: None,
            kind: SinkKind::CloudWatch(CloudWatchSinkConfig::new()),
        }]);
    };
    if values.is_empty() {
        return Err(ConfigError::invalid(
            "sinks",
            origin.clone(),
            format!("is empty; list at least one sink, of type {TYPES}"),
        ));
    }
    let mut sinks = Vec::with_capacity(values.len());
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (index, value) in values.into_iter().enumerate() {
        let sink = Entry { index, origin }.parse(value)?;
        if let Some(first) = names.insert(sink.name.clone(), index) {
            return Err(ConfigError::invalid(
                format!("sinks[{index}].name"),
                origin.clone(),
                format!(
                    "is {:?}, the name of sinks[{first}] too; give each sink its own `name` (it labels the sink's metrics and logs)",
                    sink.name
                ),
            ));
        }
        sinks.push(sink);
    }
    Ok(sinks)
}

/// One entry of the list, for error paths.
struct Entry<'a> {
    index: usize,
    origin: &'a Origin,
}

impl Entry<'_> {
    fn key(&self, key: &str) -> String {
        if key.is_empty() {
            format!("sinks[{}]", self.index)
        } else {
            format!("sinks[{}].{key}", self.index)
        }
    }

    fn invalid(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.key(key), self.origin.clone(), problem)
    }

    fn parse(&self, value: Value) -> Result<SinkSettings, ConfigError> {
        let Value::Mapping(mut map) = value else {
            return Err(self.invalid(
                "",
                format!("is not a mapping; write e.g. `- type: cloudwatch` (one of {TYPES})"),
            ));
        };
        let kind = match map.remove("type") {
            Some(Value::String(kind)) => kind,
            Some(_) => return Err(self.invalid("type", format!("is not a string; use {TYPES}"))),
            None => return Err(self.invalid("type", format!("is missing; use {TYPES}"))),
        };
        let name = match map.remove("name") {
            None => kind.clone(),
            Some(Value::String(name)) => self.checked_name(name)?,
            Some(_) => {
                return Err(self.invalid("name", "is not a string; write e.g. `name: archive`"));
            }
        };
        let filter = match map.remove("filter") {
            None => None,
            Some(value) => Some(self.filter(value)?),
        };
        let has_directory = map.contains_key("directory");
        let has_endpoint = map.contains_key("endpoint");
        let has_url = map.contains_key("url");
        let rest = Value::Mapping(map);
        let kind = match kind.as_str() {
            "cloudwatch" => {
                let config: CloudWatchSinkConfig = self.typed(rest)?;
                config.validate().map_err(|e| self.cloudwatch_error(e))?;
                SinkKind::CloudWatch(config)
            }
            "file" => {
                if !has_directory {
                    return Err(self.invalid(
                        "directory",
                        "is missing; a file sink needs the folder of its archive, e.g. /var/lib/event-keeper/archive",
                    ));
                }
                let config: FileSinkConfig = self.typed(rest)?;
                config.validate().map_err(|e| self.file_error(e))?;
                SinkKind::File(config)
            }
            "otlp" => {
                if !has_endpoint {
                    return Err(self.invalid(
                        "endpoint",
                        "is missing; an OTLP sink needs the collector's base URL, e.g. http://otel-collector:4318",
                    ));
                }
                let config: OtlpSinkConfig = self.typed(rest)?;
                config.validate().map_err(|e| self.otlp_error(&e))?;
                SinkKind::Otlp(config)
            }
            "stdout" => SinkKind::Stdout(self.typed::<StdoutConfig>(rest)?),
            "webhook" => {
                if !has_url {
                    return Err(self.invalid(
                        "url",
                        "is missing; a webhook sink needs the http:// or https:// URL it POSTs to, e.g. https://hooks.example.com/k8s-events",
                    ));
                }
                let config: WebhookSinkConfig = self.typed(rest)?;
                config.validate().map_err(|e| self.webhook_error(e))?;
                SinkKind::Webhook(config)
            }
            other => return Err(self.invalid("type", format!("is {other:?}; use {TYPES}"))),
        };
        Ok(SinkSettings { name, filter, kind })
    }

    fn checked_name(&self, name: String) -> Result<String, ConfigError> {
        let ok = (1..=MAX_NAME_LEN).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(name)
        } else {
            Err(self.invalid(
                "name",
                format!(
                    "is {name:?}; use 1 to {MAX_NAME_LEN} lowercase letters, digits, '-' or '_', starting with a letter or digit"
                ),
            ))
        }
    }

    fn filter(&self, value: Value) -> Result<FilterConfig, ConfigError> {
        let filter: FilterConfig = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = match e.path().to_string().as_str() {
                "." | "?" => "filter".to_owned(),
                path => format!("filter.{path}"),
            };
            self.invalid(&key, bare_message(&e.into_inner().to_string()))
        })?;
        let _compiles = filter
            .compile()
            .map_err(|e| self.invalid("filter", e.to_string()))?;
        Ok(filter)
    }

    /// Reads the sink crate's config type, naming the offending key on error.
    fn typed<T: DeserializeOwned>(&self, value: Value) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." || path == "?" {
                ""
            } else {
                path.as_str()
            };
            self.invalid(key, bare_message(&e.into_inner().to_string()))
        })
    }

    fn cloudwatch_error(&self, error: sink_cloudwatch::ConfigError) -> ConfigError {
        let key = error.key().unwrap_or_default().to_owned();
        let problem = match &error {
            sink_cloudwatch::ConfigError::Invalid { problem, .. } => problem.clone(),
            sink_cloudwatch::ConfigError::Template { source, .. } => source.to_string(),
            _ => error.to_string(),
        };
        self.invalid(&key, problem)
    }

    fn otlp_error(&self, error: &OtlpConfigError) -> ConfigError {
        let key = match error {
            OtlpConfigError::Endpoint(_) | OtlpConfigError::EndpointWithSignalPath(_) => "endpoint",
            OtlpConfigError::JsonNotBuilt => "encoding",
            OtlpConfigError::Zero(key) => *key,
            _ => "",
        };
        self.invalid(key, error.to_string())
    }

    fn webhook_error(&self, error: sink_webhook::ConfigError) -> ConfigError {
        let key = error.key().unwrap_or_default().to_owned();
        let problem = match &error {
            sink_webhook::ConfigError::Invalid { problem, .. } => problem.clone(),
            _ => error.to_string(),
        };
        self.invalid(&key, problem)
    }

    fn file_error(&self, error: sink_file::ConfigError) -> ConfigError {
        let key = error.key().unwrap_or_default().to_owned();
        let problem = match &error {
            sink_file::ConfigError::Invalid { problem, .. } => problem.clone(),
            _ => error.to_string(),
        };
        self.invalid(&key, problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sinks(yaml: &str) -> Result<Vec<SinkSettings>, ConfigError> {
        let values: Vec<Value> = yaml_serde::from_str(yaml).unwrap();
        parse(Some(values), &Origin::Defaults)
    }

    fn error_of(yaml: &str) -> ConfigError {
        match sinks(yaml) {
            Ok(s) => panic!("unexpectedly valid: {s:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn without_the_key_there_is_one_cloudwatch_sink_with_its_defaults() {
        let sinks = parse(None, &Origin::Defaults).unwrap();
        assert_eq!(sinks.len(), 1);
        assert_eq!(sinks[0].name, "cloudwatch");
        assert!(
            matches!(&sinks[0].kind, SinkKind::CloudWatch(c) if *c == CloudWatchSinkConfig::new())
        );
    }

    #[test]
    fn every_type_reads_its_crates_keys() {
        let sinks = sinks(
            "- type: cloudwatch\n  log_group: /event-keeper/{cluster}\n  retention_days: 30\n\
             - type: file\n  directory: /var/lib/ek\n  rotation: daily\n  filter:\n    include:\n      - types: [Warning]\n\
             - type: stdout\n  name: console\n  format: text\n",
        )
        .unwrap();
        let names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["cloudwatch", "file", "console"]);
        assert!(matches!(&sinks[0].kind, SinkKind::CloudWatch(c) if c.retention_days == Some(30)));
        assert!(
            matches!(&sinks[1].kind, SinkKind::File(c) if c.directory.as_os_str() == "/var/lib/ek")
        );
        assert!(sinks[1].filter.is_some() && sinks[0].filter.is_none());
        assert_eq!(sinks[2].kind.type_name(), "stdout");
    }

    #[test]
    fn a_retention_cloudwatch_does_not_accept_names_the_key_and_the_allowed_values() {
        let error = error_of("- type: stdout\n- type: cloudwatch\n  retention_days: 2\n");
        assert_eq!(error.key(), Some("sinks[1].retention_days"));
        let message = error.to_string();
        assert!(
            message.contains("is 2; CloudWatch Logs accepts 1, 3, 5, 7, 14, 30"),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_key_of_a_sink_names_the_entry() {
        let error = error_of("- type: cloudwatch\n  retention: 30\n");
        assert_eq!(error.key(), Some("sinks[0].retention"));
        assert!(
            error
                .to_string()
                .contains("unknown field `retention`, expected one of"),
            "{error}"
        );
    }

    #[test]
    fn an_otlp_sink_reads_its_keys_and_needs_an_endpoint() {
        let sinks = sinks(
            "- type: otlp\n  endpoint: http://otel-collector:4318\n  gzip: false\n  headers:\n    x-api-key: {env: OTLP_KEY}\n  max_batch_events: 500\n",
        )
        .unwrap();
        assert_eq!(sinks[0].name, "otlp");
        let SinkKind::Otlp(config) = &sinks[0].kind else {
            panic!("not an OTLP sink: {:?}", sinks[0].kind);
        };
        assert!(!config.gzip);
        assert_eq!(config.max_batch_events, 500);
        assert_eq!(config.headers.len(), 1);

        for (yaml, key, text) in [
            ("- type: otlp\n", "sinks[0].endpoint", "is missing"),
            (
                "- type: otlp\n  endpoint: otel-collector:4318\n",
                "sinks[0].endpoint",
                "not an http:// or https:// URL",
            ),
            (
                "- type: otlp\n  endpoint: http://c:4318/v1/logs\n",
                "sinks[0].endpoint",
                "ends in /v1/logs",
            ),
            (
                "- type: otlp\n  endpoint: http://c:4318\n  timeout_secs: 0\n",
                "sinks[0].timeout_secs",
                "is 0",
            ),
            (
                "- type: otlp\n  endpoint: http://c:4318\n  encoding: avro\n",
                "sinks[0].encoding",
                "unknown variant `avro`",
            ),
            (
                "- type: otlp\n  endpoint: http://c:4318\n  url: http://c\n",
                "sinks[0].url",
                "unknown field `url`",
            ),
        ] {
            let error = error_of(yaml);
            assert_eq!(error.key(), Some(key), "{yaml}: {error}");
            assert!(error.to_string().contains(text), "{yaml}: {error}");
        }
    }

    #[test]
    fn a_webhook_sink_reads_its_keys_and_needs_a_url() {
        let sinks = sinks(
            "- type: webhook\n  url: https://hooks.example.com/k8s\n  format: ndjson\n  gzip: true\n  \
             headers:\n    X-Team: platform\n    X-Api-Key: {env: HOOK_KEY}\n  \
             auth:\n    bearer: {file: /var/run/secrets/hook/token}\n  send_timeout_secs: 30\n",
        )
        .unwrap();
        assert_eq!(sinks[0].name, "webhook");
        let SinkKind::Webhook(config) = &sinks[0].kind else {
            panic!("not a webhook sink: {:?}", sinks[0].kind);
        };
        assert_eq!(config.format, sink_webhook::Format::Ndjson);
        assert!(config.gzip);
        assert_eq!(config.headers.len(), 2);
        assert_eq!(
            config.auth,
            Some(sink_webhook::Auth::Bearer(sink_webhook::Secret::File(
                "/var/run/secrets/hook/token".into()
            )))
        );
        assert_eq!(config.send_timeout_secs, 30);

        for (yaml, key, text) in [
            ("- type: webhook\n", "sinks[0].url", "is missing"),
            (
                "- type: webhook\n  url: hooks.example.com/k8s\n",
                "sinks[0].url",
                "does not start with http:// or https://",
            ),
            (
                "- type: webhook\n  url: https://u:p@hooks.example.com/\n",
                "sinks[0].url",
                "use `auth`",
            ),
            (
                "- type: webhook\n  url: http://h/\n  format: xml\n",
                "sinks[0].format",
                "unknown variant `xml`",
            ),
            (
                "- type: webhook\n  url: http://h/\n  headers:\n    Content-Type: text/plain\n",
                "sinks[0].headers",
                "sets Content-Type",
            ),
            (
                "- type: webhook\n  url: http://h/\n  max_batch_events: 0\n",
                "sinks[0].max_batch_events",
                "is 0",
            ),
            (
                "- type: webhook\n  url: http://h/\n  endpoint: http://h/\n",
                "sinks[0].endpoint",
                "unknown field `endpoint`",
            ),
        ] {
            let error = error_of(yaml);
            assert_eq!(error.key(), Some(key), "{yaml}: {error}");
            assert!(error.to_string().contains(text), "{yaml}: {error}");
        }
        // A token pasted in place of {file: PATH} is refused without being echoed.
        let error = error_of("- type: webhook\n  url: http://h/\n  auth:\n    bearer: s3cret\n");
        assert!(
            error.key().is_some_and(|k| k.starts_with("sinks[0].auth")),
            "{error}"
        );
        assert!(error.to_string().contains("{file: PATH}"), "{error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn a_file_sink_without_a_directory_is_refused() {
        let error = error_of("- type: file\n  rotation: daily\n");
        assert_eq!(error.key(), Some("sinks[0].directory"));
        assert!(
            error
                .to_string()
                .contains("needs the folder of its archive"),
            "{error}"
        );
    }

    #[test]
    fn two_sinks_with_the_same_name_are_refused() {
        let error = error_of("- type: stdout\n- type: file\n  directory: /a\n  name: stdout\n");
        assert_eq!(error.key(), Some("sinks[1].name"));
        assert!(
            error.to_string().contains("the name of sinks[0] too"),
            "{error}"
        );
        let two = sinks("- type: stdout\n- type: stdout\n  name: second\n").unwrap();
        assert_eq!(two[1].name, "second");
    }

    #[test]
    fn types_are_checked_and_listed() {
        for (yaml, key, text) in [
            (
                "- type: kafka\n",
                "sinks[0].type",
                "is \"kafka\"; use cloudwatch, file, otlp, stdout or webhook",
            ),
            ("- log_group: /a\n", "sinks[0].type", "is missing"),
            ("- stdout\n", "sinks[0]", "is not a mapping"),
            (
                "- type: stdout\n  name: Loud Name\n",
                "sinks[0].name",
                "lowercase letters",
            ),
            (
                "- type: stdout\n  format: xml\n",
                "sinks[0].format",
                "unknown variant `xml`",
            ),
            (
                "- type: file\n  directory: /a\n  keep_days: 0\n",
                "sinks[0].keep_days",
                "is 0",
            ),
            (
                "- type: cloudwatch\n  log_stream: \"{pod}\"\n",
                "sinks[0].log_stream",
                "{pod}",
            ),
        ] {
            let error = error_of(yaml);
            assert_eq!(error.key(), Some(key), "{yaml}: {error}");
            assert!(error.to_string().contains(text), "{yaml}: {error}");
        }
    }

    #[test]
    fn a_sink_filter_is_compiled_and_its_errors_name_the_sink() {
        let error =
            error_of("- type: stdout\n  filter:\n    exclude:\n      - message: \"(unclosed\"\n");
        assert_eq!(error.key(), Some("sinks[0].filter"));
        assert!(
            error
                .to_string()
                .contains("invalid regex in `exclude[0].message`"),
            "{error}"
        );
        let error = error_of("- type: stdout\n  filter:\n    include:\n      - typo: [a]\n");
        assert_eq!(error.key(), Some("sinks[0].filter.include[0].typo"));
    }

    #[test]
    fn an_empty_list_of_sinks_is_refused() {
        let error = error_of("[]");
        assert_eq!(error.key(), Some("sinks"));
    }
}
