//! Ready-made predicates on one field of an [`Event`] each.
//!
//! The set-based predicates hold their values in a `HashSet`, so a long list costs one lookup
//! per event. Which comparisons ignore case follows Kubernetes: kinds and types are compared
//! case-insensitively (people write `pod` and `warning`), namespaces and reasons exactly
//! (namespaces are lower-case by rule; reasons are machine-readable codes).

use std::collections::HashSet;

use regex::Regex;

use super::Predicate;
use crate::Event;

/// Keeps events whose namespace is in a set; built by [`namespaces`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct Namespaces {
    names: HashSet<String>,
}

/// Keeps events in any of the given namespaces (exact match).
///
/// Events without a namespace never match.
///
/// ```
/// use event_core::Event;
/// use event_core::filter::{Predicate, namespaces};
///
/// let mut event = Event::new("u1", "1");
/// event.namespace = Some("payments".into());
/// assert!(namespaces(["payments", "billing"]).matches(&event));
/// assert!(!namespaces(["kube-system"]).matches(&event));
/// ```
pub fn namespaces<I>(names: I) -> Namespaces
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    Namespaces {
        names: names.into_iter().map(Into::into).collect(),
    }
}

impl Predicate for Namespaces {
    fn matches(&self, event: &Event) -> bool {
        event
            .namespace
            .as_deref()
            .is_some_and(|namespace| self.names.contains(namespace))
    }
}

/// Keeps events whose type is in a set; built by [`event_types`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct EventTypes {
    lowercase: HashSet<String>,
}

/// Keeps events of any of the given types, `Normal` or `Warning`, ignoring case.
///
/// ```
/// use event_core::Event;
/// use event_core::filter::{Predicate, event_types};
///
/// let mut event = Event::new("u1", "1");
/// event.event_type = "Warning".into();
/// assert!(event_types(["warning"]).matches(&event));
/// assert!(!event_types(["Normal"]).matches(&event));
/// ```
pub fn event_types<I>(types: I) -> EventTypes
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    EventTypes {
        lowercase: lowercase_set(types),
    }
}

impl Predicate for EventTypes {
    fn matches(&self, event: &Event) -> bool {
        self.lowercase.contains(&event.event_type.to_lowercase())
    }
}

/// Keeps events whose reason is in a set; built by [`reasons`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct Reasons {
    reasons: HashSet<String>,
}

/// Keeps events with any of the given reasons, e.g. `BackOff`, `FailedScheduling` (exact match).
///
/// ```
/// use event_core::Event;
/// use event_core::filter::{Predicate, reasons};
///
/// let mut event = Event::new("u1", "1");
/// event.reason = "OOMKilling".into();
/// assert!(reasons(["OOMKilling", "BackOff"]).matches(&event));
/// assert!(!reasons(["Pulled"]).matches(&event));
/// ```
pub fn reasons<I>(reasons: I) -> Reasons
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    Reasons {
        reasons: reasons.into_iter().map(Into::into).collect(),
    }
}

impl Predicate for Reasons {
    fn matches(&self, event: &Event) -> bool {
        self.reasons.contains(&event.reason)
    }
}

/// Keeps events about objects of some kinds; built by [`involved_kinds`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct InvolvedKinds {
    lowercase: HashSet<String>,
}

/// Keeps events whose object ([`Event::regarding`]) is of any of the given kinds, ignoring case.
///
/// ```
/// use event_core::{Event, ObjectRef};
/// use event_core::filter::{Predicate, involved_kinds};
///
/// let mut event = Event::new("u1", "1");
/// event.regarding = ObjectRef::new("Pod", "api-7d9f");
/// assert!(involved_kinds(["pod", "Node"]).matches(&event));
/// assert!(!involved_kinds(["Deployment"]).matches(&event));
/// ```
pub fn involved_kinds<I>(kinds: I) -> InvolvedKinds
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    InvolvedKinds {
        lowercase: lowercase_set(kinds),
    }
}

impl Predicate for InvolvedKinds {
    fn matches(&self, event: &Event) -> bool {
        self.lowercase
            .contains(&event.regarding.kind.to_lowercase())
    }
}

/// Keeps events whose object ([`Event::regarding`]) has a name in a set; built by
/// [`object_names`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct ObjectNames {
    names: HashSet<String>,
}

/// Keeps events whose object ([`Event::regarding`]) has one of the given names (exact match:
/// object names are case-sensitive). Pair it with [`involved_kinds`] for one object.
///
/// ```
/// use event_core::filter::{Predicate, object_names};
/// use event_core::{Event, ObjectRef};
///
/// let mut event = Event::new("u1", "1");
/// event.regarding = ObjectRef::new("Pod", "api-7d9f");
/// assert!(object_names(["api-7d9f"]).matches(&event));
/// assert!(!object_names(["api"]).matches(&event));
/// ```
pub fn object_names<I>(names: I) -> ObjectNames
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    ObjectNames {
        names: names.into_iter().map(Into::into).collect(),
    }
}

