//! The events.k8s.io/v1 view of a stored core/v1 Event, as kube-apiserver converts it.
//!
//! The API server stores one object and converts it per request (`pkg/apis/events/v1`):
//! `message`→`note`, `involvedObject`→`regarding`, `source`→`deprecatedSource`,
//! `firstTimestamp`→`deprecatedFirstTimestamp`, `lastTimestamp`→`deprecatedLastTimestamp`,
//! `count`→`deprecatedCount`, `reportingComponent`→`reportingController`; uid and
//! resourceVersion are shared. The reverse conversion lets clients create events through either
//! API.

use serde::{Deserialize, Serialize};

use super::model::{
    CoreEvent, CoreSeries, EventSource, ObjectMeta, ObjectReference, Typed, nullable,
};

/// `apiVersion` of the core view.
pub(crate) const CORE_V1: &str = "v1";
/// `apiVersion` of the events.k8s.io view.
pub(crate) const EVENTS_V1: &str = "events.k8s.io/v1";

/// `events.k8s.io/v1.EventSeries`: both fields always written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsSeries {
    #[serde(default, deserialize_with = "nullable")]
    pub count: i32,
    #[serde(default)]
    pub last_observed_time: Option<String>,
}

/// An events.k8s.io/v1 Event without `kind`/`apiVersion`, in Go's field order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsEvent {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub event_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<EventsSeries>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub reporting_controller: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub reporting_instance: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub action: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub reason: String,
    #[serde(default, deserialize_with = "nullable")]
    pub regarding: ObjectReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectReference>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub note: String,
    #[serde(
        rename = "type",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub type_: String,
    #[serde(default, deserialize_with = "nullable")]
    pub deprecated_source: EventSource,
    #[serde(default)]
    pub deprecated_first_timestamp: Option<String>,
    #[serde(default)]
    pub deprecated_last_timestamp: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub deprecated_count: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// Converts the stored core/v1 form to the events.k8s.io/v1 view.
pub(crate) fn to_events_v1(ev: &CoreEvent) -> EventsEvent {
    EventsEvent {
        metadata: ev.metadata.clone(),
        event_time: ev.event_time.clone(),
        series: ev.series.as_ref().map(|s| EventsSeries {
            count: s.count,
            last_observed_time: s.last_observed_time.clone(),
        }),
        reporting_controller: ev.reporting_component.clone(),
        reporting_instance: ev.reporting_instance.clone(),
        action: ev.action.clone(),
        reason: ev.reason.clone(),
        regarding: ev.involved_object.clone(),
        related: ev.related.clone(),
        note: ev.message.clone(),
        type_: ev.type_.clone(),
        deprecated_source: ev.source.clone(),
        deprecated_first_timestamp: ev.first_timestamp.clone(),
        deprecated_last_timestamp: ev.last_timestamp.clone(),
        deprecated_count: ev.count,
    }
}

/// Converts an events.k8s.io/v1 Event to the stored core/v1 form.
pub(crate) fn from_events_v1(ev: EventsEvent) -> CoreEvent {
    CoreEvent {
        metadata: ev.metadata,
        involved_object: ev.regarding,
        reason: ev.reason,
        message: ev.note,
        source: ev.deprecated_source,
        first_timestamp: ev.deprecated_first_timestamp,
        last_timestamp: ev.deprecated_last_timestamp,
        count: ev.deprecated_count,
        type_: ev.type_,
        event_time: ev.event_time,
        series: ev.series.map(|s| CoreSeries {
            count: s.count,
            last_observed_time: s.last_observed_time,
        }),
        action: ev.action,
        related: ev.related,
        reporting_component: ev.reporting_controller,
        reporting_instance: ev.reporting_instance,
    }
}

/// Which API an event is read through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EventView {
    /// core/v1.
    Core,
    /// events.k8s.io/v1.
    EventsV1,
}

/// Serializes an event in `view`, with `kind`/`apiVersion` when `typed` (standalone objects)
/// and without inside lists.
pub(crate) fn event_json(
    ev: &CoreEvent,
    view: EventView,
    typed: bool,
) -> Result<Vec<u8>, serde_json::Error> {
    match (view, typed) {
        (EventView::Core, false) => serde_json::to_vec(ev),
        (EventView::Core, true) => serde_json::to_vec(&Typed {
            kind: "Event",
            api_version: CORE_V1,
            object: ev,
        }),
        (EventView::EventsV1, false) => serde_json::to_vec(&to_events_v1(ev)),
        (EventView::EventsV1, true) => serde_json::to_vec(&Typed {
            kind: "Event",
            api_version: EVENTS_V1,
            object: &to_events_v1(ev),
        }),
    }
}

