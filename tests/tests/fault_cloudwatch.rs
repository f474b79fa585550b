//! CloudWatch faults under churn, through the strict proxy to a moto of this test's own:
//! throttling bursts, 500s and 503s, connections dropped before and after forwarding, answers
//! that time out after moto stored the events, a slow request carried out after the client
//! gave up, and a moto restart. Nothing is lost; a duplicate could only come from a request
//! stored after it timed out, and `already_stored` is asked before anything is resent: the
//! figures say how often it found the events there, and how many duplicates were left (0).
//!
//! moto keeps its data in memory, so what it holds is read back before the restart and the
//! union of both readings is counted.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use event_core::{EventStreamConfig, OccurrenceKey};
use sink_cloudwatch::CloudWatchSinkConfig;
use testkit::cloudwatch::{Fault, Limits};
use testkit::moto::Moto;
use testkit::{SimCluster, SimConfig};
use tests::fault::{Churn, Figures, keys, settle};
use tests::{Exporter, init_tracing};

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "fault_support/readback.rs"]
mod readback;

use readback::stored_in;

const GROUP: &str = "/ek-fault/cloudwatch";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_5xx_timeouts_and_a_moto_restart_lose_nothing_and_leave_no_duplicate() {
    init_tracing();
    let mut moto = Moto::start()
        .await
        .expect("moto starts (scripts/test.sh installs it)");
    let env = harness::env_at(&moto.endpoint(), Limits::default()).await;
    let sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(GROUP)
            .timeout_secs(1)
            .send_timeout_secs(5),
    );
    let stats = sink.stats();
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let churn = Churn::start(cluster.clone(), "cw", Duration::from_millis(30));

    // Each burst is served to the next PutLogEvents calls (the churn keeps them coming), and
    // the next one waits for a success: the pipeline retries one batch with a backoff that
    // doubles per failure, so long runs of failures would only make the test slow.
    let bursts: [(Fault, usize); 9] = [
        (Fault::Throttle, 3),
        (Fault::ServerError(500), 2),
        (Fault::ServerError(503), 2),
        (Fault::DropBeforeForward, 1),
        (Fault::TimeoutAfterForward(Duration::from_secs(3)), 1),
        (Fault::DropAfterForward, 1),
        (Fault::TimeoutAfterForward(Duration::from_secs(3)), 1),
        (Fault::DropAfterForward, 1),
        (Fault::Throttle, 3),
    ];
    let mut injected = 0;
    for (fault, times) in bursts {
        env.proxy.inject(fault, times);
        injected += times;
        tests::wait_until("the burst to be served", Duration::from_secs(30), || {
            env.proxy.pending_faults() == 0
        })
        .await;
        let stored = stats.events_stored();
        tests::wait_until("a success after the burst", Duration::from_secs(30), || {
            stats.events_stored() > stored
        })
        .await;
    }

    // A restart of moto, which comes back empty: the sink must create its group and streams
    // again. The proxy goes unreachable first, so that nothing lands between the read-back
    // and the restart; requests meanwhile fail and are retried.
    let made_before = keys(&churn.snapshot());
    settle(
        "CloudWatch to hold the events made before the restart",
        &made_before,
        true,
        Duration::from_secs(45),
        || stored_in(&env.moto, GROUP),
    )
    .await;
    env.proxy.set_unreachable(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_restart = stored_in(&env.moto, GROUP).await;
    moto.restart().await.expect("moto restarts");
    env.proxy.set_unreachable(false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let made = keys(&churn.stop().await);
    let held: std::collections::HashSet<_> = before_restart.iter().cloned().collect();
    let still_to_come: Vec<_> = made.iter().filter(|k| !held.contains(k)).cloned().collect();
    let after_restart = settle(
        "CloudWatch to hold the events not stored before the restart",
        &still_to_come,
        true,
        Duration::from_secs(45),
        || stored_in(&env.moto, GROUP),
    )
    .await;
    // Copies within one life of moto are duplicates. An event in both readings was held by
    // moto, lost with its restart and sent again: the request that stored it was cut before
    // its answer, and the new moto, asked, did not have it. That is a resend of lost data,
    // counted on its own.
    let first_life: std::collections::HashSet<_> = before_restart.iter().cloned().collect();
    let resent_after_restart = after_restart
        .iter()
        .filter(|k| first_life.contains(k))
        .count();
    let mut union = before_restart.clone();
    union.extend(
        after_restart
            .iter()
            .filter(|k| !first_life.contains(k))
            .cloned(),
    );
    let duplicated_within_a_life = Figures::count("", &before_restart, &made).duplicated
        + Figures::count("", &after_restart, &made).duplicated;

    let counters = exporter.metrics.sink("cloudwatch");
    let figures = Figures::count("cloudwatch_faults", &union, &made)
        .with("faults_injected", injected)
        .with("put_calls", stats.put_calls())
        .with("put_failures", stats.put_failures())
        .with("retried_batches", counters.retried.load(Ordering::Relaxed))
        .with("already_stored_lookups", stats.lookups())
        .with(
            "already_stored_skips",
            counters.already_stored.load(Ordering::Relaxed),
        )
        .with("moto_restarts", 1)
        .with("resent_after_restart", resent_after_restart)
        .with("held_before_restart", before_restart.len())
        .with("groups_created", stats.groups_created());
    figures.print().assert_clean();
    assert_eq!(duplicated_within_a_life, 0, "{}", figures.line());
    // The in-memory sink beside it saw the same events once each.
    let memory = Figures::count(
        "cloudwatch_faults_memory_sink",
        &exporter.sink.keys(),
        &made,
    );
    memory.print().assert_clean();

    assert!(
        stats.put_failures() >= injected as u64,
        "{}",
        figures.line()
    );
    assert!(
        stats.lookups() >= 1,
        "an uncertain request was checked, not resent"
    );
    assert!(
        counters.already_stored.load(Ordering::Relaxed) >= 1,
        "a timed-out request that was stored was found there"
    );
    assert!(stats.groups_created() >= 2, "the group was created again");
    env.assert_no_violations();
    exporter.stop().await;
}

/// The one window `already_stored` cannot close: a request the service carries out only
/// after the client gave up *and* after the pipeline asked what was stored. The figures say
/// how many of that batch's events ended up twice; nothing is lost either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_carried_out_after_the_client_gave_up_can_land_after_the_check() {
    init_tracing();
    let env = harness::env().await;
    let group = "/ek-fault/late-landing";
    let sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(group)
            .timeout_secs(1)
            .send_timeout_secs(5),
    );
    let stats = sink.stats();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let create = |tag: &str, n: usize| -> Vec<OccurrenceKey> {
        (0..n)
            .map(|i| {
                tests::key(
                    &cluster.create_event(
                        testkit::NewEvent::new("payments", "BackOff")
                            .regarding("Pod", format!("{tag}-{i}")),
                    ),
                )
            })
            .collect()
    };
    let mut made = create("warm-up", 3);
    settle("the warm-up", &made, true, Duration::from_secs(30), || {
        stored_in(&env.moto, group)
    })
    .await;
    // Held 1.5 s, then carried out: the sink times out after 1 s and the pipeline asks
    // moto (FilterLogEvents) what arrived while the request is still on its way.
    env.proxy
        .inject(Fault::Delay(Duration::from_millis(1500)), 1);
    let late = create("late", 5);
    made.extend(late.iter().cloned());
    settle(
        "the late batch",
        &made,
        true,
        Duration::from_secs(30),
        || stored_in(&env.moto, group),
    )
    .await;
    // Long enough for the held request to be carried out, whenever it comes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stored = stored_in(&env.moto, group).await;
    let figures = Figures::count("cloudwatch_late_landing", &stored, &made)
        .with("already_stored_lookups", stats.lookups())
        .with("put_failures", stats.put_failures());
    figures.print();
    assert!(figures.lost.is_empty(), "{}", figures.line());
    assert_eq!(figures.unexpected, 0, "{}", figures.line());
    assert!(stats.lookups() >= 1, "the uncertain request was checked");
    assert!(
        figures.duplicated <= late.len(),
        "only events of the late request can be twice: {}",
        figures.line()
    );
    exporter.stop().await;
}
