//! Two `eks_to_cloudwatch` processes against one simulated cluster, with leader election and the
//! ConfigMap checkpoint, as the Deployment in deploy/ runs them: exactly one exports; while
//! events are created and bumped without pause, the leader is killed with SIGKILL (the standby
//! takes over once the lease expires) or stopped with SIGTERM (it releases the Lease and the
//! standby takes over at its next poll), several times each, and every stopped replica comes
//! back as a new standby. The new leader resumes from the checkpoint each time, so no
//! occurrence is lost or stored twice in CloudWatch; the `figures` line counts them.

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "fault_support/readback.rs"]
mod readback;
#[path = "eks_to_cloudwatch_support/scenario.rs"]
mod scenario;

use std::sync::Arc;
use std::time::Duration;

use event_core::{Event, OccurrenceKey};
use scenario::Scenario;
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Churn, Figures, has_resume_point, keys, settle};
use tests::{assert_exactly_once, key};

const NAMESPACE: &str = "event-keeper";
const LEASE: &str = "ek-ha";
/// Short timings, so that the takeover happens within seconds.
const LEASE_DURATION: Duration = Duration::from_secs(2);
const RETRY_PERIOD: Duration = Duration::from_millis(200);

fn config(s: &Scenario) -> String {
    format!(
        "{}leader_election:\n  enabled: true\n  lease_name: {LEASE}\n  lease_duration_secs: {}\n  renew_deadline_secs: 1.5\n  retry_period_secs: {}\ncheckpoint:\n  store: configmap\n  name: ek-ha-checkpoint\n  interval_secs: 0.2\nsinks:\n{}server:\n  listen: 127.0.0.1:0\n",
        s.common(),
        LEASE_DURATION.as_secs(),
        RETRY_PERIOD.as_secs_f64(),
        s.cloudwatch_sink()
    )
}

async fn replica(s: &Scenario, name: &str) -> ExporterProcess {
    let env = [("POD_NAME", name), ("POD_NAMESPACE", NAMESPACE)];
    ExporterProcess::start(&config(s), &s.kubeconfig, &env).await
}

