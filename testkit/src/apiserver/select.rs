//! `fieldSelector` and `labelSelector` for lists and watches.
//!
//! Field selectors support `=`, `==` and `!=` on `metadata.name` and `metadata.namespace` for
//! every resource; on events also the fields kube-apiserver indexes (`involvedObject.*` or
//! `regarding.*`, `reason`, `reportingComponent`/`reportingController`, `source`, `type`); on
//! other resources any dotted path into the object. Label selectors support the equality forms
//! (`k=v`, `k==v`, `k!=v`, `k`, `!k`); a selector with set-based terms (`in`, `notin`) is
//! ignored, so it matches everything.

use serde_json::Value;

use super::model::CoreEvent;
use super::object::Stored;
use super::query::Query;
use super::resource::{Resource, ResourceDef};
use super::status::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Absent(String),
}

/// The selectors of one list or watch request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    fields: Vec<Term>,
    labels: Vec<Term>,
}

fn parse_term(term: &str) -> Term {
    if let Some((k, v)) = term.split_once("!=") {
        Term::NotEquals(k.trim().to_owned(), v.trim().to_owned())
    } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        Term::Equals(k.trim().to_owned(), v.trim().to_owned())
    } else if let Some(k) = term.trim().strip_prefix('!') {
        Term::Absent(k.trim().to_owned())
    } else {
        Term::Exists(term.trim().to_owned())
    }
}

fn terms(selector: Option<&str>) -> Vec<Term> {
    selector
        .map(|s| {
            s.split(',')
                .filter(|t| !t.trim().is_empty())
                .map(parse_term)
                .collect()
        })
        .unwrap_or_default()
}

const EVENT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// The core/v1 name of an event field (events.k8s.io names are accepted too).
fn event_field(field: &str) -> Option<String> {
    let core = if let Some(rest) = field.strip_prefix("regarding.") {
        format!("involvedObject.{rest}")
    } else if field == "reportingController" {
        "reportingComponent".to_owned()
    } else {
        field.to_owned()
    };
    EVENT_FIELDS.contains(&core.as_str()).then_some(core)
}

fn event_value(ev: &CoreEvent, field: &str) -> String {
    let o = &ev.involved_object;
    let value = match field {
        "metadata.name" => &ev.metadata.name,
        "metadata.namespace" => &ev.metadata.namespace,
        "involvedObject.kind" => &o.kind,
        "involvedObject.namespace" => &o.namespace,
        "involvedObject.name" => &o.name,
        "involvedObject.uid" => &o.uid,
        "involvedObject.apiVersion" => &o.api_version,
        "involvedObject.resourceVersion" => &o.resource_version,
        "involvedObject.fieldPath" => &o.field_path,
        "reason" => &ev.reason,
        "reportingComponent" => &ev.reporting_component,
        "source" => &ev.source.component,
        "type" => &ev.type_,
        _ => return String::new(),
    };
    value.clone()
}

