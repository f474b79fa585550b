//! Test helpers: an in-memory sink and a conformance kit for your own sinks.
//!
//! Enabled by the `test-util` feature:
//!
//! ```toml
//! [dev-dependencies]
//! event-core = { version = "0.1", features = ["test-util"] }
//! ```

mod conformance;
mod memory;

pub use conformance::{ConformanceError, check_sink};
pub use memory::{MemorySink, Scripted};

use crate::{Event, ObjectRef};

/// A realistic Warning event for tests: `uid`, `rv`, a pod in `namespace`.
pub fn sample_event(uid: &str, rv: u64, namespace: &str) -> Event {
    let mut event = Event::new(uid, rv.to_string());
    event.namespace = Some(namespace.to_owned());
    event.name = format!("api-7d9f.{uid}");
    event.regarding = ObjectRef::new("Pod", "api-7d9f");
    event.regarding.namespace = Some(namespace.to_owned());
    event.reason = "BackOff".to_owned();
    event.message = "Back-off restarting failed container app in pod api-7d9f".to_owned();
    event.event_type = "Warning".to_owned();
    event.reporting_controller = Some("kubelet".to_owned());
    event
}
