//! An Event Keeper [`Sink`](event_core::Sink) that keeps events in a rolling JSON-lines archive,
//! and [`FileArchiveHistory`], which reads it back.
//!
//! Each line of a file is one [`Event`](event_core::Event) as JSON, the same record every sink
//! stores; `grep`, `jq` and `zcat` work on the archive as it is.
//!
//! # Directory layout
//!
//! ```text
//! /var/lib/event-keeper/archive/
//! ├── events-2026-11-24T09-00-00Z.0001.jsonl.gz   closed and compressed (with `compress`)
//! ├── events-2026-11-24T10-00-00Z.0001.jsonl.gz   closed when it reached max_file_bytes
//! ├── events-2026-11-24T10-00-00Z.0002.jsonl.gz
//! └── events-2026-11-24T11-00-00Z.0001.jsonl      being written
//! ```
//!
//! A name is `{prefix}-{start}.{seq}.jsonl`: `start` is the beginning of the file's hour or day
//! in UTC (for `rotation: never`, the second the file was started), with `-` for `:`; `seq`
//! counts from `0001` the files started within one period because the previous one was full.
//! Names sort in write order (compare them parsed, with [`ArchiveName`], once a period has more
//! than 9999 files); `.jsonl.gz` marks a closed file that was compressed. A `….jsonl.gz.tmp`
//! file is a compression in progress: readers ignore it and the sink removes it at start-up.
//!
//! # What the sink guarantees
//!
//! - [`FileSink::send`](event_core::Sink::send) returns `Ok` once the batch is written, and
//!   synced when the [`FsyncPolicy`] says so (by default, after every batch).
//! - A batch is written as one buffer of whole lines and never split across files. If the write
//!   fails part way (a full disk), the file is cut back to its length before the batch and the
//!   error is [`SinkError::Retryable`](event_core::SinkError::Retryable): the retried batch is
//!   stored once, without a half line.
//! - Rotation, compression, retention and I/O errors are returned, never only logged; they
//!   happen before the batch is written, so an error means nothing of the batch was stored.
//! - A crash can tear the last line; at the next start the sink cuts it off (logging it and
//!   counting it in [`FileSinkStats::torn_lines_cut`]) without touching earlier lines, and appends
//!   to the newest file if it is still within its period and size. The lines of an
//!   unacknowledged batch that did reach the disk before a crash are sent again by the pipeline:
//!   deduplicate by [`Event::key`](event_core::Event::key) when reading.
//! - Compression writes a temporary file, syncs and renames it, and only then removes the
//!   original.
//!
//! # Configuration
//!
//! Defaults are listed on [`FileSinkConfig`]. A typical config:
//!
//! ```json
//! {
//!   "directory": "/var/lib/event-keeper/archive",
//!   "rotation": "hourly",
//!   "max_file_bytes": 104857600,
//!   "fsync": "every-batch",
//!   "compress": true,
//!   "keep_days": 30
//! }
//! ```
//!
//! # Example
//!
//! ```no_run
//! use event_core::{Event, Sink};
//! use sink_file::{FileSink, FileSinkConfig, Rotation};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = FileSinkConfig::new("/var/lib/event-keeper/archive")
//!     .rotation(Rotation::DAILY.with_max_bytes(256 * 1024 * 1024))
//!     .compress(true)
//!     .keep_days(30);
//! let mut sink = FileSink::new(config.clone())?;
//! sink.health_check().await?; // creates the directory and recovers from a crash
//! sink.send(&[Event::new("7d3c6a2e", "1042")]).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Reading it back on a blocking thread (or outside an async runtime); with the `history`
//! feature, [`FileArchiveHistory`] is also a stream for `event_history::History`:
//!
//! ```no_run
//! use sink_file::{FileArchiveHistory, FileSinkConfig};
//!
//! let config = FileSinkConfig::new("/var/lib/event-keeper/archive");
//! for event in FileArchiveHistory::from_config(&config)?.blocking_read() {
//!     println!("{}", event?.key());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `history` | no | [`FileArchiveHistory`] as an `event_history::HistorySource` (with `range`): read by an `event_history::History`, which selects a time range, drops repeats and follows the archive as it grows |
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod compress;
mod config;
mod fs;
mod naming;
mod reader;
mod retention;
mod rotation;
mod sink;
mod stats;
#[cfg(test)]
mod testutil;
mod writer;

pub use config::{
    ConfigError, DEFAULT_MAX_FILE_BYTES, DEFAULT_PREFIX, DEFAULT_WRITE_TIMEOUT, FileSinkConfig,
    MIN_MAX_FILE_BYTES,
};
pub use naming::{ArchiveName, COMPRESSED_EXTENSION, PLAIN_EXTENSION};
pub use reader::{BlockingRead, DEFAULT_WRITE_DELAY, FileArchiveHistory, ReadError};
pub use rotation::Rotation;
pub use sink::{FileSink, RECENT_FILES_SEARCHED};
pub use stats::FileSinkStats;
pub use writer::FsyncPolicy;
