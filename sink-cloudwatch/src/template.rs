//! [`NameTemplate`]: log group and stream names rendered from event fields.
//!
//! A template is text with placeholders in braces, e.g. `/event-keeper/{cluster}` or
//! `{namespace}/{kind}`. It is parsed once, when the config is validated, so that an unknown
//! placeholder is an error at start-up rather than a surprise at the first event.
//!
//! | placeholder | value | when empty |
//! |---|---|---|
//! | `{cluster}` | the cluster name the pipeline stamps on events | `_none` |
//! | `{namespace}` | namespace of the event | `_cluster` (cluster-scoped events: nodes, namespaces, ...) |
//! | `{kind}` | kind of the object the event is about, e.g. `Pod` | `_none` |
//! | `{name}` | name of that object | `_none` |
//! | `{reason}` | the event's reason, e.g. `BackOff` | `_none` |
//! | `{type}` | `Normal` or `Warning` | `_none` |
//! | `{api}` | the API the event was read from: `events.k8s.io/v1`, `v1` or `object-change` | never empty |
//! | `{controller}` | the reporting controller, e.g. `kubelet` | `_none` |
//! | `{date}` | the UTC day of the event's last occurrence, `2026-11-24` | never empty |
//!
//! Rendered values are sanitized: in a log group name every character outside
//! `[\.\-_/#A-Za-z0-9]` becomes `_`; in a log stream name `:`, `*` and control characters
//! become `_`. Names are cut to 512 bytes, and a group name that would start with the reserved
//! `aws/` gets a leading `_`.
//!
//! Over 400 lines with its tests only (about 340 without).

use std::fmt;

use event_core::Event;

use crate::limits::{MAX_LOG_GROUP_LEN, MAX_LOG_STREAM_LEN, is_group_char, is_stream_char};

/// What an empty field renders as.
pub const EMPTY_FIELD: &str = "_none";
/// What `{namespace}` renders as for a cluster-scoped event.
pub const CLUSTER_SCOPED_NAMESPACE: &str = "_cluster";
/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 9] = [
    "cluster",
    "namespace",
    "kind",
    "name",
    "reason",
    "type",
    "api",
    "controller",
    "date",
];
const RESERVED_GROUP_PREFIX: &str = "aws/";

/// Why a name template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template is empty.
    #[error("is empty; write e.g. \"/event-keeper/{{cluster}}\"")]
    Empty,
    /// A placeholder that no event field fills.
    #[error(
        "has an unknown placeholder `{{{placeholder}}}`; use one of {}",
        known_placeholders()
    )]
    UnknownPlaceholder {
        /// The name between the braces.
        placeholder: String,
    },
    /// A `{` without its `}`, or a `}` without its `{`.
    #[error("has an unbalanced brace at byte {position}; placeholders are written `{{name}}`")]
    UnbalancedBrace {
        /// Byte offset of the brace.
        position: usize,
    },
    /// Literal text with a character the name cannot hold.
    #[error("contains {character:?}, which a log {what} name cannot hold; {allowed}")]
    InvalidCharacter {
        /// The character.
        character: char,
        /// `group` or `stream`.
        what: &'static str,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A log group name starting with `aws/`, which AWS reserves.
    #[error("starts with `aws/`, which AWS reserves for its own log groups; choose another prefix")]
    ReservedPrefix,
}

fn known_placeholders() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Group,
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Cluster,
    Namespace,
    Kind,
    Name,
    Reason,
    Type,
    Api,
    Controller,
    Date,
}

impl Field {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "cluster" => Field::Cluster,
            "namespace" => Field::Namespace,
            "kind" => Field::Kind,
            "name" => Field::Name,
            "reason" => Field::Reason,
            "type" => Field::Type,
            "api" => Field::Api,
            "controller" => Field::Controller,
            "date" => Field::Date,
            _ => return None,
        })
    }

    fn value(self, event: &Event) -> String {
        let text = |s: &str| {
            if s.is_empty() {
                EMPTY_FIELD.to_owned()
            } else {
                s.to_owned()
            }
        };
        let optional = |s: &Option<String>| text(s.as_deref().unwrap_or(""));
        match self {
            Field::Cluster => optional(&event.cluster),
            Field::Namespace => match event.namespace.as_deref() {
                Some(ns) if !ns.is_empty() => ns.to_owned(),
                _ => CLUSTER_SCOPED_NAMESPACE.to_owned(),
            },
            Field::Kind => text(&event.regarding.kind),
            Field::Name => text(&event.regarding.name),
            Field::Reason => text(&event.reason),
            Field::Type => text(&event.event_type),
            Field::Api => event.api.as_str().to_owned(),
            Field::Controller => optional(&event.reporting_controller),
            Field::Date => event.last_seen.strftime("%Y-%m-%d").to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(Field),
}

/// A log group or log stream name with placeholders, parsed and checked.
///
/// ```
/// use event_core::Event;
/// use sink_cloudwatch::NameTemplate;
///
/// let group = NameTemplate::log_group("/event-keeper/{cluster}")?;
/// let stream = NameTemplate::log_stream("{namespace}/{kind}")?;
/// let mut event = Event::new("7d3c6a2e", "1042");
/// event.cluster = Some("prod-eu".into());
/// event.regarding.kind = "Node".into();
/// assert_eq!(group.render(&event), "/event-keeper/prod-eu");
/// assert_eq!(stream.render(&event), "_cluster/Node");
/// assert!(NameTemplate::log_stream("{pod}").is_err());
/// # Ok::<(), sink_cloudwatch::TemplateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    source: String,
    target: Target,
    parts: Vec<Part>,
}

