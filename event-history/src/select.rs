//! [`Selection`]: which events a history query keeps, in the terms of `kubectl get events`,
//! compiled into the pipeline's own [filter](event_core::filter) types.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use event_core::filter::{
    ConfigError, FilterConfig, FilterRule, Predicate, involved_kinds, object_names,
};

/// Kubernetes' short names and plurals of the kinds that events are usually about, and the
/// kind each one means (lower-case).
const KIND_ALIASES: &[(&str, &str)] = &[
    ("po", "pod"),
    ("pods", "pod"),
    ("no", "node"),
    ("nodes", "node"),
    ("deploy", "deployment"),
    ("deployments", "deployment"),
    ("rs", "replicaset"),
    ("replicasets", "replicaset"),
    ("sts", "statefulset"),
    ("statefulsets", "statefulset"),
    ("ds", "daemonset"),
    ("daemonsets", "daemonset"),
    ("jobs", "job"),
    ("cj", "cronjob"),
    ("cronjobs", "cronjob"),
    ("svc", "service"),
    ("services", "service"),
    ("ns", "namespace"),
    ("namespaces", "namespace"),
    ("pvc", "persistentvolumeclaim"),
    ("persistentvolumeclaims", "persistentvolumeclaim"),
    ("pv", "persistentvolume"),
    ("persistentvolumes", "persistentvolume"),
    ("hpa", "horizontalpodautoscaler"),
    ("horizontalpodautoscalers", "horizontalpodautoscaler"),
    ("ing", "ingress"),
    ("ingresses", "ingress"),
    ("cm", "configmap"),
    ("configmaps", "configmap"),
    ("sa", "serviceaccount"),
    ("serviceaccounts", "serviceaccount"),
    ("ep", "endpoints"),
];

/// Why an object could not be read as `kind/name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// Not of the form `kind/name`.
    #[error(
        "cannot read {input:?} as an object: use kind/name, such as pod/api-7d9f or deployment/api"
    )]
    Invalid {
        /// The text given.
        input: String,
    },
}

/// One object, as `kubectl get events --for` names it: `pod/api-7d9f`, `deploy/api`,
/// `node/ip-10-0-1-7`.
///
/// The kind may be a short name (`po`, `deploy`, `rs`, ...), a plural, or qualified with its
/// group (`deployment.apps`); it is compared ignoring case. The name is compared exactly.
///
/// ```
/// use event_history::ObjectSelector;
///
/// let pod: ObjectSelector = "po/api-7d9f".parse()?;
/// assert_eq!(pod.kind(), "pod");
/// assert_eq!(pod.name(), "api-7d9f");
/// assert_eq!(pod.to_string(), "pod/api-7d9f");
/// # Ok::<(), event_history::SelectorError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSelector {
    kind: String,
    name: String,
}

