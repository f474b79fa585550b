//! Leader election against the simulated API server: one leader at a time, a prompt handover
//! on release, a takeover only after expiry when the leader dies, and a leader cut off from the
//! API giving up within its renew deadline.

use std::time::Duration;

use event_leader::{LeaderElectionConfig, LeaderElector, LeaderError, Leadership};
use testkit::{SimCluster, SimConfig};
use tests::{init_tracing, wait_until, within};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const LEASE: &str = "event-keeper";
const LEASE_DURATION: Duration = Duration::from_secs(2);
const RENEW_DEADLINE: Duration = Duration::from_secs(1);
const RETRY_PERIOD: Duration = Duration::from_millis(200);

fn elector(cluster: &SimCluster, identity: &str) -> LeaderElector {
    let config = LeaderElectionConfig::new(LEASE)
        .identity(identity)
        .lease_duration(LEASE_DURATION)
        .renew_deadline(RENEW_DEADLINE)
        .retry_period(RETRY_PERIOD);
    LeaderElector::new(cluster.client(), config).expect("valid config")
}

/// `spec.<field>` of the Lease as the server stores it.
fn lease_field(cluster: &SimCluster, field: &str) -> Option<String> {
    let lease = cluster.object("coordination.k8s.io/v1", "Lease", Some("default"), LEASE)?;
    let value = &lease["spec"][field];
    value
        .as_str()
        .map(str::to_owned)
        .or_else(|| value.as_i64().map(|n| n.to_string()))
}

fn holder(cluster: &SimCluster) -> Option<String> {
    lease_field(cluster, "holderIdentity").filter(|h| !h.is_empty())
}

/// A candidate standing for leadership in the background.
fn stand(elector: LeaderElector) -> JoinHandle<Result<Leadership, LeaderError>> {
    tokio::spawn(async move { elector.acquire(&CancellationToken::new()).await })
}

async fn lead(cluster: &SimCluster, identity: &str) -> Leadership {
    within(
        "the first candidate to lead",
        Duration::from_secs(5),
        elector(cluster, identity).acquire(&CancellationToken::new()),
    )
    .await
    .expect("acquired")
}

/// Lets the standby poll a few times, so that it has observed the leader renewing.
async fn settle() {
    tokio::time::sleep(LEASE_DURATION + RETRY_PERIOD * 3).await;
}

#[tokio::test]
async fn of_two_candidates_exactly_one_leads_at_any_time() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let a = stand(elector(&cluster, "pod-a"));
    let b = stand(elector(&cluster, "pod-b"));
    wait_until("a leader", Duration::from_secs(5), || {
        a.is_finished() || b.is_finished()
    })
    .await;
    // Well past the lease duration: the leader keeps renewing, the other keeps standing by.
    let deadline = Instant::now() + LEASE_DURATION * 2;
    while Instant::now() < deadline {
        assert!(
            a.is_finished() ^ b.is_finished(),
            "exactly one candidate leads"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (leader, standby) = if a.is_finished() { (a, b) } else { (b, a) };
    let leadership = leader.await.unwrap().unwrap();
    assert!(leadership.is_leader());
    assert_eq!(holder(&cluster).as_deref(), Some(leadership.identity()));
    assert_eq!(
        lease_field(&cluster, "leaseDurationSeconds").as_deref(),
        Some("2")
    );
    assert_eq!(
        lease_field(&cluster, "leaseTransitions").as_deref(),
        Some("0")
    );
    assert!(!standby.is_finished());
    standby.abort();
}

#[tokio::test]
async fn a_released_lease_goes_to_the_standby_at_once() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let leader = lead(&cluster, "pod-a").await;
    let lost = leader.lost();
    let standby = stand(elector(&cluster, "pod-b"));
    settle().await;
    assert!(!standby.is_finished());

    let released = Instant::now();
    leader.release().await.unwrap();
    assert!(lost.is_cancelled());
    let next = within("the standby to take over", LEASE_DURATION, standby)
        .await
        .unwrap()
        .unwrap();
    let handover = released.elapsed();
    assert!(
        handover < RETRY_PERIOD * 5,
        "took over after {handover:?}, not at its next poll"
    );
    assert_eq!(holder(&cluster).as_deref(), Some("pod-b"));
    assert_eq!(
        lease_field(&cluster, "leaseTransitions").as_deref(),
        Some("1")
    );
    assert!(next.is_leader());
}