/// Parses an event written in `view` into the stored form.
pub(crate) fn parse_event(
    json: serde_json::Value,
    view: EventView,
) -> Result<CoreEvent, serde_json::Error> {
    match view {
        EventView::Core => serde_json::from_value(json),
        EventView::EventsV1 => serde_json::from_value(json).map(from_events_v1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-cluster/");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
    }

    /// Splits a raw watch line into its type and the exact bytes of its object.
    fn split_watch_line(line: &str) -> (String, &str) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let prefix = format!(r#"{{"type":"{}","object":"#, v["type"].as_str().unwrap());
        let object = line
            .strip_prefix(&prefix)
            .unwrap()
            .strip_suffix('}')
            .unwrap();
        (v["type"].as_str().unwrap().to_owned(), object)
    }

    fn assert_watch_files_round_trip(core_file: &str, events_file: &str) {
        let core = fixture(core_file);
        let events = fixture(events_file);
        let pairs: Vec<_> = core.lines().zip(events.lines()).collect();
        assert!(pairs.len() > 10, "{core_file} has too few lines");
        for (core_line, events_line) in pairs {
            let (kind, core_obj) = split_watch_line(core_line);
            let (_, events_obj) = split_watch_line(events_line);
            let stored: CoreEvent = serde_json::from_str(core_obj).unwrap();
            let served_core =
                String::from_utf8(event_json(&stored, EventView::Core, true).unwrap());
            assert_eq!(served_core.unwrap(), core_obj, "{kind} in {core_file}");
            let served_events =
                String::from_utf8(event_json(&stored, EventView::EventsV1, true).unwrap());
            assert_eq!(
                served_events.unwrap(),
                events_obj,
                "{kind} in {events_file}"
            );
        }
    }

    #[test]
    fn recorded_watch_objects_are_served_back_byte_for_byte_in_both_views() {
        assert_watch_files_round_trip("watch-core-v1.jsonl", "watch-events.k8s.io-v1.jsonl");
    }

    #[test]
    fn series_ttl_deletes_and_bookmarks_are_served_back_byte_for_byte_in_both_views() {
        assert_watch_files_round_trip(
            "watch-core-v1-with-series-and-ttl.jsonl",
            "watch-events.k8s.io-v1-with-series-and-ttl.jsonl",
        );
    }

    #[test]
    fn events_view_of_the_core_list_equals_the_recorded_events_list() {
        let core: serde_json::Value = serde_json::from_str(&fixture("list-core-v1.json")).unwrap();
        let events: serde_json::Value =
            serde_json::from_str(&fixture("list-events.k8s.io-v1.json")).unwrap();
        let core_items = core["items"].as_array().unwrap();
        let events_items = events["items"].as_array().unwrap();
        assert_eq!(core_items.len(), 20);
        assert_eq!(events_items.len(), 20);
        for (c, e) in core_items.iter().zip(events_items) {
            let stored = parse_event(c.clone(), EventView::Core).unwrap();
            let served = event_json(&stored, EventView::EventsV1, true).unwrap();
            let served: serde_json::Value = serde_json::from_slice(&served).unwrap();
            assert_eq!(&served, e);
            let back = event_json(&stored, EventView::Core, true).unwrap();
            assert_eq!(
                &serde_json::from_slice::<serde_json::Value>(&back).unwrap(),
                c
            );
        }
    }

    #[test]
    fn events_created_through_the_new_api_convert_back_to_the_same_core_object() {
        let events: serde_json::Value =
            serde_json::from_str(&fixture("list-events.k8s.io-v1.json")).unwrap();
        let core: serde_json::Value = serde_json::from_str(&fixture("list-core-v1.json")).unwrap();
        for (e, c) in events["items"]
            .as_array()
            .unwrap()
            .iter()
            .zip(core["items"].as_array().unwrap())
        {
            let stored = parse_event(e.clone(), EventView::EventsV1).unwrap();
            let served = event_json(&stored, EventView::Core, true).unwrap();
            assert_eq!(
                &serde_json::from_slice::<serde_json::Value>(&served).unwrap(),
                c
            );
        }
    }

    #[test]
    fn list_items_leave_out_kind_and_api_version() {
        let stored = CoreEvent::default();
        let untyped = String::from_utf8(event_json(&stored, EventView::EventsV1, false).unwrap());
        assert!(untyped.unwrap().starts_with(r#"{"metadata":{}"#));
    }
}
