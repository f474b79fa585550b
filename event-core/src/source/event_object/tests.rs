use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::ResourceExt;
use kube::core::{ObjectList, WatchEvent};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::event::proptests::{core_v1, events_v1, wild};

fn core(value: Value) -> Lenient<CoreV1Event> {
    serde_json::from_str(&value.to_string()).unwrap()
}

fn events(value: Value) -> Lenient<EventsV1Event> {
    serde_json::from_str(&value.to_string()).unwrap()
}

fn backoff() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {
            "namespace": "payments", "name": "web-0.17", "uid": "u1", "resourceVersion": "41",
            "creationTimestamp": "2026-11-24T10:00:00Z",
            "labels": {"app": "web"},
            "managedFields": [{"manager": "kubelet", "time": "2026-11-24T10:00:00Z"}]
        },
        "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "payments", "uid": "",
                           "fieldPath": "spec.containers{web}", "resourceVersion": "40"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2026-11-24T10:00:00Z",
        "lastTimestamp": "2026-11-24T10:05:00Z",
        "count": 5,
        "type": "Warning",
        "eventTime": null,
        "reportingComponent": "",
        "reportingInstance": ""
    })
}

/// What k8s-openapi's decode and [`Event::from_core_v1`] make of the same JSON.
fn through_k8s_openapi_core(value: &Value) -> Option<Result<Event, NormalizeError>> {
    let event: CoreEvent = serde_json::from_value(value.clone()).ok()?;
    Some(Event::from_core_v1(&event))
}

fn through_k8s_openapi_events(value: &Value) -> Option<Result<Event, NormalizeError>> {
    let event: EventsEvent = serde_json::from_value(value.clone()).ok()?;
    Some(Event::from_events_v1(&event))
}

#[test]
fn a_core_v1_event_becomes_the_occurrence_from_core_v1_makes() {
    let lean = core(backoff())
        .into_decoded()
        .unwrap()
        .into_event()
        .unwrap();
    let expected = through_k8s_openapi_core(&backoff()).unwrap().unwrap();
    assert_eq!(lean, expected);
    assert_eq!(lean.reporting_controller.as_deref(), Some("kubelet"));
    assert_eq!(lean.reporting_instance.as_deref(), Some("node-1"));
    assert_eq!(lean.regarding.uid, None, "an empty uid is left out");
    assert_eq!(lean.count, 5);
}

#[test]
fn an_events_v1_event_reads_the_new_field_names() {
    let value = json!({
        "metadata": {"namespace": "demo", "name": "web.1", "uid": "u2", "resourceVersion": "9"},
        "regarding": {"kind": "Deployment", "name": "web", "namespace": "demo"},
        "related": {"kind": "ReplicaSet", "name": "web-99"},
        "reason": "ScalingReplicaSet", "note": "Scaled up", "type": "Normal",
        "action": "Scaling", "reportingController": "deployment-controller",
        "reportingInstance": "cm-1",
        "eventTime": "2026-11-24T00:54:05.729149Z",
        "series": {"count": 7, "lastObservedTime": "2026-11-24T01:00:00.000001Z"},
        "deprecatedCount": 2,
        "message": "a core/v1 name, ignored here"
    });
    let lean = events(value.clone())
        .into_decoded()
        .unwrap()
        .into_event()
        .unwrap();
    assert_eq!(lean, through_k8s_openapi_events(&value).unwrap().unwrap());
    assert_eq!(lean.message, "Scaled up");
    assert_eq!(lean.count, 7);
    assert_eq!(lean.related.unwrap().name, "web-99");
    assert_eq!(lean.api, EventApi::EventsV1);
}

#[test]
fn a_missing_identity_is_the_normalize_error_from_core_v1_gives() {
    let mut value = backoff();
    value["metadata"]["uid"] = json!("");
    let error = core(value.clone()).into_decoded().unwrap().into_event();
    assert_eq!(error, through_k8s_openapi_core(&value).unwrap());
    assert!(matches!(error, Err(NormalizeError::MissingUid { .. })));
    value["metadata"]["uid"] = json!("u1");
    value["metadata"]["resourceVersion"] = Value::Null;
    let error = core(value).into_decoded().unwrap().into_event();
    assert!(matches!(
        error,
        Err(NormalizeError::MissingResourceVersion { .. })
    ));
}