impl NameTemplate {
    /// Parses a log group name template.
    ///
    /// # Errors
    ///
    /// [`TemplateError`] for an empty template, an unknown placeholder, an unbalanced brace,
    /// literal text outside `[\.\-_/#A-Za-z0-9]`, or the reserved `aws/` prefix.
    pub fn log_group(template: &str) -> Result<Self, TemplateError> {
        let parsed = Self::parse(template, Target::Group)?;
        if let Some(Part::Literal(first)) = parsed.parts.first()
            && first.starts_with(RESERVED_GROUP_PREFIX)
        {
            return Err(TemplateError::ReservedPrefix);
        }
        Ok(parsed)
    }

    /// Parses a log stream name template.
    ///
    /// # Errors
    ///
    /// [`TemplateError`] for an empty template, an unknown placeholder, an unbalanced brace, or
    /// literal `:`, `*` or control characters.
    pub fn log_stream(template: &str) -> Result<Self, TemplateError> {
        Self::parse(template, Target::Stream)
    }

    fn parse(template: &str, target: Target) -> Result<Self, TemplateError> {
        if template.is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut rest = template;
        let mut offset = 0;
        while !rest.is_empty() {
            let brace = rest.find(['{', '}']).unwrap_or(rest.len());
            let (literal, tail) = rest.split_at(brace);
            if !literal.is_empty() {
                check_literal(literal, target)?;
                parts.push(Part::Literal(literal.to_owned()));
            }
            offset += brace;
            if tail.is_empty() {
                break;
            }
            let close = match (tail.starts_with('{'), tail.find('}')) {
                (true, Some(close)) => close,
                _ => return Err(TemplateError::UnbalancedBrace { position: offset }),
            };
            let name = &tail[1..close];
            if name.contains('{') {
                return Err(TemplateError::UnbalancedBrace { position: offset });
            }
            let field = Field::parse(name).ok_or_else(|| TemplateError::UnknownPlaceholder {
                placeholder: name.to_owned(),
            })?;
            parts.push(Part::Field(field));
            rest = &tail[close + 1..];
            offset += close + 1;
        }
        Ok(NameTemplate {
            source: template.to_owned(),
            target,
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The literal text before the first placeholder (all of it for a constant template).
    pub(crate) fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(text)) => text,
            _ => "",
        }
    }

    /// Whether the template has no placeholder, so that every event gets the same name.
    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The name for `event`: placeholders filled, sanitized and cut to the length limit.
    pub fn render(&self, event: &Event) -> String {
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => name.push_str(text),
                Part::Field(field) => {
                    let value = field.value(event);
                    name.extend(value.chars().map(|c| self.sanitize(c)));
                }
            }
        }
        if self.target == Target::Group && name.starts_with(RESERVED_GROUP_PREFIX) {
            name.insert(0, '_');
        }
        let max = match self.target {
            Target::Group => MAX_LOG_GROUP_LEN,
            Target::Stream => MAX_LOG_STREAM_LEN,
        };
        truncate_at_char(&mut name, max);
        name
    }

    fn sanitize(&self, c: char) -> char {
        let allowed = match self.target {
            Target::Group => is_group_char(c),
            Target::Stream => is_stream_char(c),
        };
        if allowed { c } else { '_' }
    }
}

impl fmt::Display for NameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn check_literal(literal: &str, target: Target) -> Result<(), TemplateError> {
    let (ok, what, allowed): (fn(char) -> bool, _, _) = match target {
        Target::Group => (
            is_group_char,
            "group",
            "use letters, digits, '.', '-', '_', '/' and '#'",
        ),
        Target::Stream => (
            is_stream_char,
            "stream",
            "use any character but ':', '*' and control characters",
        ),
    };
    match literal.chars().find(|c| !ok(*c)) {
        Some(character) => Err(TemplateError::InvalidCharacter {
            character,
            what,
            allowed,
        }),
        None => Ok(()),
    }
}

