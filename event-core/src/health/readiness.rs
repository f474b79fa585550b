//! [`Health`]: the readiness of every watch scope, recorded by the source.
//!
//! Over 400 lines with its tests only (about 360 without).

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::writers::{CHECKPOINT, WriterReadiness, Writers};

/// The longest error text kept per scope; readiness bodies stay short.
const MAX_ERROR_CHARS: usize = 300;

/// The readiness of every watch scope, shared by the source that records it and whoever reports
/// it. Cheap to clone; every clone shares the same state: a [`Keeper`](crate::Keeper) hands one
/// to the stream and the pipeline it binds, and the same one answers `/readyz`.
///
/// The rules, applied by [`readiness`](Health::readiness):
///
/// - a scope is healthy once **established** (a list completed, or a resumed watch connected);
/// - it stays healthy until its watch **fails** (an error from the API server or the
///   connection), and is healthy again at the next **answer** (a successful (re)connect or list
///   page): a failure ends with the first success, not with the first notification, because
///   a quiet cluster sends none;
/// - the process is ready while every registered scope is healthy or has been failing for at
///   most `stall_after`, and it is not shutting down.
///
///
/// ```
/// use std::time::Duration;
/// use event_core::health::Health;
///
/// let health = Health::default();
/// health.register("events@*");
/// assert!(!health.readiness(Duration::from_secs(60)).is_ready());
/// health.established("events@*");
/// assert!(health.readiness(Duration::from_secs(60)).is_ready());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Health {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    scopes: BTreeMap<Arc<str>, ScopeState>,
    shutting_down: bool,
    writers: Writers,
}

#[derive(Debug, Default)]
struct ScopeState {
    established: bool,
    failing_since: Option<Instant>,
    last_error: Option<String>,
    stopped: bool,
}

impl Health {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Readiness bookkeeping holds no invariant a panic elsewhere could break.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn with_scope(&self, scope: &str, f: impl FnOnce(&mut ScopeState)) {
        let mut state = self.lock();
        match state.scopes.get_mut(scope) {
            Some(s) => f(s),
            None => {
                let mut s = ScopeState::default();
                f(&mut s);
                state.scopes.insert(Arc::from(scope), s);
            }
        }
    }

    /// A watch of `scope` starts: the process is not ready until it is established. Registering
    /// a scope again starts it over.
    pub fn register(&self, scope: &str) {
        self.lock()
            .scopes
            .insert(Arc::from(scope), ScopeState::default());
    }

    /// `scope` is established: a list completed, or a resumed watch connected.
    pub fn established(&self, scope: &str) {
        self.with_scope(scope, |s| {
            s.established = true;
            s.failing_since = None;
        });
    }

    /// The API server answered a request of `scope` successfully: an established scope that
    /// was failing is healthy again. Does not establish a scope by itself (a first list may
    /// still be paging).
    pub fn answered(&self, scope: &str) {
        let mut state = self.lock();
        if let Some(s) = state.scopes.get_mut(scope)
            && s.established
        {
            s.failing_since = None;
        }
    }

    /// The watch of `scope` failed with `error` and will retry.
    pub fn failed(&self, scope: &str, error: &dyn Display) {
        let error = short(error);
        self.with_scope(scope, |s| {
            s.failing_since.get_or_insert_with(Instant::now);
            s.last_error = Some(error);
        });
    }

    /// The watch of `scope` ended (its stream was dropped).
    pub fn stopped(&self, scope: &str) {
        self.with_scope(scope, |s| s.stopped = true);
    }

    /// Forgets `scope`: it no longer counts for readiness nor is listed, as when its watch was
    /// never registered (a standby's stopped watches). Registering it again starts it over.
    pub fn forget(&self, scope: &str) {
        self.lock().scopes.remove(scope);
    }

    /// The process is shutting down: it is no longer ready, whatever its watches do.
    pub fn set_shutting_down(&self) {
        self.lock().shutting_down = true;
    }

    /// Whether [`set_shutting_down`](Self::set_shutting_down) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }

    /// A send to `sink` failed with `error` and will be retried: once it has been failing for
    /// longer than `stall_after`, the process is unready (its queue is full by then, and the
    /// watch waits behind it).
    pub fn sink_failed(&self, sink: &str, error: &dyn Display) {
        self.lock()
            .writers
            .failed(format!("sink {sink}"), short(error));
    }