#[test]
fn a_field_of_the_wrong_type_is_an_error_at_its_path_and_the_identity_is_kept() {
    for (field, bad, path) in [
        ("count", json!("three"), "count"),
        (
            "lastTimestamp",
            json!("9999-12-31T23:59:59Z"),
            "lastTimestamp",
        ),
        ("involvedObject", json!("web-0"), "involvedObject"),
        ("involvedObject", json!({"name": 7}), "involvedObject.name"),
        ("series", json!({"count": 2.5}), "series.count"),
        ("count", json!(i64::from(i32::MAX) + 1), "count"),
        ("reason", json!(["BackOff"]), "reason"),
    ] {
        let mut value = backoff();
        value[field] = bad;
        let object = core(value);
        let error = object.decoded().unwrap_err();
        assert_eq!(error.path(), path, "{field}");
        assert!(
            error.to_string().starts_with(&format!(
                "Event payments/web-0.17 does not decode at `{path}`: "
            )),
            "{error}"
        );
        assert_eq!(object.uid().as_deref(), Some("u1"));
        assert_eq!(object.resource_version().as_deref(), Some("41"));
    }
}

#[test]
fn metadata_fields_after_a_bad_one_are_still_read_and_the_first_mismatch_wins() {
    // In the order of the text: the API server writes metadata first.
    let text = r#"{"metadata":{"name":7,"namespace":"payments","uid":"u1","resourceVersion":"41"},
        "count":"three"}"#;
    let object: Lenient<CoreV1Event> = serde_json::from_str(text).unwrap();
    assert_eq!(object.decoded().unwrap_err().path(), "metadata.name");
    assert_eq!(object.resource_version().as_deref(), Some("41"));
    assert_eq!(object.namespace().as_deref(), Some("payments"));
    let text = r#"{"count":"three","metadata":{"name":7,"uid":"u1","resourceVersion":"41"}}"#;
    let object: Lenient<CoreV1Event> = serde_json::from_str(text).unwrap();
    assert_eq!(object.decoded().unwrap_err().path(), "count");
    assert_eq!(object.uid().as_deref(), Some("u1"));
}

#[test]
fn fields_nothing_reads_may_hold_anything() {
    let mut value = backoff();
    value["metadata"]["labels"] = json!("not a map");
    value["metadata"]["managedFields"] = json!(42);
    value["metadata"]["ownerReferences"] = json!({"odd": [1, 2, {"x": null}]});
    value["involvedObject"]["resourceVersion"] = json!(40);
    value["somethingNew"] = json!([{"deep": {"er": true}}]);
    let object = core(value);
    let event = object.into_decoded().unwrap().into_event().unwrap();
    assert_eq!(event.reason, "BackOff");
}

#[test]
fn what_is_not_an_object_has_no_identity_and_the_root_as_path() {
    for value in [json!("garbage"), json!(7), json!([1, 2]), Value::Null] {
        let object = core(value.clone());
        assert_eq!(object.decoded().unwrap_err().path(), ".", "{value}");
        assert_eq!(object.resource_version(), None);
        assert!(
            object
                .decoded()
                .unwrap_err()
                .to_string()
                .contains("(unnamed)")
        );
    }
    let mut value = backoff();
    value["metadata"] = json!(7);
    assert_eq!(core(value).decoded().unwrap_err().path(), "metadata");
}

#[test]
fn escaped_keys_and_text_read_as_their_characters() {
    let text = r#"{"metadata":{"uid":"u1","resourceVersion":"5","n\u0061me":"a\"b"},
        "re\u0061son":"Back\u004fff","message":"line\nnext \u00e9"}"#;
    let object: Lenient<CoreV1Event> = serde_json::from_str(text).unwrap();
    let event = object.into_decoded().unwrap().into_event().unwrap();
    assert_eq!(event.name, "a\"b");
    assert_eq!(event.reason, "BackOff");
    assert_eq!(event.message, "line\nnext é");
}

