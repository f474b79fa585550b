//! Two `eks_to_cloudwatch` processes against one simulated cluster, with leader election and the
//! ConfigMap checkpoint, as the Deployment in deploy/ runs them: exactly one exports; when the
//! leader is killed with SIGKILL the standby takes over within the lease duration and resumes
//! from the checkpoint, so no occurrence is lost or stored twice in CloudWatch.

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "eks_to_cloudwatch_support/scenario.rs"]
mod scenario;

use std::time::Duration;

use event_core::{Event, OccurrenceKey};
use scenario::Scenario;
use testkit::NewEvent;
use tests::binary::ExporterProcess;
use tests::{assert_exactly_once, key, tally};

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
fn holder(s: &Scenario) -> Option<String> {
    let lease = s
        .cluster
        .object("coordination.k8s.io/v1", "Lease", Some(NAMESPACE), LEASE)?;
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

#[tokio::test]
async fn one_replica_exports_and_the_standby_takes_over_after_a_kill_without_loss_or_duplicates() {
    let s = Scenario::start("e2e-ha").await;
    let mut a = replica(&s, "replica-a").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while a.metric("event_keeper_leader").await != Some(1.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replica-a never led:\n{}",
            a.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.wait_for_readyz(200, Duration::from_secs(30)).await;
    let b = replica(&s, "replica-b").await;
    let standby = b.wait_for_readyz(200, Duration::from_secs(30)).await;
    assert!(standby.contains("leader-election: ready"), "{standby}");
    assert_eq!(
        b.metric("event_keeper_leader").await,
        Some(0.0),
        "a standby reports leader 0"
    );
    assert_eq!(holder(&s).as_deref(), Some("replica-a"));

    // Only the leader exports.
    let first = create(&s, "first", 10);
    s.wait_for_cloudwatch(&first).await;
    assert_eq!(sent(&a).await, 10.0);
    assert_eq!(
        sent(&b).await,
        0.0,
        "the standby sent nothing:\n{}",
        b.logs()
    );

    // More events, and the leader dies while (or just after) exporting them: no release, no
    // final checkpoint.
    let second = create(&s, "second", 10);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let killed = tokio::time::Instant::now();
    a.kill().await;

    let bound = LEASE_DURATION + RETRY_PERIOD.mul_f64(2.2) + Duration::from_secs(2);
    while b.metric("event_keeper_leader").await != Some(1.0) {
        assert!(
            killed.elapsed() < bound,
            "replica-b did not take over within {bound:?}:\n{}",
            b.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took_over = killed.elapsed();
    assert_eq!(holder(&s).as_deref(), Some("replica-b"));
    assert!(
        took_over >= LEASE_DURATION - RETRY_PERIOD.mul_f64(2.2),
        "took over after {took_over:?}, before the killed leader's lease could have expired"
    );
    b.wait_for_readyz(200, Duration::from_secs(30)).await;

    let third = create(&s, "third", 10);
    let expected: Vec<OccurrenceKey> = [first, second, third].concat();
    let stored = s.wait_for_cloudwatch(&expected).await;
    let keys: Vec<OccurrenceKey> = stored.iter().map(Event::key).collect();
    let counts = tally(&keys);
    assert!(
        counts.values().all(|&n| n == 1),
        "stored twice: {:?}",
        counts.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_exactly_once(&keys, &expected);

    // A graceful stop releases the Lease after the final checkpoint.
    let mut b = b;
    b.terminate();
    assert!(
        b.wait(Duration::from_secs(10)).await.success(),
        "{}",
        b.logs()
    );
    assert_eq!(holder(&s), None, "released on SIGTERM");
    assert!(b.logs().contains("leadership released"), "{}", b.logs());
    s.cloudwatch.assert_no_violations();
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
