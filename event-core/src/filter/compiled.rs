//! [`CompiledFilter`]: a validated [`FilterConfig`], ready to match events.

use regex::Regex;

use super::{
    ConfigError, EventTypes, FilterConfig, FilterRule, InvolvedKinds, MessageMatches, MinCount,
    Namespaces, Predicate, Reasons, event_types, involved_kinds, message_matches, min_count,
    namespaces, reasons,
};
use crate::Event;

/// The event types Kubernetes emits, lower-cased; `types` accepts these only.
const KNOWN_TYPES: [&str; 2] = ["normal", "warning"];

/// A [`FilterConfig`] whose rules are validated and whose regexes are compiled; built by
/// [`FilterConfig::compile`].
///
/// Keeps an event when it matches any include rule (or there is none) and no exclude rule.
/// Cheap to clone: share one across streams.
#[derive(Clone, Debug)]
#[must_use = "a filter does nothing until it is matched or applied to a stream"]
pub struct CompiledFilter {
    include: Vec<CompiledRule>,
    exclude: Vec<CompiledRule>,
}

impl CompiledFilter {
    pub(super) fn new(config: &FilterConfig) -> Result<Self, ConfigError> {
        Ok(CompiledFilter {
            include: compile_rules("include", &config.include)?,
            exclude: compile_rules("exclude", &config.exclude)?,
        })
    }
}

impl Predicate for CompiledFilter {
    fn matches(&self, event: &Event) -> bool {
        let included =
            self.include.is_empty() || self.include.iter().any(|rule| rule.matches(event));
        included && !self.exclude.iter().any(|rule| rule.matches(event))
    }
}

/// The conditions of one rule, all of which must hold; absent ones always hold.
#[derive(Clone, Debug)]
struct CompiledRule {
    min_count: Option<MinCount>,
    types: Option<EventTypes>,
    namespaces: Option<Namespaces>,
    reasons: Option<Reasons>,
    kinds: Option<InvolvedKinds>,
    message: Option<MessageMatches>,
}

impl Predicate for CompiledRule {
    fn matches(&self, event: &Event) -> bool {
        // Cheapest first; the regex last.
        holds(&self.min_count, event)
            && holds(&self.types, event)
            && holds(&self.namespaces, event)
            && holds(&self.reasons, event)
            && holds(&self.kinds, event)
            && holds(&self.message, event)
    }
}

fn holds<P: Predicate>(condition: &Option<P>, event: &Event) -> bool {
    condition.as_ref().is_none_or(|p| p.matches(event))
}

fn compile_rules(list: &str, rules: &[FilterRule]) -> Result<Vec<CompiledRule>, ConfigError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| compile_rule(&format!("{list}[{i}]"), rule))
        .collect()
}

fn compile_rule(path: &str, rule: &FilterRule) -> Result<CompiledRule, ConfigError> {
    if *rule == FilterRule::default() {
        return Err(ConfigError::EmptyRule {
            path: path.to_owned(),
        });
    }
    // Destructured so that a new key cannot be forgotten here.
    let FilterRule {
        namespaces: namespace_list,
        types: type_list,
        reasons: reason_list,
        kinds: kind_list,
        message: pattern,
        min_count: min,
    } = rule;
    let type_list = non_empty(path, "types", type_list)?;
    if let Some(types) = type_list {
        check_types(&format!("{path}.types"), types)?;
    }
    let message = match pattern {
        Some(pattern) => Some(
            Regex::new(pattern).map_err(|source| ConfigError::InvalidRegex {
                path: format!("{path}.message"),
                source,
            })?,
        ),
        None => None,
    };
    Ok(CompiledRule {
        min_count: min.map(min_count),
        types: type_list.map(event_types),
        namespaces: non_empty(path, "namespaces", namespace_list)?.map(namespaces),
        reasons: non_empty(path, "reasons", reason_list)?.map(reasons),
        kinds: non_empty(path, "kinds", kind_list)?.map(involved_kinds),
        message: message.map(message_matches),
    })
}

/// The list, unless it is present but empty, which would match nothing and is surely a mistake.
fn non_empty<'a>(
    path: &str,
    key: &str,
    list: &'a Option<Vec<String>>,
) -> Result<Option<&'a Vec<String>>, ConfigError> {
    match list {
        Some(values) if values.is_empty() => Err(ConfigError::EmptyList {
            path: format!("{path}.{key}"),
        }),
        other => Ok(other.as_ref()),
    }
}