#[test]
fn a_watch_line_decodes_alike_whichever_of_type_and_object_comes_first() {
    let object = backoff().to_string();
    let type_first = format!(r#"{{"type":"MODIFIED","object":{object}}}"#);
    let object_first = format!(r#"{{"object":{object},"type":"MODIFIED"}}"#);
    for line in [type_first, object_first] {
        let notification: WatchEvent<Lenient<CoreV1Event>> = serde_json::from_str(&line).unwrap();
        let WatchEvent::Modified(object) = notification else {
            panic!("a MODIFIED notification: {notification:?}");
        };
        let event = object.into_decoded().unwrap().into_event().unwrap();
        assert_eq!(event.key().to_string(), "u1/41");
    }
}

#[test]
fn one_bad_item_in_a_list_does_not_fail_the_others() {
    let mut late = backoff();
    late["metadata"]["uid"] = json!("u2");
    late["lastTimestamp"] = json!("not a time");
    let list = json!({
        "apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "50"},
        "items": [backoff(), late, backoff()],
    });
    let list: ObjectList<Lenient<CoreV1Event>> = serde_json::from_str(&list.to_string()).unwrap();
    let decoded: Vec<bool> = list.items.iter().map(|i| i.decoded().is_ok()).collect();
    assert_eq!(decoded, [true, false, true]);
    assert_eq!(list.items[1].uid().as_deref(), Some("u2"));
}

#[test]
fn text_that_is_not_json_is_still_an_error() {
    assert!(serde_json::from_str::<Lenient<CoreV1Event>>(r#"{"metadata":"#).is_err());
    assert!(
        serde_json::from_str::<Lenient<EventsV1Event>>(r#"{"reason":"a" "b"}"#).is_err(),
        "a missing comma"
    );
}

#[test]
fn both_are_the_same_resources_as_k8s_openapis_events() {
    assert_eq!(
        CoreV1Event::url_path(&(), None),
        CoreEvent::url_path(&(), None)
    );
    assert_eq!(
        EventsV1Event::url_path(&(), Some("demo")),
        EventsEvent::url_path(&(), Some("demo"))
    );
    assert_eq!(EventsV1Event::api_version(&()), "events.k8s.io/v1");
    assert_eq!(CoreV1Event::kind(&()), "Event");
    assert_eq!(CoreV1Event::plural(&()), "events");
}

/// The lean decode against k8s-openapi's: wherever k8s-openapi decodes an object, the
/// occurrence (or the missing identity) is the same.
fn agrees_with_k8s_openapi(value: &Value, api: EventApi) -> Result<(), TestCaseError> {
    let text = value.to_string();
    let (lean, k8s) = match api {
        EventApi::CoreV1 => (
            serde_json::from_str::<Lenient<CoreV1Event>>(&text)
                .map(|o| o.into_decoded().map(CoreV1Event::into_event)),
            through_k8s_openapi_core(value),
        ),
        _ => (
            serde_json::from_str::<Lenient<EventsV1Event>>(&text)
                .map(|o| o.into_decoded().map(EventsV1Event::into_event)),
            through_k8s_openapi_events(value),
        ),
    };
    let lean = lean.map_err(|e| TestCaseError::fail(format!("valid JSON must decode: {e}")))?;
    if let (Some(k8s), Ok(lean)) = (k8s, &lean) {
        let same = match (&k8s, lean) {
            (Ok(a), Ok(b)) => {
                // Without any time both fall back to "now", read at different instants.
                let mut b = b.clone();
                if now_alike(a.first_seen, b.first_seen) {
                    b.first_seen = a.first_seen;
                }
                if now_alike(a.last_seen, b.last_seen) {
                    b.last_seen = a.last_seen;
                }
                *a == b
            }
            (a, b) => a == b,
        };
        prop_assert!(same, "k8s-openapi: {k8s:?}\nlean: {lean:?}");
    }
    Ok(())
}

/// Both times are the fallback "now" of one test case.
fn now_alike(a: jiff::Timestamp, b: jiff::Timestamp) -> bool {
    let minute = jiff::SignedDuration::from_secs(60);
    let now = jiff::Timestamp::now();
    now.duration_since(a).abs() < minute && now.duration_since(b).abs() < minute
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn well_typed_events_make_the_occurrence_k8s_openapi_makes(core in core_v1(), new in events_v1()) {
        agrees_with_k8s_openapi(&core, EventApi::CoreV1)?;
        agrees_with_k8s_openapi(&new, EventApi::EventsV1)?;
    }

    #[test]
    fn wild_events_decode_without_failing_and_agree_where_k8s_openapi_decodes(
        core in wild(core_v1()),
        new in wild(events_v1()),
    ) {
        agrees_with_k8s_openapi(&core, EventApi::CoreV1)?;
        agrees_with_k8s_openapi(&new, EventApi::EventsV1)?;
    }
}
