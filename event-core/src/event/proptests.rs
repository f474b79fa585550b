//! Property tests of normalization: any JSON-ish Event object, in either API's shape, becomes
//! a valid [`Event`] or a [`NormalizeError`], never a panic; what comes out survives the JSON
//! round trip every sink and reader relies on.
//!
//! Two kinds of input: *well-typed* objects (every field absent, `null` or of its schema type,
//! with arbitrary contents: empty, multi-byte and control text, extreme counts, timestamps from
//! year 1 to 9999 and before the epoch), which must always deserialize; and *wild* objects (any
//! JSON in any field, plus raw bytes with invalid UTF-8), which may be refused by
//! deserialization but must not panic anywhere. Case counts stay small so CI stays fast.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

/// Cases per property: enough to meet every branch of the generators, small enough for CI.
const CASES: u32 = 256;

/// Text as reporters write it, and as they should not: empty, ASCII, any Unicode, control
/// characters and escapes, long runs of multi-byte characters.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9][a-z0-9.-]{0,30}",
        any::<String>(),
        Just("\u{0}\u{1b}[31m\"\\\n\t\u{7f}\u{feff}".to_owned()),
        (1usize..400).prop_map(|n| "事件✓🚀\u{202e}".repeat(n)),
    ]
    .boxed()
}

/// A field that is left out, `null`, or set from `value`.
fn field<S>(name: &'static str, value: S) -> BoxedStrategy<Option<(String, Value)>>
where
    S: Strategy<Value = Value> + 'static,
{
    prop_oneof![
        1 => Just(None),
        1 => Just(Some((name.to_owned(), Value::Null))),
        4 => value.prop_map(move |v| Some((name.to_owned(), v))),
    ]
    .boxed()
}

fn text_value() -> BoxedStrategy<Value> {
    text().prop_map(Value::String).boxed()
}

/// Seconds from 0001-01-01, the first year Go's `time` marshals, to the last second a
/// `jiff::Timestamp` (and so k8s-openapi) holds, 9999-12-30T22:00:00Z: the last day of year 9999
/// is out of its range, see
/// [`a_time_past_the_last_timestamp_jiff_holds_is_a_deserialization_error`].
const YEAR_1: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_207_200;

/// A valid `metav1.Time`/`MicroTime`: any second from year 1 to the last one representable
/// (before and after the epoch), the bounds themselves, and fractional seconds.
fn time_value() -> BoxedStrategy<Value> {
    prop_oneof![
        (YEAR_1..=LAST_SECOND).prop_map(|s| Value::String(rfc3339(s, 0))),
        (YEAR_1..LAST_SECOND, 0u32..1_000_000)
            .prop_map(|(s, micros)| Value::String(rfc3339(s, micros))),
        Just(json!("0001-01-01T00:00:00Z")),
        Just(json!("9999-12-30T22:00:00Z")),
        Just(json!("1969-12-31T23:59:59.999999Z")),
        (-3_000_000_000i64..3_000_000_000).prop_map(|s| Value::String(rfc3339(s, 0))),
    ]
    .boxed()
}

fn rfc3339(second: i64, micros: u32) -> String {
    Timestamp::new(second, (micros * 1000) as i32)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn count_value() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(i32::MAX)),
        Just(json!(i32::MIN)),
        any::<i32>().prop_map(Value::from),
    ]
    .boxed()
}

fn object(fields: Vec<Option<(String, Value)>>) -> Value {
    Value::Object(fields.into_iter().flatten().collect::<Map<_, _>>())
}

fn metadata() -> BoxedStrategy<Value> {
    (
        field("name", text_value()),
        field("namespace", text_value()),
        field("uid", text_value()),
        field("resourceVersion", text_value()),
        field("creationTimestamp", time_value()),
    )
        .prop_map(|(a, b, c, d, e)| object(vec![a, b, c, d, e]))
        .boxed()
}

fn object_ref() -> BoxedStrategy<Value> {
    (
        field("kind", text_value()),
        field("name", text_value()),
        field("namespace", text_value()),
        field("uid", text_value()),
        field("apiVersion", text_value()),
        field("fieldPath", text_value()),
    )
        .prop_map(|(a, b, c, d, e, f)| object(vec![a, b, c, d, e, f]))
        .boxed()
}

fn source() -> BoxedStrategy<Value> {
    (
        field("component", text_value()),
        field("host", text_value()),
    )
        .prop_map(|(a, b)| object(vec![a, b]))
        .boxed()
}

