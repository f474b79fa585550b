//! The one time format of the API server and of the record, read and written without jiff's
//! general parser and printer.
//!
//! Every time an Event carries reaches us as `2026-11-24T00:54:05Z` or, for `MicroTime`,
//! `2026-11-24T00:54:05.729149Z`. jiff's parser and its `Display` handle every ISO 8601 form
//! through `core::fmt`; for these two shapes they were 5 % of the consumer's instructions. The
//! fast paths here take exactly those shapes, leave the calendar arithmetic to jiff, and hand
//! anything else to jiff itself, so the results are jiff's (the tests compare them).

use std::io::Write as _;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::fmt::temporal::DateTimeParser;
use jiff::tz::Offset;

/// Parses RFC 3339 text as jiff's `Timestamp::from_str` does.
///
/// # Errors
///
/// jiff's error, for text that is not a time it can hold.
pub(crate) fn parse(text: &str) -> Result<Timestamp, jiff::Error> {
    parse_bytes(text.as_bytes())
}

/// [`parse`] of bytes, as jiff's parser (which `from_str` and `Deserialize` both use) takes
/// them.
fn parse_bytes(text: &[u8]) -> Result<Timestamp, jiff::Error> {
    match parse_utc(text) {
        Some(time) => Ok(time),
        None => DateTimeParser::new().parse_timestamp(text),
    }
}

