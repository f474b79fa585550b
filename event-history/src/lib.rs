//! Reading the kept history back: `kubectl get events` for any time range, of the events
//! Event Keeper's sinks stored long after the API server deleted them.
//!
//! A sink's reader is a [`HistorySource`] (`sink_cloudwatch::CloudWatchHistory` and
//! `sink_file::FileArchiveHistory`, each with its crate's `history` feature, or
//! [`from_stream`] over any stream of events). A
//! [`History`] reads it as a [`HistoryConfig`] says and yields, as a stream:
//!
//! 1. the events whose [`last_seen`](event_core::Event::last_seen) is in the [`TimeRange`], parsed
//!    from what people type with [`parse_time`] (`6h`, `30m`, `2d`, RFC 3339);
//! 2. that a [`Selection`] keeps — namespaces, types, reasons, kinds, one object
//!    ([`ObjectSelector`], `pod/api-7d9f`), a message regex and the pipeline's own
//!    [`FilterConfig`](event_core::FilterConfig) — compiled into the same [filter](event_core::filter)
//!    predicates the pipeline runs;
//! 3. each occurrence (uid + resourceVersion) once: a [`DedupeWindow`] drops the copies a
//!    resend or an overlapping poll stored twice;
//! 4. oldest first, newest last, through a bounded [`ReorderWindow`];
//! 5. and, when following, what is stored from then on, polled at an interval.
//!
//! Memory is bounded by the windows, not by the range: a month of history streams through.
//!
//! [`TableWriter`] prints the events as the columns of `kubectl get events` (or `-o wide`, see
//! [`Layout`]), sized from the first rows and never shifted, ages as kubectl writes them
//! ([`human_age`]); [`Printer`] writes them one at a time as such a table or as JSON lines.
//! Text from the cluster goes through the stdout sink's
//! [`escape_control`](sink_stdout::escape_control): no control character reaches the terminal.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use event_core::Event;
//! use event_history::{History, HistoryConfig, Selection, TimeRange, from_stream, parse_time};
//! use futures::{TryStreamExt, stream};
//!
//! let now = "2026-11-24T12:00:00Z".parse()?;
//! let range = TimeRange::new(Some(parse_time("6h", now)?), None)?;
//! let keep = Selection::default().namespaces(["payments"]).types(["Warning"]).compile()?;
//!
//! let mut backoff = Event::new("7d3c6a2e", "1042");
//! backoff.namespace = Some("payments".into());
//! backoff.event_type = "Warning".into();
//! backoff.last_seen = "2026-11-24T10:02:11Z".parse()?;
//! let stored = [backoff.clone(), backoff.clone()]; // a resend stored it twice
//!
//! let source = from_stream(stream::iter(stored.map(Ok::<_, Infallible>)));
//! let history = History::new(source, keep, HistoryConfig::default().range(range));
//! let events: Vec<Event> = futures::executor::block_on(history.try_collect())?;
//! assert_eq!(events, [backoff]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod age;
mod config;
mod dedupe;
mod printer;
mod reorder;
mod select;
mod source;
mod stats;
mod stream;
mod table;
mod time;

pub use age::human_age;
pub use config::HistoryConfig;
pub use dedupe::{DEFAULT_DEDUPE_HORIZON, DEFAULT_MAX_KEYS, DedupeWindow};
pub use printer::Printer;
pub use reorder::{DEFAULT_LATENESS, DEFAULT_REORDER_CAPACITY, ReorderWindow};
pub use select::{ObjectSelector, Selection, SelectorError};
pub use source::{FromStream, HistorySource, from_stream};
pub use stats::{HistoryStats, Progress};
pub use stream::History;
pub use table::{DEFAULT_SIZING_ROWS, Layout, MAX_WIDTH, TableWriter};
pub use time::{TimeError, TimeRange, parse_duration, parse_time};
