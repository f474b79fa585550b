//! Reading the Prometheus text format that `/metrics` serves, for tests and benches.

/// The value of the sample `series` in a Prometheus text body: its name with its labels as
/// rendered (`event_keeper_events_sent_total{sink="cloudwatch"}`), comments skipped.
///
/// ```
/// let body = "# TYPE a counter\na 3\nb{sink=\"y\"} 5\n";
/// assert_eq!(testkit::prometheus::sample(body, "b{sink=\"y\"}"), Some(5.0));
/// ```
pub fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_found_by_their_full_series_name() {
        let body = "# TYPE a counter\na 3\nb{sink=\"x\"} 2\nb{sink=\"y\"} 5\n";
        assert_eq!(sample(body, "a"), Some(3.0));
        assert_eq!(sample(body, "b{sink=\"y\"}"), Some(5.0));
        assert_eq!(sample(body, "b"), None);
    }
}