/// The Lease's holder, as the simulated API server stores it.
fn holder(cluster: &SimCluster) -> Option<String> {
    let lease = cluster.object("coordination.k8s.io/v1", "Lease", Some(NAMESPACE), LEASE)?;
    lease["spec"]["holderIdentity"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
}

fn create(s: &Scenario, batch: &str, n: usize) -> Vec<OccurrenceKey> {
    (0..n)
        .map(|i| {
            let ns = ["payments", "billing"][i % 2];
            key(&s.cluster.create_event(
                NewEvent::new(ns, "BackOff").regarding("Pod", format!("{batch}-{i}")),
            ))
        })
        .collect()
}

async fn sent(replica: &ExporterProcess) -> f64 {
    replica
        .metric("event_keeper_events_sent_total{sink=\"cloudwatch\"}")
        .await
        .unwrap_or(0.0)
}

/// Leader `kill -9`s in the fault run; as many SIGTERM handovers alternate with them.
const KILLS: usize = 4;
const HANDOVERS: usize = 4;
/// The ConfigMap both replicas keep the checkpoint in.
const CHECKPOINT: &str = "ek-ha-checkpoint";

/// The HA config of [`config`] for a cluster `name` writing through `proxy_endpoint`, for the
/// fault run, which needs the cluster shared with the churn.
fn fault_config(name: &str, proxy_endpoint: &str) -> String {
    format!(
        "cluster: {name}\n\
         pipeline:\n  max_batch_wait_secs: 0.1\n  shutdown_timeout_secs: 5\n  sink_timeout_secs: 20\n\
         log:\n  format: json\n  level: info\n\
         leader_election:\n  enabled: true\n  lease_name: {LEASE}\n  lease_duration_secs: {}\n  renew_deadline_secs: 1.5\n  retry_period_secs: {}\n\
         checkpoint:\n  store: configmap\n  name: {CHECKPOINT}\n  interval_secs: 0.2\n\
         sinks:\n\
         \x20 - type: cloudwatch\n    log_group: /event-keeper/{{cluster}}\n    log_stream: \"{{namespace}}\"\n\
         \x20   region: us-east-1\n    endpoint_url: {proxy_endpoint}\n    timeout_secs: 5\n    send_timeout_secs: 10\n\
         server:\n  listen: 127.0.0.1:0\n",
        LEASE_DURATION.as_secs(),
        RETRY_PERIOD.as_secs_f64(),
    )
}

/// Which of two replicas reports `event_keeper_leader 1`, failing the test if both do.
async fn leading(replicas: &[ExporterProcess; 2]) -> Option<usize> {
    let flags = [
        leader_metric(&replicas[0]).await == Some(1.0),
        leader_metric(&replicas[1]).await == Some(1.0),
    ];
    assert!(!(flags[0] && flags[1]), "two leaders at once");
    flags.iter().position(|&f| f)
}

/// Waits until one of the replicas leads, failing the test after `bound`; which one.
async fn any_leader(replicas: &[ExporterProcess; 2], bound: Duration) -> usize {
    let since = tokio::time::Instant::now();
    loop {
        if let Some(at) = leading(replicas).await {
            return at;
        }
        assert!(
            since.elapsed() < bound,
            "nobody leads after {bound:?}:\n{}\n{}",
            replicas[0].logs(),
            replicas[1].logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A replica of the fault run, as pod `name`.
async fn pod(config: &str, kubeconfig: &std::path::Path, name: &str) -> ExporterProcess {
    let env = [("POD_NAME", name), ("POD_NAMESPACE", NAMESPACE)];
    ExporterProcess::start(config, kubeconfig, &env).await
}

/// Waits until replica `at` leads, failing the test after `bound`; how long that took.
async fn wait_to_lead(
    replicas: &[ExporterProcess; 2],
    at: usize,
    since: tokio::time::Instant,
    bound: Duration,
) -> Duration {
    loop {
        if leading(replicas).await == Some(at) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < bound,
            "the standby did not take over within {bound:?}:\n{}",
            replicas[at].logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fault run of two replicas as the Deployment runs them: events created and their counts
/// bumped all the while; the leader is killed with SIGKILL (no release, no final checkpoint)
/// or stopped with SIGTERM (a rolling update's handover), by turns; each time the standby takes
/// over from the ConfigMap checkpoint and the stopped replica comes back as a new standby. At
/// the end CloudWatch (moto, through the strict proxy) holds every occurrence exactly once,
/// counted per occurrence key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_and_handovers_of_the_leader_under_churn_lose_and_duplicate_nothing() {
    let env = harness::env().await;
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let name = format!("e2e-ha-fault-{}", std::process::id());
    let group = format!("/event-keeper/{name}");
    let config = fault_config(&name, &env.proxy.endpoint());
    let mut started = 0;
    let mut next_pod = || {
        started += 1;
        format!("replica-{started}")
    };
    // One event before the first run, as a real cluster always has (see fault_kill.rs).
    let early = key(
        &cluster.create_event(NewEvent::new("payments", "Scheduled").regarding("Pod", "early"))
    );
    let mut pods = [next_pod(), next_pod()];
    let mut replicas = [
        pod(&config, &kubeconfig, &pods[0]).await,
        pod(&config, &kubeconfig, &pods[1]).await,
    ];
    let leader = any_leader(&replicas, Duration::from_secs(30)).await;
    let standby = replicas[1 - leader]
        .wait_for_readyz(200, Duration::from_secs(30))
        .await;
    assert!(standby.contains("leader-election: ready"), "{standby}");
    // The churn starts once the leader saved a resume point in the ConfigMap: every takeover
    // then resumes the watch instead of listing (a list would coalesce updates).
    tests::wait_until(
        "a checkpoint with a resume point in the ConfigMap",
        Duration::from_secs(30),
        || {
            cluster
                .object("v1", "ConfigMap", Some(NAMESPACE), CHECKPOINT)
                .and_then(|cm| cm["data"]["checkpoint.json"].as_str().map(has_resume_point))
                .unwrap_or(false)
        },
    )
    .await;
    let churn = Churn::start(cluster.clone(), "ha", Duration::from_millis(40));
    let began = tokio::time::Instant::now();
    let kill_bound = LEASE_DURATION + RETRY_PERIOD.mul_f64(2.2) + Duration::from_secs(2);
    let (mut kills, mut handovers) = (0usize, 0usize);
    let (mut slowest_after_kill, mut slowest_after_handover) = (Duration::ZERO, Duration::ZERO);
    for round in 0..KILLS + HANDOVERS {
        // Lifetimes from 0.8 to 2.5 s, spread without a random source.
        tokio::time::sleep(Duration::from_millis(800 + (round as u64 * 733) % 1700)).await;
        let leader = any_leader(&replicas, kill_bound).await;
        let other = 1 - leader;
        assert_eq!(holder(&cluster), Some(pods[leader].clone()));
        assert_eq!(
            sent(&replicas[other]).await,
            0.0,
            "a standby sends nothing:\n{}",
            replicas[other].logs()
        );
        let stopped = tokio::time::Instant::now();
        if round % 2 == 0 {
            // No release, no final checkpoint: the standby waits out the lease.
            replicas[leader].kill().await;
            let took = wait_to_lead(&replicas, other, stopped, kill_bound).await;
            assert!(
                took >= LEASE_DURATION - RETRY_PERIOD.mul_f64(2.2),
                "took over after {took:?}, before the killed leader's lease could have expired"
            );
            slowest_after_kill = slowest_after_kill.max(took);
            kills += 1;
        } else {
            // Drain, final checkpoint, release: the standby takes over at its next poll.
            replicas[leader].terminate();
            let status = replicas[leader].wait(Duration::from_secs(20)).await;
            assert!(status.success(), "{status}\n{}", replicas[leader].logs());
            assert!(
                replicas[leader].logs().contains("leadership released"),
                "{}",
                replicas[leader].logs()
            );
            let took = wait_to_lead(&replicas, other, stopped, kill_bound).await;
            slowest_after_handover = slowest_after_handover.max(took);
            handovers += 1;
        }
        // The stopped pod is replaced by a new one, a standby.
        pods[leader] = next_pod();
        replicas[leader] = pod(&config, &kubeconfig, &pods[leader]).await;
        replicas[leader]
            .wait_for_readyz(200, Duration::from_secs(30))
            .await;
    }
    let faulting = began.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut made = vec![early];
    made.extend(keys(&churn.stop().await));
    let stored = settle(
        "CloudWatch to hold every occurrence",
        &made,
        true,
        Duration::from_secs(60),
        || readback::stored_in(&env.moto, &group),
    )
    .await;
    let skips = {
        let series = "event_keeper_events_already_stored_total{sink=\"cloudwatch\"}";
        replicas[0].metric(series).await.unwrap_or(0.0)
            + replicas[1].metric(series).await.unwrap_or(0.0)
    };
    let figures = Figures::count("ha_kill_9_and_handovers", &stored, &made)
        .with("kills", kills)
        .with("handovers", handovers)
        .with("replicas_started", started)
        .with(
            "slowest_takeover_ms_after_kill",
            slowest_after_kill.as_millis(),
        )
        .with(
            "slowest_takeover_ms_after_handover",
            slowest_after_handover.as_millis(),
        )
        .with("already_stored_skips_last_runs", skips as u64)
        .with("seconds", faulting.as_secs());
    figures.print().assert_clean();
    assert_eq!(kills, KILLS);
    assert_eq!(handovers, HANDOVERS);

    // A graceful stop of both releases the Lease after the final checkpoint.
    for replica in &mut replicas {
        replica.terminate();
        let status = replica.wait(Duration::from_secs(20)).await;
        assert!(status.success(), "{status}\n{}", replica.logs());
    }
    assert_eq!(holder(&cluster), None, "released on SIGTERM");
    env.assert_no_violations();
}

async fn leader_metric(replica: &ExporterProcess) -> Option<f64> {
    replica.metric("event_keeper_leader").await
}

#[tokio::test]
async fn a_leader_that_cannot_renew_stops_at_once_stands_by_ready_and_nothing_is_lost() {
    let s = Scenario::start("e2e-ha-loss").await;
    let a = replica(&s, "replica-a").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while leader_metric(&a).await != Some(1.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replica-a never led:\n{}",
            a.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b = replica(&s, "replica-b").await;
    b.wait_for_readyz(200, Duration::from_secs(30)).await;
    let before = create(&s, "before", 6);
    s.wait_for_cloudwatch(&before).await;

    // The API server answers 503 to everyone: the leader cannot renew, so it must give up
    // within the renew deadline, and nobody can take over until the server is back.
    s.cluster.set_unavailable(true);
    let during = create(&s, "during", 6);
    let outage = tokio::time::Instant::now();
    while !a
        .logs()
        .contains("leadership lost: the pipeline stopped without draining")
    {
        assert!(
            outage.elapsed() < Duration::from_secs(10),
            "replica-a kept leading without renewals:\n{}",
            a.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !a.logs().contains("draining sink queues"),
        "a deposed leader drops its pipeline, it does not drain it:\n{}",
        a.logs()
    );
    assert_eq!(leader_metric(&a).await, Some(0.0));
    assert_eq!(leader_metric(&b).await, Some(0.0));
    let standby = a.wait_for_readyz(200, Duration::from_secs(5)).await;
    assert!(standby.contains("leader-election: ready"), "{standby}");
    assert!(
        !standby.contains("events@"),
        "a standby does not list the watches it stopped: {standby}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.cluster.set_unavailable(false);

    // One of them leads again and resumes from the checkpoint.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let leaders = [leader_metric(&a).await, leader_metric(&b).await];
        assert_ne!(leaders, [Some(1.0), Some(1.0)], "two leaders at once");
        if leaders.contains(&Some(1.0)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "nobody leads again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = create(&s, "after", 6);
    let expected: Vec<OccurrenceKey> = [before, during, after].concat();
    let stored = s.wait_for_cloudwatch(&expected).await;
    let keys: Vec<OccurrenceKey> = stored.iter().map(Event::key).collect();
    assert_exactly_once(&keys, &expected);
    let leaders = [leader_metric(&a).await, leader_metric(&b).await];
    assert_eq!(
        leaders.iter().filter(|l| **l == Some(1.0)).count(),
        1,
        "{leaders:?}"
    );
    s.cloudwatch.assert_no_violations();
}
