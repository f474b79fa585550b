//! [`FilterConfig`] and [`FilterRule`]: which events to keep, as configuration.
//!
//! Over 400 lines with its tests only (about 290 without).

use serde::de::{self, Unexpected};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{CompiledFilter, ConfigError};

/// The keys of a [`FilterConfig`], for unknown-key messages.
pub(super) const CONFIG_KEYS: &[&str] = &["include", "exclude"];
/// The keys of a [`FilterRule`], for unknown-key and empty-rule messages.
pub(super) const RULE_KEYS: &[&str] = &[
    "namespaces",
    "types",
    "reasons",
    "kinds",
    "message",
    "min_count",
];

/// Which events to keep: include rules, then exclude rules.
///
/// An event is kept when it matches **any** `include` rule (or `include` is empty) and **no**
/// `exclude` rule. The default, with both lists empty, keeps every event. Compile it once with
/// [`compile`](Self::compile), which validates every rule, and apply the result with
/// [`EventStreamExt::filter_with`](crate::EventStreamExt::filter_with).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `include` | `[]` (keep all) | rules of which an event must match at least one |
/// | `exclude` | `[]` (drop none) | rules of which an event must match none |
///
/// The conditions of one rule are described on [`FilterRule`]. In YAML:
///
/// ```yaml
/// include:
///   - types: [Warning]                  # every warning...
///   - namespaces: [payments, billing]   # ...and everything in these namespaces
/// exclude:
///   - namespaces: [kube-system]
///     reasons: [BackOff]
///     message: "(?i)image .* not found" # dropped only when all three match
///   - kinds: [Lease]
///   - types: [Normal]
///     min_count: 100                    # noisy normals that repeat a hundred times
/// ```
///
/// # Example
///
/// ```
/// use event_core::Event;
/// use event_core::filter::{FilterConfig, Predicate};
///
/// let config = FilterConfig::from_json(
///     r#"{
///         "include": [{ "types": ["Warning"] }, { "namespaces": ["payments"] }],
///         "exclude": [{ "namespaces": ["kube-system"], "reasons": ["BackOff"] }]
///     }"#,
/// )?;
/// let filter = config.compile()?;
///
/// let mut event = Event::new("7d3c6a2e", "1042");
/// event.namespace = Some("kube-system".into());
/// event.event_type = "Warning".into();
/// assert!(filter.matches(&event));
/// event.reason = "BackOff".into();
/// assert!(!filter.matches(&event));
/// # Ok::<(), event_core::filter::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FilterConfig {
    /// Rules of which an event must match at least one; empty keeps every event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<FilterRule>,
    /// Rules of which an event must match none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<FilterRule>,
}

impl FilterConfig {
    /// Adds an include rule.
    #[must_use]
    pub fn include(mut self, rule: FilterRule) -> Self {
        self.include.push(rule);
        self
    }

    /// Adds an exclude rule.
    #[must_use]
    pub fn exclude(mut self, rule: FilterRule) -> Self {
        self.exclude.push(rule);
        self
    }

    /// Parses and validates a filter config written in JSON.
    ///
    /// Errors name the key path of the offending value, e.g.
    /// ``unknown key `reason` in `include[0]`; expected one of namespaces, types, ...``
    /// (syntax errors name the line and column). Configs read from another format through
    /// `Deserialize` get that format's messages for keys and types, and the same checks from
    /// [`compile`](Self::compile) for the rest.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`] for malformed JSON, [`ConfigError::UnknownKey`] and
    /// [`ConfigError::InvalidValue`] for keys and values that do not fit, and the errors of
    /// [`compile`](Self::compile).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        // Syntax (with line and column) and trailing characters first, then the shape.
        let value: Value =
            serde_json::from_str(json).map_err(|source| ConfigError::Syntax { source })?;
        check_shape(&value)?;
        // Types from the text rather than from `value`, which kept only the last of duplicate keys.
        let config: FilterConfig =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(json))
                .map_err(|error| {
                    let path = error.path().to_string();
                    ConfigError::InvalidValue {
                        // serde_path_to_error writes the top level as ".".
                        path: if path == "." { String::new() } else { path },
                        source: error.into_inner(),
                    }
                })?;
        // Validates every rule now; the caller compiles again where it applies the filter.
        let _validated = config.compile()?;
        Ok(config)
    }

    /// Validates every rule and builds the [`Predicate`](super::Predicate) this config describes.
    ///
    /// Regexes are compiled here, once; matching never fails.
    ///
    /// # Errors
    ///
    /// [`ConfigError::EmptyRule`] for a rule without conditions, [`ConfigError::EmptyList`] for
    /// an empty list of values, [`ConfigError::UnknownEventType`] for a type other than
    /// `Normal` or `Warning`, and [`ConfigError::InvalidRegex`] for a `message` that does not
    /// compile.
    pub fn compile(&self) -> Result<CompiledFilter, ConfigError> {
        CompiledFilter::new(self)
    }
}

