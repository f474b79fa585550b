//! An Event Keeper [`Sink`](event_core::Sink) that prints events to stdout (or any writer).
//!
//! Two formats:
//!
//! - [`Format::Json`]: one JSON object per line, the same record the other sinks store; pipe it
//!   into `jq` or a log collector.
//! - [`Format::Text`]: one aligned line per event, in the shape of `kubectl get events`:
//!
//! ```text
//! 2026-11-24T10:02:11Z  Warning  BackOff            payments/pod/api-7d9f         Back-off restarting failed container (x5)
//! ```
//!
//! ```
//! use sink_stdout::{Format, StdoutSink};
//!
//! let sink = StdoutSink::new(Format::Text);
//! ```
//!
//! The table of `kubectl get events` that a history tool prints is the `event-history` crate's;
//! it writes text by the same rules.
//!
//! Text output never passes a control character from the cluster through to the terminal:
//! every string goes through [`escape_control`]. JSON output is the exact record.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod escape;
mod format;
mod sink;

pub use escape::{escape_control, is_escaped};
pub use format::{Format, write_json_line, write_text_line};
pub use sink::{StdoutConfig, StdoutSink};
