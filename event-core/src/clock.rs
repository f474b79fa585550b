//! [`Clock`]: where a sink reads the wall-clock time, so that tests can set it.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;

/// The source of "now" for a sink whose behaviour depends on the date: the file sink's rotation,
/// retention and fsync interval, the window of timestamps CloudWatch Logs accepts, where a
/// history poll starts.
///
/// The system clock in production; tests inject a clock they move by hand, so that an hour (or
/// fourteen days) passes without sleeping.
///
/// ```
/// use jiff::Timestamp;
/// use event_core::clock::Clock;
///
/// let fixed: Timestamp = "2026-11-24T10:00:00Z".parse()?;
/// let clock = Clock::from_fn(move || fixed);
/// assert_eq!(clock.now(), fixed);
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(Timestamp::now))
    }

    /// A clock that calls `now` each time it is read.
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_reads_the_current_time() {
        let before = Timestamp::now();
        let read = Clock::system().now();
        assert!(read >= before, "{read} is before {before}");
    }

    #[test]
    fn injected_clock_returns_what_the_function_returns() {
        let t: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert_eq!(Clock::from_fn(move || t).now(), t);
    }
}