/// Reads a `Timestamp` as jiff's `Deserialize` does (the same visitor, the same errors), the
/// API server's two shapes through the fast path: `#[serde(deserialize_with)]` for the times of
/// a record, which a history reader decodes twice per record.
pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Timestamp, D::Error> {
    struct Visitor;

    impl serde::de::Visitor<'_> for Visitor {
        type Value = Timestamp;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a timestamp string")
        }

        fn visit_bytes<E: serde::de::Error>(self, value: &[u8]) -> Result<Timestamp, E> {
            parse_bytes(value).map_err(E::custom)
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Timestamp, E> {
            self.visit_bytes(value.as_bytes())
        }
    }

    deserializer.deserialize_str(Visitor)
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z`, or `None` for anything else (other forms, leap seconds,
/// dates jiff refuses), which [`parse`] leaves to jiff.
fn parse_utc(text: &[u8]) -> Option<Timestamp> {
    let (head, rest) = text.split_at_checked(19)?;
    let [
        y1,
        y2,
        y3,
        y4,
        b'-',
        m1,
        m2,
        b'-',
        d1,
        d2,
        b'T',
        h1,
        h2,
        b':',
        n1,
        n2,
        b':',
        s1,
        s2,
    ] = *head
    else {
        return None;
    };
    let year = i16::try_from(number(&[y1, y2, y3, y4])?).ok()?;
    let two = |a, b| number(&[a, b]).and_then(|n| i8::try_from(n).ok());
    let second = two(s1, s2)?;
    if second >= 60 {
        return None;
    }
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            let digits = number(fraction)?;
            let scale = 10u32.pow(9 - fraction.len() as u32);
            i32::try_from(digits * scale).ok()?
        }
        _ => return None,
    };
    let civil = DateTime::new(
        year,
        two(m1, m2)?,
        two(d1, d2)?,
        two(h1, h2)?,
        two(n1, n2)?,
        second,
        nanos,
    )
    .ok()?;
    Offset::UTC.to_timestamp(civil).ok()
}

/// The ASCII digits as a number; `None` if any is not a digit.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// Appends `time` as jiff's `Display` writes it: UTC, `Z`, and a fraction of a second only when
/// there is one, without trailing zeros.
pub(crate) fn write(out: &mut Vec<u8>, time: Timestamp) {
    let civil = Offset::UTC.to_datetime(time);
    let Ok(year) = u16::try_from(civil.year()) else {
        // Before year 0: jiff's six-digit signed year. Writing into a Vec cannot fail.
        let _ = write!(out, "{time}");
        return;
    };
    let mut text = *b"0000-00-00T00:00:00";
    put(&mut text[0..4], u32::from(year));
    put(&mut text[5..7], civil.month().unsigned_abs().into());
    put(&mut text[8..10], civil.day().unsigned_abs().into());
    put(&mut text[11..13], civil.hour().unsigned_abs().into());
    put(&mut text[14..16], civil.minute().unsigned_abs().into());
    put(&mut text[17..19], civil.second().unsigned_abs().into());
    out.extend_from_slice(&text);
    let nanos = civil.subsec_nanosecond().unsigned_abs();
    if nanos != 0 {
        let mut fraction = *b".000000000";
        put(&mut fraction[1..], nanos);
        let len = fraction
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(1, |i| i + 1);
        out.extend_from_slice(&fraction[..len]);
    }
    out.push(b'Z');
}

/// Writes `value` into `slot` as zero-padded decimal digits (its lowest ones if it is longer).
fn put(slot: &mut [u8], mut value: u32) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn written(time: Timestamp) -> String {
        let mut out = Vec::new();
        write(&mut out, time);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_api_servers_two_shapes_take_the_fast_path() {
        for text in ["2026-11-24T00:54:05Z", "2026-11-24T00:54:05.729149Z"] {
            assert_eq!(parse_utc(text.as_bytes()), Some(text.parse().unwrap()));
            assert_eq!(written(parse(text).unwrap()), text);
        }
    }

    #[test]
    fn every_other_form_is_jiffs() {
        for text in [
            "2026-11-24T00:54:05+01:00",
            "2026-11-24t00:54:05z",
            "2026-11-24 00:54:05Z",
            "2016-12-31T23:59:60Z",
            "2026-02-30T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-11-24T00:54:05.1234567890Z",
            "2026-11-24T00:54:05.Z",
            "2026-11-24T24:00:00Z",
            "not a time",
            "",
            "-000001-01-01T00:00:00Z",
        ] {
            let expected = text.parse::<Timestamp>().map_err(|e| e.to_string());
            assert_eq!(parse(text).map_err(|e| e.to_string()), expected, "{text}");
        }
    }

    #[test]
    fn times_before_year_zero_are_written_as_jiff_writes_them() {
        let time = Timestamp::MIN;
        assert_eq!(written(time), time.to_string());
    }

    #[test]
    fn a_record_time_is_read_as_jiffs_deserialize_reads_it() {
        #[derive(serde::Deserialize)]
        struct Ours(#[serde(deserialize_with = "deserialize")] Timestamp);
        for text in [
            "\"2026-11-24T00:54:05Z\"",
            "\"2026-11-24T00:54:05.729149Z\"",
            "\"2026-11-24T00:54:05+01:00\"",
            "\"2016-12-31T23:59:60Z\"",
            "\"2026-02-30T00:00:00Z\"",
            "\"not a time\"",
            "17",
            "null",
        ] {
            let ours = serde_json::from_str::<Ours>(text).map(|t| t.0);
            let jiffs = serde_json::from_str::<Timestamp>(text);
            assert_eq!(
                ours.map_err(|e| e.to_string()),
                jiffs.map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_time_is_written_and_read_back_as_jiff_does(
            second in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
            nanos in prop_oneof![Just(0i32), 0i32..1_000_000_000, (0i32..1_000_000).prop_map(|u| u * 1000)],
        ) {
            let time = Timestamp::new(second, nanos).unwrap_or(Timestamp::UNIX_EPOCH);
            let text = written(time);
            prop_assert_eq!(&text, &time.to_string());
            prop_assert_eq!(parse(&text).ok(), text.parse::<Timestamp>().ok());
        }

        #[test]
        fn any_text_parses_as_jiff_parses_it(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?Z?") {
            prop_assert_eq!(
                parse(&text).map_err(|e| e.to_string()),
                text.parse::<Timestamp>().map_err(|e| e.to_string())
            );
        }
    }
}