#[tokio::test]
async fn a_killed_leader_is_replaced_only_once_its_lease_expires() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let leader = lead(&cluster, "pod-a").await;
    let standby = stand(elector(&cluster, "pod-b"));
    settle().await;

    // Killed: no release, no more renewals.
    let killed = Instant::now();
    drop(leader);
    let next = within(
        "the standby to take over an expired lease",
        LEASE_DURATION * 3,
        standby,
    )
    .await
    .unwrap()
    .unwrap();
    let waited = killed.elapsed();
    // The last renewal was at most one retry period before the kill.
    assert!(
        waited >= LEASE_DURATION - RETRY_PERIOD,
        "took over after {waited:?}, before the lease could expire"
    );
    assert!(waited < LEASE_DURATION * 2, "took over after {waited:?}");
    assert!(next.is_leader());
    assert_eq!(holder(&cluster).as_deref(), Some("pod-b"));
    assert_eq!(
        lease_field(&cluster, "leaseTransitions").as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn an_abandoned_lease_is_taken_a_lease_duration_after_first_seen_whatever_its_timestamps() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    // Held by a pod whose clock is far behind: renewTime says it expired long ago. Only our
    // own observation may count.
    let ghost = r#"{"metadata":{"name":"event-keeper","namespace":"default"},
        "spec":{"holderIdentity":"ghost","leaseDurationSeconds":2,"leaseTransitions":4,
        "acquireTime":"2001-01-01T00:00:00.000000Z","renewTime":"2001-01-01T00:00:00.000000Z"}}"#;
    cluster
        .apply_object("coordination.k8s.io/v1", "Lease", ghost.parse().unwrap())
        .unwrap();
    let started = Instant::now();
    let leadership = within(
        "the takeover",
        LEASE_DURATION * 3,
        elector(&cluster, "pod-b").acquire(&CancellationToken::new()),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() >= LEASE_DURATION,
        "took over after {:?}",
        started.elapsed()
    );
    assert!(leadership.is_leader());
    assert_eq!(holder(&cluster).as_deref(), Some("pod-b"));
    assert_eq!(
        lease_field(&cluster, "leaseTransitions").as_deref(),
        Some("5")
    );
}

async fn assert_gives_up_within_the_renew_deadline(cluster: &SimCluster, leader: &Leadership) {
    let cut = Instant::now();
    within(
        "the leader to give up",
        RENEW_DEADLINE * 3,
        leader.lost().cancelled(),
    )
    .await;
    let after = cut.elapsed();
    assert!(
        after <= RENEW_DEADLINE + Duration::from_millis(500),
        "gave up after {after:?}"
    );
    assert!(
        after >= RENEW_DEADLINE - RETRY_PERIOD * 2,
        "gave up after {after:?}, at the first failed renewal"
    );
    assert!(!leader.is_leader());
    // It never released the lease: the others must wait for it to expire.
    assert_eq!(holder(cluster).as_deref(), Some("pod-a"));
}

#[tokio::test]
async fn a_leader_cut_off_from_the_api_gives_up_within_its_renew_deadline() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let leader = lead(&cluster, "pod-a").await;
    tokio::time::sleep(RETRY_PERIOD * 3).await;
    cluster.stop().await;
    assert_gives_up_within_the_renew_deadline(&cluster, &leader).await;
    cluster.restart().await;
    // Once lost, a release writes nothing.
    leader.release().await.unwrap();
    assert_eq!(holder(&cluster).as_deref(), Some("pod-a"));
}

#[tokio::test]
async fn a_leader_facing_an_unavailable_api_gives_up_within_its_renew_deadline() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let leader = lead(&cluster, "pod-a").await;
    let state = leader.watch();
    tokio::time::sleep(RETRY_PERIOD * 3).await;
    // kube-rs retries 503s with backoff; the renew deadline must cut those retries off.
    cluster.set_unavailable(true);
    assert_gives_up_within_the_renew_deadline(&cluster, &leader).await;
    assert!(!*state.borrow());
    cluster.set_unavailable(false);

    // Standing again (as a restarted pod would): the Lease still names it, so it continues
    // its own claim at once.
    let again = within(
        "leadership again",
        LEASE_DURATION * 3,
        elector(&cluster, "pod-a").acquire(&CancellationToken::new()),
    )
    .await
    .unwrap();
    assert!(again.is_leader());
}

#[tokio::test]
async fn shutdown_while_standing_by_ends_the_wait() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let _leader = lead(&cluster, "pod-a").await;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RETRY_PERIOD * 3).await;
        trigger.cancel();
    });
    let b = elector(&cluster, "pod-b");
    let err = within(
        "the wait to end",
        Duration::from_secs(2),
        b.acquire(&shutdown),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LeaderError::Shutdown { .. }), "{err}");
}
