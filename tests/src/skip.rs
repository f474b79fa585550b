//! What a test does when the machine lacks something it needs (a privilege, a tool): in CI
//! (`CI=true`, as CI services set it) it fails, saying what is missing and how to provide it;
//! elsewhere it says on stderr that it skipped and why. A skip is never silent, and never
//! passes in CI.

use std::io::Write;

/// Whether the tests run in CI: the `CI` variable is `true` or `1` (any case).
pub fn in_ci() -> bool {
    says_ci(std::env::var("CI").ok().as_deref())
}

fn says_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Skips `test` because of `reason` (what is missing and how to provide it): outside CI, one
/// line on the process's stderr (written past the test harness's capture, so `cargo test`
/// shows it for a passing test too); the caller then returns.
///
/// # Panics
///
/// In CI ([`in_ci`]): a test that cannot run there fails, with `reason` in the message.
pub fn skip(test: &str, reason: &str) {
    assert!(
        !in_ci(),
        "{test} cannot run: {reason} (CI=true: a test may not skip itself in CI)"
    );
    let _ = writeln!(std::io::stderr(), "skipped {test}: {reason}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_recognized_by_the_values_ci_services_set() {
        assert!(says_ci(Some("true")));
        assert!(says_ci(Some("TRUE")));
        assert!(says_ci(Some("1")));
        assert!(!says_ci(None));
        assert!(!says_ci(Some("")));
        assert!(!says_ci(Some("false")));
        assert!(!says_ci(Some("0")));
    }
}
