//! Event Keeper's benchmarks. The figures and the commands that reproduce them are in
//! `BENCHMARKS.md` at the root of the repository.
//!
//! - `benches/*.rs`: criterion benches (`cargo bench -p benches`): pipeline throughput beside
//!   decode alone, file-sink throughput per fsync policy, checkpoint snapshots.
//! - `src/bin/*.rs`: measurements of whole processes (`cargo run --release -p benches --bin
//!   NAME`): the Python client side by side, the exporter's memory, the checkpoint, resume,
//!   CloudWatch calls and latency.
//! - This library: what they share. [`fixtures`] replicates the recorded watch streams,
//!   [`work`] is the per-event work and a null sink, [`process`] reads memory and CPU time
//!   from `/proc`, [`python`] runs the scripts of `python/`, [`stats`] summarizes,
//!   [`callgrind`] counts instructions, [`example`] finds the binaries the benches run, and
//!   [`machine`] says what the figures were taken on.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod callgrind;
pub mod cluster;
pub mod consumer;
pub mod example;
pub mod exporter;
pub mod fixtures;
pub mod ledgers;
pub mod machine;
pub mod pin;
pub mod process;
pub mod python;
pub mod stats;
pub mod work;
