//! Exponential backoff with jitter, for re-watching and for retrying sinks.

use std::time::Duration;

/// Exponential backoff with "equal jitter": each delay is uniformly drawn from the upper half of
/// the current step, so a fleet of watchers that failed together does not retry together.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// A backoff from `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            current: initial,
        }
    }

    /// The watch preset, as client-go's reflector: 800 ms doubling to 30 s.
    pub fn watch() -> Self {
        Backoff::new(Duration::from_millis(800), Duration::from_secs(30))
    }

    /// The sink preset: 200 ms doubling to 60 s.
    pub fn sink() -> Self {
        Backoff::new(Duration::from_millis(200), Duration::from_secs(60))
    }

    /// The next delay to wait before retrying.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Starts over from the initial delay, after a success.
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_jitter_bounds_and_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let bounds = [(50, 100), (100, 200), (200, 400), (200, 400)];
        for (lo, hi) in bounds {
            let d = b.next_delay();
            assert!(
                d >= Duration::from_millis(lo) && d <= Duration::from_millis(hi),
                "{d:?}"
            );
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        for _ in 0..5 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