/// A well-typed core/v1 Event: each field absent, null, or of its schema type.
pub(crate) fn core_v1() -> BoxedStrategy<Value> {
    let series = (
        field("count", count_value()),
        field("lastObservedTime", time_value()),
    )
        .prop_map(|(a, b)| object(vec![a, b]));
    (
        (
            field("metadata", metadata()),
            // Required by the schema: always an object.
            object_ref().prop_map(|v| Some(("involvedObject".to_owned(), v))),
            field("related", object_ref()),
            field("reason", text_value()),
            field("message", text_value()),
            field("type", text_value()),
            field("action", text_value()),
        ),
        (
            field("reportingComponent", text_value()),
            field("reportingInstance", text_value()),
            field("source", source()),
            field("count", count_value()),
            field("series", series),
            field("firstTimestamp", time_value()),
            field("lastTimestamp", time_value()),
            field("eventTime", time_value()),
        ),
    )
        .prop_map(|((a, b, c, d, e, f, g), (h, i, j, k, l, m, n, o))| {
            object(vec![a, b, c, d, e, f, g, h, i, j, k, l, m, n, o])
        })
        .boxed()
}

/// A well-typed events.k8s.io/v1 Event. `series` holds both of its required fields when set.
pub(crate) fn events_v1() -> BoxedStrategy<Value> {
    let series = (count_value(), time_value())
        .prop_map(|(count, last)| json!({"count": count, "lastObservedTime": last}));
    (
        (
            field("metadata", metadata()),
            field("regarding", object_ref()),
            field("related", object_ref()),
            field("reason", text_value()),
            field("note", text_value()),
            field("type", text_value()),
            field("action", text_value()),
        ),
        (
            field("reportingController", text_value()),
            field("reportingInstance", text_value()),
            field("deprecatedSource", source()),
            field("deprecatedCount", count_value()),
            prop_oneof![
                Just(None),
                series.prop_map(|v| Some(("series".to_owned(), v)))
            ],
            field("deprecatedFirstTimestamp", time_value()),
            field("deprecatedLastTimestamp", time_value()),
            field("eventTime", time_value()),
        ),
    )
        .prop_map(|((a, b, c, d, e, f, g), (h, i, j, k, l, m, n, o))| {
            object(vec![a, b, c, d, e, f, g, h, i, j, k, l, m, n, o])
        })
        .boxed()
}

/// Any JSON value, a few levels deep.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text_value(),
        time_value(),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,16}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A well-typed object with some of its fields replaced by anything at all.
pub(crate) fn wild(typed: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    const FIELDS: [&str; 12] = [
        "metadata",
        "involvedObject",
        "regarding",
        "count",
        "series",
        "firstTimestamp",
        "lastTimestamp",
        "eventTime",
        "deprecatedCount",
        "note",
        "message",
        "source",
    ];
    (
        typed,
        prop::collection::vec((prop::sample::select(&FIELDS[..]), any_json()), 1..4),
    )
        .prop_map(|(mut value, replacements)| {
            if let Value::Object(map) = &mut value {
                for (name, replacement) in replacements {
                    map.insert(name.to_owned(), replacement);
                }
            }
            value
        })
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

fn int_at(value: &Value, path: &[&str]) -> Option<i64> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_i64)
}

fn time_at(value: &Value, key: &str) -> Option<Timestamp> {
    str_at(value, &[key]).and_then(|s| s.parse().ok())
}