/// Cuts `text` to at most `max` bytes without splitting a character.
pub(crate) fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use event_core::{EventApi, ObjectRef};

    use super::*;

    fn event() -> Event {
        let mut e = Event::new("u1", "1");
        e.cluster = Some("prod-eu".into());
        e.namespace = Some("payments".into());
        e.regarding = ObjectRef::new("Pod", "api-7d9f");
        e.reason = "BackOff".into();
        e.event_type = "Warning".into();
        e.reporting_controller = Some("kubelet".into());
        e.last_seen = "2026-11-24T23:59:59Z".parse().unwrap();
        e
    }

    #[test]
    fn every_placeholder_renders_its_field() {
        let t = NameTemplate::log_stream(
            "{cluster} {namespace} {kind} {name} {reason} {type} {api} {controller} {date}",
        )
        .unwrap();
        assert_eq!(
            t.render(&event()),
            "prod-eu payments Pod api-7d9f BackOff Warning events.k8s.io/v1 kubelet 2026-11-24"
        );
        assert!(!t.is_constant());
    }

    #[test]
    fn defaults_render_as_documented() {
        let group = NameTemplate::log_group("/event-keeper/{cluster}").unwrap();
        let stream = NameTemplate::log_stream("{namespace}").unwrap();
        assert_eq!(group.render(&event()), "/event-keeper/prod-eu");
        assert_eq!(stream.render(&event()), "payments");
    }

    #[test]
    fn cluster_scoped_events_and_empty_fields_get_placeholders() {
        let mut e = event();
        e.namespace = None;
        e.cluster = None;
        e.reason = String::new();
        e.api = EventApi::CoreV1;
        let t = NameTemplate::log_stream("{namespace}/{cluster}/{reason}/{api}").unwrap();
        assert_eq!(t.render(&e), "_cluster/_none/_none/v1");
        e.namespace = Some(String::new());
        assert_eq!(t.render(&e), "_cluster/_none/_none/v1");
    }

    #[test]
    fn unknown_placeholder_is_named_in_the_error() {
        let err = NameTemplate::log_group("/ek/{pod}").unwrap_err();
        assert_eq!(
            err,
            TemplateError::UnknownPlaceholder {
                placeholder: "pod".into()
            }
        );
        let message = err.to_string();
        assert!(message.contains("`{pod}`"), "{message}");
        assert!(message.contains("{namespace}"), "{message}");
    }

    #[test]
    fn unbalanced_braces_are_refused_with_their_position() {
        for (template, position) in [("/ek/{cluster", 4), ("/ek/}", 4), ("a{b{c}}", 1)] {
            assert_eq!(
                NameTemplate::log_group(template).unwrap_err(),
                TemplateError::UnbalancedBrace { position },
                "{template}"
            );
        }
        assert_eq!(
            NameTemplate::log_stream("").unwrap_err(),
            TemplateError::Empty
        );
    }

    #[test]
    fn literal_text_must_be_valid_for_the_name() {
        let err = NameTemplate::log_group("/event keeper/{cluster}").unwrap_err();
        assert!(
            matches!(err, TemplateError::InvalidCharacter { character: ' ', .. }),
            "{err}"
        );
        assert!(NameTemplate::log_stream("events:{namespace}").is_err());
        assert!(NameTemplate::log_stream("events {namespace} ✓").is_ok());
        assert_eq!(
            NameTemplate::log_group("aws/{cluster}").unwrap_err(),
            TemplateError::ReservedPrefix
        );
    }

    #[test]
    fn rendered_values_are_sanitized_for_each_name() {
        let mut e = event();
        e.cluster = Some("prod eu:1*ü".into());
        let group = NameTemplate::log_group("/ek/{cluster}").unwrap();
        let stream = NameTemplate::log_stream("{cluster}").unwrap();
        assert_eq!(group.render(&e), "/ek/prod_eu_1__");
        assert_eq!(stream.render(&e), "prod eu_1_ü");
        e.cluster = Some("aws/x".into());
        assert_eq!(
            NameTemplate::log_group("{cluster}").unwrap().render(&e),
            "_aws/x"
        );
    }

    #[test]
    fn long_names_are_cut_to_512_bytes_on_a_character_boundary() {
        let mut e = event();
        e.regarding.name = "é".repeat(400);
        let stream = NameTemplate::log_stream("x{name}").unwrap().render(&e);
        assert_eq!(stream.len(), 511);
        assert!(stream.ends_with('é'));
        e.regarding.name = "a".repeat(600);
        let group = NameTemplate::log_group("{name}").unwrap().render(&e);
        assert_eq!(group.len(), 512);
    }

    #[test]
    fn a_template_without_placeholders_is_constant() {
        let t = NameTemplate::log_stream("all-events").unwrap();
        assert!(t.is_constant());
        assert_eq!(t.literal_prefix(), "all-events");
        assert_eq!(t.render(&event()), "all-events");
        let group = NameTemplate::log_group("/ek/{cluster}/x").unwrap();
        assert_eq!(group.literal_prefix(), "/ek/");
        assert_eq!(
            NameTemplate::log_group("{cluster}")
                .unwrap()
                .literal_prefix(),
            ""
        );
        assert_eq!(t.to_string(), "all-events");
    }
}