fn check_types(path: &str, types: &[String]) -> Result<(), ConfigError> {
    match types
        .iter()
        .enumerate()
        .find(|(_, value)| !KNOWN_TYPES.contains(&value.to_lowercase().as_str()))
    {
        Some((i, value)) => Err(ConfigError::UnknownEventType {
            path: format!("{path}[{i}]"),
            value: value.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectRef;

    fn event(namespace: &str, event_type: &str, reason: &str) -> Event {
        let mut event = Event::new("u1", "1");
        event.namespace = Some(namespace.into());
        event.event_type = event_type.into();
        event.reason = reason.into();
        event
    }

    fn compile(config: FilterConfig) -> CompiledFilter {
        match config.compile() {
            Ok(filter) => filter,
            Err(error) => panic!("config should compile: {error}"),
        }
    }

    fn error_of(config: FilterConfig) -> Option<ConfigError> {
        config.compile().err()
    }

    #[test]
    fn default_config_keeps_every_event() {
        let filter = compile(FilterConfig::default());
        assert!(filter.matches(&event("payments", "Normal", "Pulled")));
        assert!(filter.matches(&event("kube-system", "Warning", "BackOff")));
    }

    #[test]
    fn include_rules_keep_events_matching_any_of_them() {
        let filter = compile(
            FilterConfig::default()
                .include(FilterRule::default().types(["Warning"]))
                .include(FilterRule::default().namespaces(["payments"])),
        );
        assert!(filter.matches(&event("billing", "Warning", "BackOff")));
        assert!(filter.matches(&event("payments", "Normal", "Pulled")));
        assert!(!filter.matches(&event("billing", "Normal", "Pulled")));
    }

    #[test]
    fn exclude_rules_drop_events_matching_any_of_them() {
        let filter = compile(
            FilterConfig::default()
                .exclude(FilterRule::default().namespaces(["kube-system"]))
                .exclude(FilterRule::default().reasons(["Pulled"])),
        );
        assert!(filter.matches(&event("payments", "Normal", "Created")));
        assert!(!filter.matches(&event("kube-system", "Warning", "BackOff")));
        assert!(!filter.matches(&event("payments", "Normal", "Pulled")));
    }

    #[test]
    fn exclude_wins_over_include() {
        let filter = compile(
            FilterConfig::default()
                .include(FilterRule::default().types(["Warning"]))
                .exclude(FilterRule::default().reasons(["BackOff"])),
        );
        assert!(filter.matches(&event("payments", "Warning", "FailedMount")));
        assert!(!filter.matches(&event("payments", "Warning", "BackOff")));
        assert!(!filter.matches(&event("payments", "Normal", "Pulled")));
    }

    #[test]
    fn conditions_of_one_rule_must_all_hold() {
        let filter = compile(
            FilterConfig::default().include(
                FilterRule::default()
                    .namespaces(["payments"])
                    .types(["warning"])
                    .reasons(["BackOff"])
                    .kinds(["pod"])
                    .message("restarting")
                    .min_count(3),
            ),
        );
        let mut all = event("payments", "Warning", "BackOff");
        all.regarding = ObjectRef::new("Pod", "api-7d9f");
        all.message = "Back-off restarting failed container".into();
        all.count = 3;
        assert!(filter.matches(&all));

        let breaks_one: [fn(&mut Event); 6] = [
            |e| e.namespace = Some("billing".into()),
            |e| e.event_type = "Normal".into(),
            |e| e.reason = "Pulled".into(),
            |e| e.regarding.kind = "Node".into(),
            |e| e.message = "Started container".into(),
            |e| e.count = 2,
        ];
        for (i, break_it) in breaks_one.iter().enumerate() {
            let mut event = all.clone();
            break_it(&mut event);
            assert!(!filter.matches(&event), "condition {i} was not checked");
        }
    }

    #[test]
    fn empty_rule_is_refused() {
        let error = error_of(
            FilterConfig::default()
                .include(FilterRule::default().min_count(2))
                .include(FilterRule::default()),
        );
        assert!(
            matches!(&error, Some(ConfigError::EmptyRule { path }) if path == "include[1]"),
            "{error:?}"
        );
    }

    #[test]
    fn empty_list_is_refused_with_its_path() {
        let error = error_of(
            FilterConfig::default().exclude(FilterRule::default().reasons(Vec::<String>::new())),
        );
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some(
                "empty list in `exclude[0].reasons` would match no event: list at least one \
                 value, or remove the key"
            )
        );
    }

    #[test]
    fn unknown_event_type_is_refused_with_its_path() {
        let error = error_of(
            FilterConfig::default().include(FilterRule::default().types(["Warning", "Warn"])),
        );
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("unknown event type \"Warn\" in `include[0].types[1]`: use Normal or Warning")
        );
    }

    #[test]
    fn invalid_regex_is_refused_at_compile_time_with_its_source() {
        let error = error_of(
            FilterConfig::default()
                .exclude(FilterRule::default().message("fine"))
                .exclude(FilterRule::default().message("a{2,1}")),
        );
        let Some(ConfigError::InvalidRegex { path, source }) = &error else {
            panic!("expected an invalid regex error, got {error:?}");
        };
        assert_eq!(path, "exclude[1].message");
        assert!(matches!(source, regex::Error::Syntax(_)), "{source:?}");
    }
}