impl ObjectSelector {
    /// The kind, lower-case and singular (`pod`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The name of the object.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for ObjectSelector {
    type Err = SelectorError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || SelectorError::Invalid {
            input: input.to_owned(),
        };
        let (kind, name) = input.trim().split_once('/').ok_or_else(invalid)?;
        let kind = kind.split('.').next().unwrap_or_default().to_lowercase();
        if kind.is_empty() || name.is_empty() || name.contains('/') {
            return Err(invalid());
        }
        let kind = KIND_ALIASES
            .iter()
            .find(|(alias, _)| *alias == kind)
            .map_or(kind.clone(), |(_, canonical)| (*canonical).to_owned());
        Ok(ObjectSelector {
            kind,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for ObjectSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Which events a history query keeps, with the flags of `kubectl get events` and the
/// pipeline's [`FilterConfig`].
///
/// Values of one field are alternatives (`namespaces(["a", "b"])` keeps both); fields combine
/// with *and*. [`compile`](Self::compile) builds the predicate from the same
/// [filter](event_core::filter) types the pipeline uses, so history and export agree on what a
/// filter means; the fields are public so that a reader can also hand the selective ones to
/// its backend (a CloudWatch filter pattern).
///
/// ```
/// use event_core::filter::Predicate;
/// use event_history::Selection;
/// use event_core::{Event, ObjectRef};
///
/// let keep = Selection::default()
///     .namespaces(["payments"])
///     .types(["Warning"])
///     .object("pod/api-7d9f".parse()?)
///     .compile()?;
///
/// let mut event = Event::new("u1", "1");
/// event.namespace = Some("payments".into());
/// event.event_type = "Warning".into();
/// event.regarding = ObjectRef::new("Pod", "api-7d9f");
/// assert!(keep.matches(&event));
/// event.regarding.name = "api-other".into();
/// assert!(!keep.matches(&event));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Selection {
    /// Namespaces of which the event's must be one.
    pub namespaces: Vec<String>,
    /// Types (`Normal`, `Warning`, any case) of which the event's must be one.
    pub types: Vec<String>,
    /// Reasons of which the event's must be one (exact).
    pub reasons: Vec<String>,
    /// Kinds of which the event's object must be one (any case).
    pub kinds: Vec<String>,
    /// The one object the events must be about.
    pub object: Option<ObjectSelector>,
    /// A regex the message must contain a match of.
    pub message: Option<String>,
    /// A filter config (as the pipeline loads it) the events must also pass.
    pub config: Option<FilterConfig>,
}

impl Selection {
    /// Adds namespaces.
    #[must_use]
    pub fn namespaces<I: IntoIterator<Item: Into<String>>>(mut self, values: I) -> Self {
        self.namespaces.extend(values.into_iter().map(Into::into));
        self
    }

    /// Adds event types.
    #[must_use]
    pub fn types<I: IntoIterator<Item: Into<String>>>(mut self, values: I) -> Self {
        self.types.extend(values.into_iter().map(Into::into));
        self
    }

    /// Adds reasons.
    #[must_use]
    pub fn reasons<I: IntoIterator<Item: Into<String>>>(mut self, values: I) -> Self {
        self.reasons.extend(values.into_iter().map(Into::into));
        self
    }

    /// Adds kinds.
    #[must_use]
    pub fn kinds<I: IntoIterator<Item: Into<String>>>(mut self, values: I) -> Self {
        self.kinds.extend(values.into_iter().map(Into::into));
        self
    }

    /// Sets the object.
    #[must_use]
    pub fn object(mut self, object: ObjectSelector) -> Self {
        self.object = Some(object);
        self
    }

    /// Sets the message regex.
    #[must_use]
    pub fn message(mut self, regex: impl Into<String>) -> Self {
        self.message = Some(regex.into());
        self
    }

    /// Sets the filter config.
    #[must_use]
    pub fn config(mut self, config: FilterConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The flags as one include rule of a [`FilterConfig`]; `None` when no flag is set.
    pub fn rule(&self) -> Option<FilterRule> {
        let list = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
        // `FilterRule` is non-exhaustive outside event-core: set its public fields one by one.
        let mut rule = FilterRule::default();
        rule.namespaces = list(&self.namespaces);
        rule.types = list(&self.types);
        rule.reasons = list(&self.reasons);
        rule.kinds = list(&self.kinds);
        rule.message = self.message.clone();
        (rule != FilterRule::default()).then_some(rule)
    }

    /// Builds the predicate: the flags' rule, the object and the filter config, all of which
    /// must keep an event.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an invalid message regex, an event type other than `Normal` or
    /// `Warning`, or an invalid filter config.
    pub fn compile(&self) -> Result<Arc<dyn Predicate>, ConfigError> {
        let flags = match self.rule() {
            Some(rule) => FilterConfig::default().include(rule),
            None => FilterConfig::default(),
        };
        let mut keep: Box<dyn Predicate> = Box::new(flags.compile()?);
        if let Some(object) = &self.object {
            let about = involved_kinds([object.kind()]).and(object_names([object.name()]));
            keep = Box::new(keep.and(about));
        }
        if let Some(config) = &self.config {
            keep = Box::new(keep.and(config.compile()?));
        }
        Ok(Arc::from(keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_core::{Event, ObjectRef};

    fn event(namespace: &str, kind: &str, name: &str, reason: &str) -> Event {
        let mut event = Event::new("u1", "1");
        event.namespace = Some(namespace.into());
        event.regarding = ObjectRef::new(kind, name);
        event.reason = reason.into();
        event.event_type = "Warning".into();
        event.message = "Back-off restarting failed container".into();
        event
    }

    #[test]
    fn objects_read_short_names_plurals_and_groups() {
        let parse = |s: &str| s.parse::<ObjectSelector>().map(|o| o.to_string());
        assert_eq!(parse("pod/api-7d9f").unwrap(), "pod/api-7d9f");
        assert_eq!(parse("po/api-7d9f").unwrap(), "pod/api-7d9f");
        assert_eq!(parse("Pods/api-7d9f").unwrap(), "pod/api-7d9f");
        assert_eq!(parse("deployment.apps/api").unwrap(), "deployment/api");
        assert_eq!(parse("deploy/api").unwrap(), "deployment/api");
        assert_eq!(parse("CustomThing/x").unwrap(), "customthing/x");
    }

    #[test]
    fn objects_without_kind_or_name_are_refused() {
        for input in ["api-7d9f", "/api", "pod/", "pod/a/b", ""] {
            let error = input.parse::<ObjectSelector>().unwrap_err();
            assert!(
                error.to_string().contains("use kind/name"),
                "{input}: {error}"
            );
        }
    }

    #[test]
    fn an_empty_selection_keeps_every_event() {
        assert_eq!(Selection::default().rule(), None);
        let keep = Selection::default().compile().unwrap();
        assert!(keep.matches(&event("any", "Node", "n", "NodeNotReady")));
    }

    #[test]
    fn values_of_a_field_are_alternatives_and_fields_combine() {
        let keep = Selection::default()
            .namespaces(["payments", "billing"])
            .reasons(["BackOff"])
            .compile()
            .unwrap();
        assert!(keep.matches(&event("payments", "Pod", "a", "BackOff")));
        assert!(keep.matches(&event("billing", "Pod", "a", "BackOff")));
        assert!(!keep.matches(&event("billing", "Pod", "a", "Pulled")));
        assert!(!keep.matches(&event("search", "Pod", "a", "BackOff")));
    }

    #[test]
    fn the_object_needs_both_its_kind_and_its_name() {
        let keep = Selection::default()
            .object("po/api-7d9f".parse().unwrap())
            .compile()
            .unwrap();
        assert!(keep.matches(&event("payments", "Pod", "api-7d9f", "BackOff")));
        assert!(!keep.matches(&event("payments", "Pod", "api-7d9", "BackOff")));
        assert!(!keep.matches(&event("payments", "ReplicaSet", "api-7d9f", "BackOff")));
    }

    #[test]
    fn the_message_regex_and_a_filter_config_apply_too() {
        let config = FilterConfig::default().exclude(FilterRule::default().reasons(["Pulled"]));
        let keep = Selection::default()
            .message("(?i)back-off")
            .config(config)
            .compile()
            .unwrap();
        assert!(keep.matches(&event("payments", "Pod", "a", "BackOff")));
        assert!(!keep.matches(&event("payments", "Pod", "a", "Pulled")));
        let mut quiet = event("payments", "Pod", "a", "BackOff");
        quiet.message = "Started container".into();
        assert!(!keep.matches(&quiet));
    }

    #[test]
    fn invalid_types_and_regexes_are_config_errors() {
        let typo = Selection::default().types(["Warnin"]).compile().err();
        assert!(
            matches!(typo, Some(ConfigError::UnknownEventType { .. })),
            "{typo:?}"
        );
        let regex = Selection::default().message("(unclosed").compile().err();
        assert!(
            matches!(regex, Some(ConfigError::InvalidRegex { .. })),
            "{regex:?}"
        );
    }
}