    /// A send to `sink` succeeded: it is no longer failing.
    pub fn sink_succeeded(&self, sink: &str) {
        self.lock().writers.succeeded(&format!("sink {sink}"));
    }

    /// A checkpoint save failed with `error` and will be tried again: once saves have been
    /// failing for longer than `stall_after`, the process is unready (a restart would resend
    /// everything exported since the last save).
    pub fn checkpoint_failed(&self, error: &dyn Display) {
        self.lock()
            .writers
            .failed(CHECKPOINT.to_owned(), short(error));
    }

    /// A checkpoint save succeeded: saves are no longer failing.
    pub fn checkpoint_saved(&self) {
        self.lock().writers.succeeded(CHECKPOINT);
    }

    /// The error of the last checkpoint save, while saves are failing.
    pub fn checkpoint_error(&self) -> Option<String> {
        self.lock().writers.failing(CHECKPOINT).map(str::to_owned)
    }

    /// Forgets the failures of every sink and of the checkpoint, as when the pipeline that
    /// reported them is gone (a replica that lost the lease).
    pub fn forget_writers(&self) {
        self.lock().writers.clear();
    }

    /// The readiness of every scope now, a scope failing for longer than `stall_after` counting
    /// as stalled; likewise a sink or the checkpoint store.
    pub fn readiness(&self, stall_after: Duration) -> Readiness {
        let now = Instant::now();
        let state = self.lock();
        let writers = state.writers.readiness(now, stall_after);
        let scopes = state
            .scopes
            .iter()
            .map(|(scope, s)| ScopeReadiness {
                scope: scope.to_string(),
                status: s.status(now, stall_after),
            })
            .collect();
        Readiness {
            scopes,
            writers,
            shutting_down: state.shutting_down,
        }
    }
}

impl ScopeState {
    fn status(&self, now: Instant, stall_after: Duration) -> ScopeStatus {
        let error = || self.last_error.clone().unwrap_or_default();
        if self.stopped {
            return ScopeStatus::Stopped;
        }
        if !self.established {
            return ScopeStatus::Starting {
                error: self.last_error.clone(),
            };
        }
        match self.failing_since.map(|t| now.saturating_duration_since(t)) {
            None => ScopeStatus::Ready,
            Some(failing) if failing > stall_after => ScopeStatus::Stalled {
                failing,
                error: error(),
            },
            Some(failing) => ScopeStatus::Retrying {
                failing,
                error: error(),
            },
        }
    }
}

/// One line of an error, at most [`MAX_ERROR_CHARS`] characters.
fn short(error: &dyn Display) -> String {
    let text = error.to_string().replace(['\n', '\r'], " ");
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// The readiness of the process: of each watch scope, of each failing sink or checkpoint
/// store, and whether it is shutting down.
///
/// Its `Display` is the body of `/readyz`: `ready` or `not ready`, then one line per scope,
/// then one per failing writer (`sink file: not ready: failing since ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Readiness {
    /// Each registered scope, in key order.
    pub scopes: Vec<ScopeReadiness>,
    /// Each sink or checkpoint store failing now, in name order.
    pub writers: Vec<WriterReadiness>,
    /// Whether the process is shutting down.
    pub shutting_down: bool,
}

impl Readiness {
    /// Ready: at least one scope, every scope ready, no writer failing for longer than
    /// `stall_after`, and not shutting down.
    pub fn is_ready(&self) -> bool {
        !self.shutting_down
            && !self.scopes.is_empty()
            && self.scopes.iter().all(|s| s.status.is_ready())
            && self.writers.iter().all(|w| w.status.is_ready())
    }
}

impl Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}",
            if self.is_ready() {
                "ready"
            } else {
                "not ready"
            }
        )?;
        if self.shutting_down {
            writeln!(f, "shutting down")?;
        }
        if self.scopes.is_empty() {
            writeln!(f, "no watch started yet")?;
        }
        for s in &self.scopes {
            writeln!(f, "{}: {}", s.scope, s.status)?;
        }
        for w in &self.writers {
            writeln!(f, "{}: {}", w.writer, w.status)?;
        }
        Ok(())
    }
}