/// One rule of a [`FilterConfig`]: conditions that an event must all meet.
///
/// Every key is optional, but a rule needs at least one; a list needs at least one value.
///
/// | key | matches events whose | comparison |
/// |---|---|---|
/// | `namespaces` | namespace is listed | exact |
/// | `types` | type is listed: `Normal` or `Warning` | ignoring case |
/// | `reasons` | reason is listed, e.g. `BackOff` | exact |
/// | `kinds` | object (`regarding.kind`) is of a listed kind, e.g. `Pod` | ignoring case |
/// | `message` | message contains a match of this regex | [regex syntax], `(?i)` ignores case |
/// | `min_count` | count is at least this | |
///
/// [regex syntax]: https://docs.rs/regex/latest/regex/#syntax
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FilterRule {
    /// Namespaces of which the event's must be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Types (`Normal`, `Warning`) of which the event's must be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    /// Reasons of which the event's must be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// Kinds of which the event's object must be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    /// A regex that the event's message must contain a match of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The lowest count the event must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
}

impl FilterRule {
    /// Sets [`namespaces`](Self::namespaces).
    #[must_use]
    pub fn namespaces<I: IntoIterator<Item: Into<String>>>(mut self, names: I) -> Self {
        self.namespaces = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`types`](Self::types).
    #[must_use]
    pub fn types<I: IntoIterator<Item: Into<String>>>(mut self, types: I) -> Self {
        self.types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`reasons`](Self::reasons).
    #[must_use]
    pub fn reasons<I: IntoIterator<Item: Into<String>>>(mut self, reasons: I) -> Self {
        self.reasons = Some(reasons.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`kinds`](Self::kinds).
    #[must_use]
    pub fn kinds<I: IntoIterator<Item: Into<String>>>(mut self, kinds: I) -> Self {
        self.kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`message`](Self::message); the pattern is checked by [`FilterConfig::compile`].
    #[must_use]
    pub fn message(mut self, pattern: impl Into<String>) -> Self {
        self.message = Some(pattern.into());
        self
    }

    /// Sets [`min_count`](Self::min_count).
    #[must_use]
    pub fn min_count(mut self, min: u32) -> Self {
        self.min_count = Some(min);
        self
    }
}

/// Checks what serde would accept but a config should not: arrays in place of objects (serde
/// reads a struct from a sequence, by position) and unknown keys, which serde reports without
/// the path of the object holding them.
fn check_shape(config: &Value) -> Result<(), ConfigError> {
    let config = expect_object(config, "", "an object with include and exclude lists")?;
    check_keys(config, "", CONFIG_KEYS)?;
    for list in CONFIG_KEYS {
        // Anything but an array is left to serde, which says what it expected.
        let Some(Value::Array(rules)) = config.get(*list) else {
            continue;
        };
        for (i, rule) in rules.iter().enumerate() {
            let path = format!("{list}[{i}]");
            let rule = expect_object(rule, &path, "an object of conditions")?;
            check_keys(rule, &path, RULE_KEYS)?;
        }
    }
    Ok(())
}

fn expect_object<'a>(
    value: &'a Value,
    path: &str,
    expected: &'static str,
) -> Result<&'a Map<String, Value>, ConfigError> {
    value.as_object().ok_or_else(|| ConfigError::InvalidValue {
        path: path.to_owned(),
        source: de::Error::invalid_type(unexpected(value), &expected),
    })
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Other("null"),
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => n
            .as_u64()
            .map(Unexpected::Unsigned)
            .or_else(|| n.as_i64().map(Unexpected::Signed))
            .or_else(|| n.as_f64().map(Unexpected::Float))
            .unwrap_or(Unexpected::Other("number")),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn check_keys(
    object: &Map<String, Value>,
    path: &str,
    expected: &'static [&'static str],
) -> Result<(), ConfigError> {
    match object.keys().find(|key| !expected.contains(&key.as_str())) {
        Some(key) => Err(ConfigError::UnknownKey {
            key: key.clone(),
            path: path.to_owned(),
            expected,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
        "include": [
            { "types": ["Warning"] },
            { "namespaces": ["payments", "billing"] }
        ],
        "exclude": [
            { "namespaces": ["kube-system"], "reasons": ["BackOff"], "message": "(?i)image .* not found" },
            { "kinds": ["Lease"] },
            { "types": ["Normal"], "min_count": 100 }
        ]
    }"#;

    fn error_of(json: &str) -> String {
        match FilterConfig::from_json(json) {
            Ok(config) => format!("unexpectedly parsed: {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn example_config_parses_into_the_rules_it_spells() -> Result<(), ConfigError> {
        let config = FilterConfig::from_json(EXAMPLE)?;
        let expected = FilterConfig::default()
            .include(FilterRule::default().types(["Warning"]))
            .include(FilterRule::default().namespaces(["payments", "billing"]))
            .exclude(
                FilterRule::default()
                    .namespaces(["kube-system"])
                    .reasons(["BackOff"])
                    .message("(?i)image .* not found"),
            )
            .exclude(FilterRule::default().kinds(["Lease"]))
            .exclude(FilterRule::default().types(["Normal"]).min_count(100));
        assert_eq!(config, expected);
        Ok(())
    }

    #[test]
    fn example_config_round_trips_through_json() -> Result<(), Box<dyn std::error::Error>> {
        let config = FilterConfig::from_json(EXAMPLE)?;
        let written = serde_json::to_string(&config)?;
        assert_eq!(FilterConfig::from_json(&written)?, config);
        let original: Value = serde_json::from_str(EXAMPLE)?;
        assert_eq!(serde_json::to_value(&config)?, original);
        Ok(())
    }

    #[test]
    fn empty_object_is_the_default_config() -> Result<(), ConfigError> {
        assert_eq!(FilterConfig::from_json("{}")?, FilterConfig::default());
        assert_eq!(
            serde_json::to_string(&FilterConfig::default())
                .ok()
                .as_deref(),
            Some("{}")
        );
        Ok(())
    }

    #[test]
    fn unknown_key_in_a_rule_names_the_rule_and_the_expected_keys() {
        assert_eq!(
            error_of(r#"{"include": [{"reason": ["BackOff"]}]}"#),
            "unknown key `reason` in `include[0]`; expected one of namespaces, types, reasons, \
             kinds, message, min_count"
        );
        assert_eq!(
            error_of(r#"{"exclude": [{"kinds": ["Lease"]}, {"types": ["Normal"], "count": 2}]}"#),
            "unknown key `count` in `exclude[1]`; expected one of namespaces, types, reasons, \
             kinds, message, min_count"
        );
    }

    #[test]
    fn unknown_top_level_key_is_reported_at_the_top_level() {
        let error = FilterConfig::from_json(r#"{"includes": []}"#).err();
        assert!(matches!(
            &error,
            Some(ConfigError::UnknownKey { key, path, .. }) if key == "includes" && path.is_empty()
        ));
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("unknown key `includes` in the filter config; expected one of include, exclude")
        );
    }

    #[test]
    fn invalid_regex_names_the_message_path() {
        let error = error_of(r#"{"exclude": [{"kinds": ["Lease"]}, {"message": "(unclosed"}]}"#);
        assert!(
            error.starts_with("invalid regex in `exclude[1].message`: "),
            "{error}"
        );
        assert!(error.contains("unclosed group"), "{error}");
    }

    #[test]
    fn wrong_type_names_the_value_path() {
        let error = FilterConfig::from_json(r#"{"include": [{"min_count": "3"}]}"#).err();
        assert!(
            matches!(&error, Some(ConfigError::InvalidValue { path, .. }) if path == "include[0].min_count"),
            "{error:?}"
        );
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("invalid value in `include[0].min_count`: invalid type: string"),
            "{message}"
        );
        assert!(message.contains("expected u32"), "{message}");
    }

    #[test]
    fn wrong_type_inside_a_list_names_the_element() {
        let error = error_of(r#"{"include": [{"namespaces": ["a", 7]}]}"#);
        assert!(
            error.starts_with("invalid value in `include[0].namespaces[1]`: invalid type: integer"),
            "{error}"
        );
    }

    #[test]
    fn negative_min_count_is_an_invalid_value() {
        let error = error_of(r#"{"include": [{"min_count": -1}]}"#);
        assert!(
            error.starts_with("invalid value in `include[0].min_count`"),
            "{error}"
        );
    }

    #[test]
    fn wrong_top_level_type_is_reported_at_the_top_level() {
        let error = error_of(r#"[{"types": ["Warning"]}]"#);
        assert!(
            error.starts_with("invalid value in the filter config: invalid type: sequence"),
            "{error}"
        );
        let error = error_of("null");
        assert!(
            error.starts_with("invalid value in the filter config: invalid type: null"),
            "{error}"
        );
        let error = error_of(r#"{"include": {"types": ["Warning"]}}"#);
        assert!(
            error.starts_with("invalid value in `include`: invalid type: map"),
            "{error}"
        );
    }

    #[test]
    fn rule_written_as_an_array_is_refused_not_read_by_position() {
        assert_eq!(
            error_of(r#"{"include": [{"types": ["Warning"]}, [["payments"]]]}"#),
            "invalid value in `include[1]`: invalid type: sequence, expected an object of \
             conditions"
        );
    }

    #[test]
    fn empty_rule_is_refused_with_its_path() {
        assert_eq!(
            error_of(r#"{"include": [{"types": ["Warning"]}], "exclude": [{}]}"#),
            "empty filter rule `exclude[0]` would match every event: give it at least one of \
             namespaces, types, reasons, kinds, message, min_count, or remove it"
        );
    }

    #[test]
    fn malformed_json_is_a_syntax_error_with_its_position() {
        let error = FilterConfig::from_json("{\"include\": [}").err();
        assert!(
            matches!(error, Some(ConfigError::Syntax { .. })),
            "{error:?}"
        );
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("filter config is not valid JSON"),
            "{message}"
        );
        assert!(message.contains("line 1 column"), "{message}");
    }

    #[test]
    fn trailing_characters_are_a_syntax_error() {
        let error = FilterConfig::from_json("{} {}").err();
        assert!(
            matches!(error, Some(ConfigError::Syntax { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let error = error_of(r#"{"include": [], "include": [{"types": ["Warning"]}]}"#);
        assert!(error.contains("duplicate field `include`"), "{error}");
    }

    #[test]
    fn key_lists_match_the_serialized_fields() -> Result<(), serde_json::Error> {
        let rule = FilterRule::default()
            .namespaces(["a"])
            .types(["Normal"])
            .reasons(["r"])
            .kinds(["Pod"])
            .message("m")
            .min_count(1);
        let config = FilterConfig::default()
            .include(rule.clone())
            .exclude(rule.clone());
        let keys = |value: Value| -> Vec<String> {
            let mut keys: Vec<String> = value
                .as_object()
                .map(|object| object.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            keys
        };
        let sorted = |list: &[&str]| -> Vec<String> {
            let mut list: Vec<String> = list.iter().map(|k| (*k).to_owned()).collect();
            list.sort();
            list
        };
        assert_eq!(keys(serde_json::to_value(&rule)?), sorted(RULE_KEYS));
        assert_eq!(keys(serde_json::to_value(&config)?), sorted(CONFIG_KEYS));
        Ok(())
    }
}