impl Predicate for ObjectNames {
    fn matches(&self, event: &Event) -> bool {
        self.names.contains(&event.regarding.name)
    }
}

/// Keeps events whose message matches a regex; built by [`message_matches`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct MessageMatches {
    regex: Regex,
}

/// Keeps events whose message contains a match of `regex` anywhere (anchor it with `^…$` to
/// match the whole message; prefix `(?i)` to ignore case).
///
/// The regex is compiled by the caller, so an invalid pattern is reported before any event
/// flows.
///
/// ```
/// use event_core::Event;
/// use event_core::filter::{Predicate, message_matches};
/// use regex::Regex;
///
/// let mut event = Event::new("u1", "1");
/// event.message = "Back-off restarting failed container app".into();
/// let regex = Regex::new("(?i)back-?off")?;
/// assert!(message_matches(regex).matches(&event));
/// # Ok::<(), regex::Error>(())
/// ```
pub fn message_matches(regex: Regex) -> MessageMatches {
    MessageMatches { regex }
}

impl Predicate for MessageMatches {
    fn matches(&self, event: &Event) -> bool {
        self.regex.is_match(&event.message)
    }
}

/// Keeps events that occurred at least some number of times; built by [`min_count`].
#[derive(Clone, Copy, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct MinCount {
    min: u32,
}

/// Keeps events whose [`count`](Event::count) is at least `min`.
///
/// ```
/// use event_core::Event;
/// use event_core::filter::{Predicate, min_count};
///
/// let mut event = Event::new("u1", "1");
/// event.count = 5;
/// assert!(min_count(5).matches(&event));
/// assert!(!min_count(6).matches(&event));
/// ```
pub fn min_count(min: u32) -> MinCount {
    MinCount { min }
}

impl Predicate for MinCount {
    fn matches(&self, event: &Event) -> bool {
        event.count >= self.min
    }
}

fn lowercase_set<I>(values: I) -> HashSet<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    values
        .into_iter()
        .map(|value| value.as_ref().to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectRef;

    fn event() -> Event {
        let mut event = Event::new("u1", "1");
        event.namespace = Some("payments".into());
        event.regarding = ObjectRef::new("Pod", "api-7d9f");
        event.reason = "BackOff".into();
        event.message = "Back-off restarting failed container app".into();
        event.event_type = "Warning".into();
        event.count = 4;
        event
    }

    #[test]
    fn namespaces_keeps_listed_namespaces_only() {
        assert!(namespaces(["billing", "payments"]).matches(&event()));
        assert!(!namespaces(["billing"]).matches(&event()));
        assert!(!namespaces(["Payments"]).matches(&event()));
        assert!(!namespaces(Vec::<String>::new()).matches(&event()));
    }

    #[test]
    fn namespaces_never_matches_an_event_without_namespace() {
        let mut event = event();
        event.namespace = None;
        assert!(!namespaces(["payments", ""]).matches(&event));
    }

    #[test]
    fn event_types_ignores_case_on_both_sides() {
        assert!(event_types(["Warning"]).matches(&event()));
        assert!(event_types(["WARNING"]).matches(&event()));
        let mut odd = event();
        odd.event_type = "warning".into();
        assert!(event_types(["Warning"]).matches(&odd));
        assert!(!event_types(["Normal"]).matches(&event()));
    }

    #[test]
    fn reasons_match_exactly() {
        assert!(reasons(["FailedScheduling", "BackOff"]).matches(&event()));
        assert!(!reasons(["backoff"]).matches(&event()));
        assert!(!reasons(["Pulled"]).matches(&event()));
    }

    #[test]
    fn involved_kinds_checks_the_regarding_kind_ignoring_case() {
        assert!(involved_kinds(["pod"]).matches(&event()));
        assert!(involved_kinds(["POD", "Node"]).matches(&event()));
        assert!(!involved_kinds(["Node"]).matches(&event()));
        let mut related_pod = event();
        related_pod.regarding = ObjectRef::new("Node", "node-1");
        related_pod.related = Some(ObjectRef::new("Pod", "api-7d9f"));
        assert!(!involved_kinds(["Pod"]).matches(&related_pod));
    }

    #[test]
    fn message_matches_searches_anywhere_in_the_message() -> Result<(), regex::Error> {
        assert!(message_matches(Regex::new("restarting")?).matches(&event()));
        assert!(message_matches(Regex::new("(?i)^back-off")?).matches(&event()));
        assert!(!message_matches(Regex::new("^restarting")?).matches(&event()));
        assert!(!message_matches(Regex::new("OOM")?).matches(&event()));
        Ok(())
    }

    #[test]
    fn min_count_is_inclusive() {
        assert!(min_count(4).matches(&event()));
        assert!(!min_count(5).matches(&event()));
    }

    #[test]
    fn ready_made_predicates_combine() {
        let p = namespaces(["payments"]).and(reasons(["BackOff"]).negate());
        assert!(!p.matches(&event()));
        let mut pulled = event();
        pulled.reason = "Pulled".into();
        assert!(p.matches(&pulled));
    }
}
