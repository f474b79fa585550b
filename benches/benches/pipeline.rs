//! Pipeline throughput on one core beside the floor of the same work: recorded watch lines
//! (~1 KB each, replicated with distinct uids and resourceVersions) decoded as the source
//! decodes them, normalized, filtered, serialized and dropped by a null sink.
//!
//! `cargo bench -p benches --bench pipeline`; every group reports events per second.
//!
//! - `decode`: the floor. `typed` is `serde_json::from_str::<WatchEvent<K>>`, kube-rs's decode
//!   of each watch line; `lenient` is the source's own decode (`WatchEvent<Lenient<K>>`: the
//!   object's text captured, then decoded as `K` without managedFields), the first stage of
//!   the pipeline alone; `value` parses to `serde_json::Value` (what Python's `json.loads`
//!   does), `validate` only checks the JSON (`IgnoredAny`).
//! - `stages`: decode + normalize, then the whole per-event work (decode, normalize, filter,
//!   serialize) in a plain loop.
//! - `pipeline`: the same events through a real `Pipeline` (batcher, queue, worker, null sink)
//!   on a current-thread runtime, so on one core.

use std::sync::Arc;
use std::time::Duration;

use benches::fixtures::{Group, replicate};
use benches::work::{
    Filtering, decode_lenient, decode_only, normalize, parse_value, process, run_pipeline,
    validate_only,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use event_core::PipelineConfig;

/// Events per measured iteration: enough for the pipeline's batches to dominate its set-up.
const EVENTS: usize = 20_000;

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for api in Group::ALL {
        let lines = replicate(api, EVENTS);
        group.bench_with_input(
            BenchmarkId::new("typed", api.as_str()),
            &lines,
            |b, lines| {
                b.iter(|| lines.iter().map(|l| decode_only(api, l)).sum::<usize>());
            },
        );
        group.bench_with_input(
            BenchmarkId::new("lenient", api.as_str()),
            &lines,
            |b, lines| {
                b.iter(|| lines.iter().map(|l| decode_lenient(api, l)).sum::<usize>());
            },
        );
        group.bench_with_input(
            BenchmarkId::new("value", api.as_str()),
            &lines,
            |b, lines| {
                b.iter(|| lines.iter().map(|l| parse_value(l)).sum::<usize>());
            },
        );
        group.bench_with_input(
            BenchmarkId::new("validate", api.as_str()),
            &lines,
            |b, lines| b.iter(|| lines.iter().map(|l| validate_only(l)).sum::<usize>()),
        );
    }
    group.finish();
}

fn stages(c: &mut Criterion) {
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for api in Group::ALL {
        let lines = replicate(api, EVENTS);
        group.bench_with_input(
            BenchmarkId::new("decode+normalize", api.as_str()),
            &lines,
            |b, lines| {
                b.iter(|| lines.iter().filter_map(|l| normalize(api, l)).count());
            },
        );
        for filtering in [Filtering::KeepAll, Filtering::Readme] {
            let filter = filtering.compile().expect("bench filters compile");
            let id = format!("all/{}/{}", filtering.as_str(), api.as_str());
            group.bench_with_input(BenchmarkId::from_parameter(id), &lines, |b, lines| {
                let mut out = Vec::with_capacity(4096);
                b.iter(|| {
                    lines
                        .iter()
                        .filter(|l| process(api, l, &filter, &mut out))
                        .count()
                });
            });
        }
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for api in Group::ALL {
        let lines = Arc::new(replicate(api, EVENTS));
        for filtering in [Filtering::KeepAll, Filtering::Readme] {
            let filter = filtering.compile().expect("bench filters compile");
            let id = format!("{}/{}", filtering.as_str(), api.as_str());
            group.bench_function(BenchmarkId::from_parameter(id), |b| {
                b.iter(|| {
                    let sent = runtime
                        .block_on(run_pipeline(
                            api,
                            lines.clone(),
                            filter.clone(),
                            PipelineConfig::default(),
                        ))
                        .expect("the null sink never fails");
                    assert!(sent > 0);
                    sent
                });
            });
        }
    }
    group.finish();
}

/// Short by default so that a full run takes minutes; pass criterion's own flags to change it.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = decode, stages, pipeline
}
criterion_main!(benches);