fn json_value(object: &serde_json::Map<String, Value>, path: &str) -> String {
    let mut parts = path.split('.');
    let first = parts.next().and_then(|p| object.get(p));
    match parts
        .try_fold(first, |v, p| Some(v.and_then(|v| v.get(p))))
        .flatten()
    {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl Selector {
    /// Reads `fieldSelector` and `labelSelector` for `def`.
    ///
    /// # Errors
    ///
    /// [`ApiError::BadRequest`] for an event field kube-apiserver does not index, or a field
    /// term without an operator.
    pub(crate) fn parse(query: &Query, def: &ResourceDef) -> Result<Self, ApiError> {
        let mut fields = terms(query.get("fieldSelector"));
        for term in &mut fields {
            let (Term::Equals(field, _) | Term::NotEquals(field, _)) = term else {
                return Err(ApiError::BadRequest(format!(
                    "invalid field selector: {term:?} has no operator"
                )));
            };
            if def.resource == Resource::Events {
                *field = event_field(field).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "field label not supported: {field} for {}",
                        def.qualified_plural()
                    ))
                })?;
            }
        }
        let label_selector = query.get("labelSelector");
        let labels = if label_selector.is_some_and(|s| s.contains('(')) {
            Vec::new()
        } else {
            terms(label_selector)
        };
        Ok(Selector { fields, labels })
    }

    /// Whether `stored` passes every term.
    pub(crate) fn matches(&self, stored: &Stored) -> bool {
        if self.fields.is_empty() && self.labels.is_empty() {
            return true;
        }
        // An event is stored as its JSON: parse it once for all the terms.
        let event = stored.event();
        let object = stored.object();
        let field = |name: &str| match (&event, object) {
            (Some(ev), _) => event_value(ev, name),
            (None, Some(map)) => json_value(map, name),
            (None, None) => String::new(),
        };
        let label = |name: &str| -> Option<String> {
            match (&event, object) {
                (Some(ev), _) => ev.metadata.labels.get(name).cloned(),
                (None, Some(map)) => map
                    .get("metadata")
                    .and_then(|m| m.get("labels"))
                    .and_then(|l| l.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                (None, None) => None,
            }
        };
        let fields_ok = self.fields.iter().all(|t| match t {
            Term::Equals(k, v) => field(k) == *v,
            Term::NotEquals(k, v) => field(k) != *v,
            Term::Exists(_) | Term::Absent(_) => true,
        });
        fields_ok
            && self.labels.iter().all(|t| match t {
                Term::Equals(k, v) => label(k).as_deref() == Some(v.as_str()),
                Term::NotEquals(k, v) => label(k).as_deref() != Some(v.as_str()),
                Term::Exists(k) => label(k).is_some(),
                Term::Absent(k) => label(k).is_none(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::object::Body;
    use super::super::resource::ALL;
    use super::*;
    use tokio::time::Instant;

    fn events_def() -> ResourceDef {
        *ALL.iter().find(|d| d.resource == Resource::Events).unwrap()
    }

    fn event(name: &str, reason: &str) -> Stored {
        let mut ev = CoreEvent::default();
        ev.metadata.name = name.into();
        ev.metadata.namespace = "demo".into();
        ev.metadata.labels.insert("app".into(), "web".into());
        ev.reason = reason.into();
        ev.involved_object.kind = "Pod".into();
        Stored::new(
            Resource::Events,
            Body::Event(Box::new(ev)),
            1,
            Instant::now(),
        )
    }

    fn selector(query: &str) -> Result<Selector, ApiError> {
        Selector::parse(&Query::parse(Some(query)), &events_def())
    }

    #[test]
    fn field_selectors_match_event_fields_in_either_api_naming() {
        let s = selector("fieldSelector=reason%3DBackOff,regarding.kind%3DPod").unwrap();
        assert!(s.matches(&event("a", "BackOff")));
        assert!(!s.matches(&event("a", "Pulled")));
        let s = selector("fieldSelector=metadata.name!%3Da").unwrap();
        assert!(!s.matches(&event("a", "BackOff")));
        assert!(s.matches(&event("b", "BackOff")));
    }

    #[test]
    fn unsupported_event_fields_are_a_bad_request() {
        assert!(matches!(
            selector("fieldSelector=message%3Dx"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            selector("fieldSelector=reason"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn equality_label_selectors_apply_and_set_based_ones_are_ignored() {
        assert!(
            selector("labelSelector=app%3Dweb")
                .unwrap()
                .matches(&event("a", "X"))
        );
        assert!(
            !selector("labelSelector=app!%3Dweb")
                .unwrap()
                .matches(&event("a", "X"))
        );
        assert!(
            !selector("labelSelector=!app")
                .unwrap()
                .matches(&event("a", "X"))
        );
        assert!(
            selector("labelSelector=tier+in+(db)")
                .unwrap()
                .matches(&event("a", "X"))
        );
    }
}