/// What every normalization result must satisfy, whatever the input.
fn check(input: &Value, result: Result<Event, NormalizeError>, api: EventApi) {
    let uid = str_at(input, &["metadata", "uid"]).unwrap_or_default();
    let rv = str_at(input, &["metadata", "resourceVersion"]).unwrap_or_default();
    let name = str_at(input, &["metadata", "name"])
        .unwrap_or_default()
        .to_owned();
    let event = match result {
        Err(error) => {
            // An error only for a missing identity, and it names the event.
            let expected = if uid.is_empty() {
                NormalizeError::MissingUid { name }
            } else {
                assert!(rv.is_empty(), "refused an event with uid and rv: {error}");
                NormalizeError::MissingResourceVersion { name }
            };
            assert_eq!(error, expected);
            return;
        }
        Ok(event) => event,
    };
    assert!(
        !uid.is_empty() && !rv.is_empty(),
        "accepted without identity"
    );
    assert_eq!(event.uid, uid);
    assert_eq!(event.resource_version, rv);
    assert_eq!(event.name, name);
    assert_eq!(event.api, api);
    assert!(event.count >= 1, "count {}", event.count);
    assert!(
        event.namespace.as_deref() != Some(""),
        "empty namespace kept"
    );
    for optional in [
        &event.action,
        &event.reporting_controller,
        &event.reporting_instance,
    ] {
        assert!(optional.as_deref() != Some(""), "empty optional kept");
    }
    // The count comes from the series, then the legacy count, when they are positive.
    let legacy = if api == EventApi::CoreV1 {
        "count"
    } else {
        "deprecatedCount"
    };
    match (
        int_at(input, &["series", "count"]),
        int_at(input, &[legacy]),
    ) {
        (Some(series), _) if series >= 1 => assert_eq!(i64::from(event.count), series),
        (None, Some(count)) if count >= 1 => assert_eq!(i64::from(event.count), count),
        _ => assert_eq!(event.count, 1),
    }
    // An explicit first timestamp wins; with no time at all, "now" stands in.
    let first_key = if api == EventApi::CoreV1 {
        "firstTimestamp"
    } else {
        "deprecatedFirstTimestamp"
    };
    if let Some(first) = time_at(input, first_key) {
        assert_eq!(event.first_seen, first);
    }
    if let Some(last) = input
        .get("series")
        .and_then(|s| s.get("lastObservedTime"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok())
    {
        assert_eq!(event.last_seen, last);
    }
    // The record every sink writes parses back to the same event.
    let json = serde_json::to_string(&event).expect("an event always serializes");
    let back: Event = serde_json::from_str(&json).expect("and parses back");
    assert_eq!(back, event);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_well_typed_core_v1_event_normalizes_or_names_its_missing_identity(input in core_v1()) {
        let parsed: CoreEvent = serde_json::from_value(input.clone())
            .map_err(|e| TestCaseError::fail(format!("{e}: {input}")))?;
        check(&input, Event::from_core_v1(&parsed), EventApi::CoreV1);
    }

    #[test]
    fn any_well_typed_events_v1_event_normalizes_or_names_its_missing_identity(input in events_v1()) {
        let parsed: EventsEvent = serde_json::from_value(input.clone())
            .map_err(|e| TestCaseError::fail(format!("{e}: {input}")))?;
        check(&input, Event::from_events_v1(&parsed), EventApi::EventsV1);
    }

    #[test]
    fn wild_objects_in_either_shape_never_panic(core in wild(core_v1()), new in wild(events_v1())) {
        if let Ok(parsed) = serde_json::from_value::<CoreEvent>(core.clone()) {
            check(&core, Event::from_core_v1(&parsed), EventApi::CoreV1);
        }
        if let Ok(parsed) = serde_json::from_value::<EventsEvent>(new.clone()) {
            check(&new, Event::from_events_v1(&parsed), EventApi::EventsV1);
        }
    }

    #[test]
    fn corrupted_bytes_and_invalid_utf8_never_panic(
        input in core_v1(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = serde_json::to_vec(&input).expect("json");
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let keep = cut.index(bytes.len() + 1);
        for slice in [&bytes[..], &bytes[..keep]] {
            // A typed parse skips unknown fields unchecked (a lone surrogate escape in one
            // passes), so the input is compared with its Value only when that parses too.
            let value = serde_json::from_slice::<Value>(slice);
            if let (Ok(parsed), Ok(value)) = (serde_json::from_slice::<CoreEvent>(slice), &value) {
                check(value, Event::from_core_v1(&parsed), EventApi::CoreV1);
            }
            if let (Ok(parsed), Ok(value)) = (serde_json::from_slice::<EventsEvent>(slice), &value) {
                check(value, Event::from_events_v1(&parsed), EventApi::EventsV1);
            }
        }
    }
}

#[test]
fn the_generators_reach_both_outcomes_and_the_extreme_years() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut ok, mut refused, mut year_one, mut far_future) = (0, 0, 0, 0);
    for _ in 0..400 {
        let input = core_v1().new_tree(&mut runner).unwrap().current();
        let parsed: CoreEvent = serde_json::from_value(input).unwrap();
        match Event::from_core_v1(&parsed) {
            Ok(event) => {
                ok += 1;
                year_one += usize::from(event.first_seen.as_second() < -62_000_000_000);
                far_future += usize::from(event.last_seen.as_second() > 253_000_000_000);
            }
            Err(_) => refused += 1,
        }
    }
    assert!(ok > 50 && refused > 50, "ok {ok}, refused {refused}");
    assert!(year_one > 0 && far_future > 0, "{year_one} {far_future}");
}

#[test]
fn a_time_past_the_last_timestamp_jiff_holds_is_a_deserialization_error() {
    // Go marshals any time of year 9999; jiff's Timestamp ends on 9999-12-30 22:00 UTC, so
    // k8s-openapi refuses the object as a whole. The watch sees a decode error, not a panic.
    for late in ["9999-12-31T23:59:59Z", "9999-12-30T22:00:01Z"] {
        let core = json!({"metadata": {"uid": "u", "resourceVersion": "1"},
            "involvedObject": {}, "lastTimestamp": late});
        let error = serde_json::from_value::<CoreEvent>(core).unwrap_err();
        assert!(error.to_string().contains("timestamp"), "{error}");
    }
    let last = json!({"metadata": {"uid": "u", "resourceVersion": "1"},
        "involvedObject": {}, "lastTimestamp": "9999-12-30T22:00:00Z"});
    let event = Event::from_core_v1(&serde_json::from_value(last).unwrap()).unwrap();
    assert_eq!(event.last_seen.as_second(), Timestamp::MAX.as_second());
}