/// The readiness of one watch scope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScopeReadiness {
    /// The scope's source key, e.g. `events@*` or `pods@payments`.
    pub scope: String,
    /// Where it stands.
    pub status: ScopeStatus,
}

/// Where one watch scope stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeStatus {
    /// Established, and not failing.
    Ready,
    /// Established, failing for at most `stall_after`, retrying: still ready.
    Retrying {
        /// How long it has been failing.
        failing: Duration,
        /// The last error.
        error: String,
    },
    /// Not established yet: no list completed and no resumed watch connected. Not ready.
    Starting {
        /// The last error, if it failed meanwhile.
        error: Option<String>,
    },
    /// Failing for longer than `stall_after` without a successful (re)connect. Not ready.
    Stalled {
        /// How long it has been failing.
        failing: Duration,
        /// The last error.
        error: String,
    },
    /// Its stream was dropped. Not ready.
    Stopped,
}

impl ScopeStatus {
    /// Whether this scope lets the process be ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, ScopeStatus::Ready | ScopeStatus::Retrying { .. })
    }
}

impl Display for ScopeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeStatus::Ready => f.write_str("ready"),
            ScopeStatus::Retrying { failing, error } => write!(
                f,
                "ready, retrying for {}s after: {error}",
                failing.as_secs()
            ),
            ScopeStatus::Starting { error: None } => {
                f.write_str("not ready: no list completed yet")
            }
            ScopeStatus::Starting { error: Some(error) } => {
                write!(f, "not ready: no list completed yet; last error: {error}")
            }
            ScopeStatus::Stalled { failing, error } => write!(
                f,
                "not ready: failing for {}s without a successful reconnect; last error: {error}",
                failing.as_secs()
            ),
            ScopeStatus::Stopped => f.write_str("not ready: the watch stopped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_secs(60);

    fn established(scopes: &[&str]) -> Health {
        let health = Health::default();
        for s in scopes {
            health.register(s);
            health.established(s);
        }
        health
    }

    #[test]
    fn nothing_registered_is_not_ready() {
        let r = Health::default().readiness(STALL);
        assert!(!r.is_ready());
        assert_eq!(r.to_string(), "not ready\nno watch started yet\n");
    }

    #[test]
    fn unready_until_every_scope_is_established() {
        let health = Health::default();
        health.register("events@*");
        health.register("pods@*");
        health.established("events@*");
        let r = health.readiness(STALL);
        assert!(!r.is_ready());
        assert_eq!(
            r.to_string(),
            "not ready\nevents@*: ready\npods@*: not ready: no list completed yet\n"
        );
        health.established("pods@*");
        assert!(health.readiness(STALL).is_ready());
    }

    #[test]
    fn answers_before_the_first_list_completes_do_not_establish_a_scope() {
        let health = Health::default();
        health.register("events@*");
        health.failed("events@*", &"connection refused");
        health.answered("events@*");
        let r = health.readiness(STALL);
        assert!(!r.is_ready());
        assert_eq!(
            r.scopes[0].status,
            ScopeStatus::Starting {
                error: Some("connection refused".into())
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_shorter_than_stall_after_stays_ready_while_retrying() {
        let health = established(&["events@*"]);
        health.failed("events@*", &"connection refused");
        tokio::time::advance(Duration::from_secs(30)).await;
        health.failed("events@*", &"connection reset");
        let r = health.readiness(STALL);
        assert!(r.is_ready(), "{r}");
        assert_eq!(
            r.scopes[0].status.to_string(),
            "ready, retrying for 30s after: connection reset"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failing_for_longer_than_stall_after_is_unready() {
        let health = established(&["events@*", "pods@*"]);
        health.failed("pods@*", &"connection refused");
        tokio::time::advance(Duration::from_secs(59)).await;
        health.failed("pods@*", &"connection refused");
        assert!(
            health.readiness(STALL).is_ready(),
            "measured from the first failure"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        let r = health.readiness(STALL);
        assert!(!r.is_ready());
        assert_eq!(
            r.to_string(),
            "not ready\nevents@*: ready\npods@*: not ready: failing for 61s without a successful reconnect; last error: connection refused\n"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_reconnect_ends_a_stall() {
        let health = established(&["events@*"]);
        health.failed("events@*", &"connection refused");
        tokio::time::advance(Duration::from_secs(120)).await;
        assert!(!health.readiness(STALL).is_ready());
        health.answered("events@*");
        assert!(health.readiness(STALL).is_ready());
        // The next failure is measured from its own start.
        health.failed("events@*", &"connection refused");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(health.readiness(STALL).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_not_a_stall() {
        let health = established(&["events@*"]);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(health.readiness(STALL).is_ready());
    }

    #[test]
    fn shutting_down_is_unready() {
        let health = established(&["events@*"]);
        health.set_shutting_down();
        let r = health.readiness(STALL);
        assert!(health.is_shutting_down());
        assert!(!r.is_ready());
        assert!(
            r.to_string().starts_with("not ready\nshutting down\n"),
            "{r}"
        );
    }

    #[test]
    fn a_stopped_scope_is_unready_and_registering_again_starts_over() {
        let health = established(&["events@*"]);
        health.stopped("events@*");
        assert_eq!(
            health.readiness(STALL).scopes[0].status,
            ScopeStatus::Stopped
        );
        health.register("events@*");
        assert_eq!(
            health.readiness(STALL).scopes[0].status,
            ScopeStatus::Starting { error: None }
        );
    }

    #[test]
    fn a_forgotten_scope_is_neither_listed_nor_counted() {
        let health = established(&["events@*", "pods@*"]);
        health.stopped("pods@*");
        assert!(!health.readiness(STALL).is_ready());
        health.forget("pods@*");
        let readiness = health.readiness(STALL);
        assert!(readiness.is_ready(), "{readiness}");
        assert_eq!(readiness.scopes.len(), 1);
        assert_eq!(readiness.scopes[0].scope, "events@*");
        health.forget("events@*");
        assert!(
            !health.readiness(STALL).is_ready(),
            "nothing registered is not ready"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sink_failing_longer_than_stall_after_is_unready_and_named() {
        let health = established(&["events@*"]);
        health.sink_failed(
            "archive",
            &"writing /data/events.jsonl: Read-only file system",
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        let r = health.readiness(STALL);
        assert!(r.is_ready(), "{r}");
        assert!(
            r.to_string()
                .contains("\nsink archive: ready, retrying since "),
            "{r}"
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        let r = health.readiness(STALL);
        assert!(!r.is_ready());
        let body = r.to_string();
        assert!(
            body.starts_with("not ready\nevents@*: ready\nsink archive: not ready: failing since "),
            "{body}"
        );
        assert!(
            body.ends_with(
                "(61s); last error: writing /data/events.jsonl: Read-only file system\n"
            ),
            "{body}"
        );
        health.sink_succeeded("archive");
        assert!(health.readiness(STALL).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn checkpoint_saves_failing_longer_than_stall_after_are_unready() {
        let health = established(&["events@*"]);
        health.checkpoint_failed(&"checkpoint /state/cp.json: write failed");
        assert_eq!(
            health.checkpoint_error().as_deref(),
            Some("checkpoint /state/cp.json: write failed")
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        let r = health.readiness(STALL);
        assert!(!r.is_ready());
        assert!(
            r.to_string()
                .contains("\ncheckpoint: not ready: failing since "),
            "{r}"
        );
        health.checkpoint_saved();
        assert!(health.readiness(STALL).is_ready());
        assert_eq!(health.checkpoint_error(), None);
        health.checkpoint_failed(&"again");
        health.forget_writers();
        assert_eq!(health.checkpoint_error(), None);
    }

    #[test]
    fn long_multiline_errors_are_cut_to_one_short_line() {
        let health = Health::default();
        health.register("events@*");
        health.failed("events@*", &format!("first\nsecond {}", "x".repeat(1000)));
        let ScopeStatus::Starting { error: Some(error) } =
            health.readiness(STALL).scopes[0].status.clone()
        else {
            panic!("expected a starting scope");
        };
        assert!(error.starts_with("first second x"));
        assert_eq!(error.chars().count(), MAX_ERROR_CHARS + 3);
    }
}
