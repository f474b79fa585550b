//! What one occurrence costs in CloudWatch Logs: the size of the record the sinks write, beside
//! the Kubernetes object it came from (what exporters that ship the whole object store), and
//! what a million of them cost to ingest at today's batching.
//!
//! `cargo run --release -p benches --bin record_size`
//!
//! The events are the recorded watch streams of a real v1.36 control plane
//! (`benches::fixtures`), replicated with UUID-long uids, so the sizes are those of real
//! kubelet, scheduler and controller events. For each group and for both together:
//! - **object**: the object as the API server sends it (`kubectl get events -o json` per item;
//!   what an exporter shipping the whole object writes), and the same without
//!   `metadata.managedFields`;
//! - **record**: `Event::write_json`, what the CloudWatch, file, stdout and webhook sinks store;
//! - **record, redundant fields dropped**: the record without `api` and `cluster` (constant per
//!   log stream and per log group), `regarding.namespace` where it equals `namespace`, and
//!   `firstSeen` where it equals `lastSeen`, to show what a leaner record would save.
//!
//! Cost: the service counts each event's message bytes plus 26 (the PutLogEvents quota and the
//! billed ingestion); a call takes at most 10,000 events and 1,048,576 counted bytes, so a
//! million events need the larger of the two minimums (the sink's batcher reaches it within
//! 2 %, see "CloudWatch Logs: requests and latency" in BENCHMARKS.md). The price per GB is an
//! argument (`--usd-per-gb`, default 0.50: Standard log class ingestion in us-east-1).

use benches::fixtures::{Group, replicate};
use benches::machine::Machine;
use benches::stats::thousands;
use benches::work::normalize;
use clap::Parser;
use serde_json::Value;

/// Bytes the service adds to each event's message when it counts a batch.
const EVENT_OVERHEAD: u64 = 26;
/// Most events in one PutLogEvents call.
const MAX_EVENTS_PER_CALL: u64 = 10_000;
/// Most counted bytes in one PutLogEvents call.
const MAX_BYTES_PER_CALL: u64 = 1_048_576;
/// The events a cost is given for.
const MILLION: u64 = 1_000_000;

#[derive(Parser, Debug)]
#[command(about = "Record size and CloudWatch Logs cost per million events")]
struct Cli {
    /// Copies of the recorded events per group.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Ingestion price in US dollars per GB (10^9 bytes).
    #[arg(long, default_value_t = 0.50)]
    usd_per_gb: f64,
    /// The `cluster` name written into each record, as the exporter's `cluster` setting does.
    #[arg(long, default_value = "prod-eu-west-1")]
    cluster: String,
}

/// Summed sizes, in bytes, over `events` occurrences.
#[derive(Default)]
struct Sizes {
    events: u64,
    object: u64,
    object_without_managed_fields: u64,
    record: u64,
    lean_record: u64,
}

impl Sizes {
    fn add(&mut self, other: &Sizes) {
        self.events += other.events;
        self.object += other.object;
        self.object_without_managed_fields += other.object_without_managed_fields;
        self.record += other.record;
        self.lean_record += other.lean_record;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    println!("{}", Machine::detect());
    println!(
        "{} copies per group of the recorded real-cluster events, cluster {:?}, ${:.2} per GB",
        thousands(cli.events as f64),
        cli.cluster,
        cli.usd_per_gb
    );
    let mut all = Sizes::default();
    let mut rows = Vec::new();
    for group in Group::ALL {
        let sizes = measure(group, cli.events, &cli.cluster)?;
        all.add(&sizes);
        rows.push((group.as_str(), sizes));
    }
    rows.push(("both", all));

    println!();
    println!(
        "| events | object | object without managedFields | record | record, redundant fields dropped |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, s) in &rows {
        println!(
            "| {name} | {} B | {} B | **{} B** | {} B ({:+.1} %) |",
            per_event(s.object, s.events),
            per_event(s.object_without_managed_fields, s.events),
            per_event(s.record, s.events),
            per_event(s.lean_record, s.events),
            percent(s.lean_record, s.record),
        );
    }

    println!();
    println!(
        "| a million events of `both`, written as | counted bytes | PutLogEvents calls (minimum) | ingestion |"
    );
    println!("|---|---:|---:|---:|");
    let Some((_, both)) = rows.last() else {
        return Ok(());
    };
    for (name, total) in [
        ("the object", both.object),
        (
            "the object without managedFields",
            both.object_without_managed_fields,
        ),
        ("the record", both.record),
        ("the record, redundant fields dropped", both.lean_record),
    ] {
        let counted = MILLION * (total / both.events.max(1) + EVENT_OVERHEAD);
        let calls = counted
            .div_ceil(MAX_BYTES_PER_CALL)
            .max(MILLION.div_ceil(MAX_EVENTS_PER_CALL));
        let usd = counted as f64 / 1e9 * cli.usd_per_gb;
        println!(
            "| {name} | {} MB | {} | ${usd:.3} |",
            thousands(counted as f64 / 1e6),
            thousands(calls as f64),
        );
    }
    Ok(())
}

/// Sizes of `n` replicated occurrences of `group`.
fn measure(group: Group, n: usize, cluster: &str) -> Result<Sizes, Box<dyn std::error::Error>> {
    let mut sizes = Sizes::default();
    let mut record = Vec::with_capacity(1024);
    for line in replicate(group, n) {
        let mut watched: Value = serde_json::from_str(&line)?;
        let object = watched["object"].take();
        sizes.object += serde_json::to_vec(&object)?.len() as u64;
        let mut trimmed = object;
        if let Some(meta) = trimmed["metadata"].as_object_mut() {
            meta.remove("managedFields");
        }
        sizes.object_without_managed_fields += serde_json::to_vec(&trimmed)?.len() as u64;

        let Some(mut event) = normalize(group, &line) else {
            return Err(format!("a recorded {} line did not decode", group.as_str()).into());
        };
        event.cluster = Some(cluster.to_owned());
        record.clear();
        event.write_json(&mut record);
        sizes.record += record.len() as u64;
        sizes.lean_record +=
            serde_json::to_vec(&lean(serde_json::from_slice(&record)?))?.len() as u64;
        sizes.events += 1;
    }
    Ok(sizes)
}

/// The record without the fields a reader could restore from where it is stored or from the
/// record itself.
fn lean(mut record: Value) -> Value {
    let Some(fields) = record.as_object_mut() else {
        return record;
    };
    fields.remove("api");
    fields.remove("cluster");
    if fields.get("firstSeen") == fields.get("lastSeen") {
        fields.remove("firstSeen");
    }
    let namespace = fields.get("namespace").cloned();
    if let Some(regarding) = fields.get_mut("regarding").and_then(Value::as_object_mut)
        && regarding.get("namespace") == namespace.as_ref()
    {
        regarding.remove("namespace");
    }
    record
}

fn per_event(total: u64, events: u64) -> u64 {
    total / events.max(1)
}

fn percent(value: u64, base: u64) -> f64 {
    (value as f64 / base.max(1) as f64 - 1.0) * 100.0
}
