//! One watched scope (one kind, in all namespaces or in one): the state shared by the resume
//! and relist steps.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kube::{Api, Resource, ResourceExt};
use tokio::sync::mpsc;

use super::kind::WatchedKind;
use super::known::KnownObjects;
use super::lenient::Lenient;
use super::{EventStreamConfig, WatchError};
use crate::Tracked;
use crate::checkpoint::{Ledger, Phase};
use crate::event::Change;
use crate::event::change::GoneObject;
use crate::health::Health;
use crate::metrics::Metrics;

/// The consumer dropped the stream: stop watching.
pub(super) struct Stopped;

/// What a notification said about an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// A watch's ADDED.
    Added,
    /// A watch's MODIFIED.
    Modified,
    /// An item of a list, or a change from kube-rs's watcher, which does not tell an addition
    /// from a modification.
    Applied,
}

/// Label and field selectors of one scope's requests.
#[derive(Clone, Debug, Default)]
pub(super) struct Selectors {
    pub(super) labels: Option<String>,
    pub(super) fields: Option<String>,
}

pub(super) struct Scope<K> {
    pub(super) api: Api<Lenient<K>>,
    pub(super) key: Arc<str>,
    pub(super) config: Arc<EventStreamConfig>,
    pub(super) selectors: Selectors,
    pub(super) ledger: Ledger,
    pub(super) metrics: Metrics,
    pub(super) health: Health,
    pub(super) tx: mpsc::Sender<Result<Tracked, WatchError>>,
    /// Object kinds: the objects this scope has seen exist in this run, which tell a listed
    /// object already known (`Modified`) from a new one (`Added`) while its first occurrence may
    /// still be in flight, and after the ledger stopped tracking it one by one; and which
    /// objects a relist no longer shows.
    pub(super) known: Mutex<KnownObjects>,
}

/// What a relist should report: events changed after this resourceVersion were changed in a gap
/// the watch could not replay.
pub(super) type GapStart = Option<u64>;

impl<K: WatchedKind> Scope<K> {
    pub(super) async fn run(self) {
        let resume = match self.trusted_resume_point().await {
            Ok(resume) => resume,
            Err(Stopped) => return,
        };
        let gap = match resume {
            Some(rv) => match self.resume_from(rv).await {
                Ok(gap) => gap,
                Err(Stopped) => return,
            },
            None => None,
        };
        // Returns only when the consumer is gone.
        let _ = self.list_and_watch(gap).await;
    }

    /// Offers an added or modified object; sends it on when it is a new occurrence.
    pub(super) async fn apply(
        &self,
        obj: Lenient<K>,
        phase: Phase,
        seen: Seen,
    ) -> Result<bool, Stopped> {
        self.progress();
        let change = self.change_of(&obj, seen);
        let rv = version_of(&obj);
        // A list returns objects in the order of this key: the ledger keeps its progress by it.
        let listed = (phase == Phase::List).then(|| list_key(obj.meta()));
        match self.normalize(obj, change) {
            Ok(event) => self.offer(event, (phase, listed.as_deref())).await,
            Err(error) => self.malformed(rv, phase, error).await.map(|()| false),
        }
    }

    /// Records a deletion. An Event's deletion is its TTL expiring: nothing is exported and the
    /// ledger may forget it. An object's deletion is an occurrence of its own, at the deletion's
    /// resourceVersion, exported as `Deleted`.
    pub(super) async fn delete(&self, obj: Lenient<K>) -> Result<(), Stopped> {
        self.progress();
        let rv = version_of(&obj);
        let uid = obj.uid();
        if K::OBJECT_CHANGES {
            if let Some(uid) = &uid {
                self.known_objects().forget(uid);
            }
            match self.normalize(obj, Change::Deleted) {
                Ok(event) => {
                    self.offer(event, (Phase::Watch, None)).await?;
                }
                Err(error) => return self.malformed(rv, Phase::Watch, error).await,
            }
        }
        match (uid, rv) {
            (Some(uid), Some(rv)) => self.ledger.deleted(&self.key, &uid, rv),
            (None, Some(rv)) => self.ledger.observe(&self.key, Phase::Watch, rv),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn bookmark(&self, rv: &str) {
        self.progress();
        if let Ok(rv) = rv.parse::<u64>() {
            self.ledger.observe(&self.key, Phase::Watch, rv);
        }
    }

    /// The watch is established: a list completed, or a resumed watch connected.
    pub(super) fn established(&self) {
        self.metrics.add_established(1);
        self.health.established(&self.key);
    }

    /// Ends a list of an object kind: every object this run had seen that the list no longer
    /// shows was deleted while the watch could not follow, and is exported as `Deleted` once.
    /// Call before the ledger's `end_list`, while the list's versions still bound the deletions'.
    pub(super) async fn report_gone(&self) -> Result<(), Stopped> {
        if !K::OBJECT_CHANGES {
            return Ok(());
        }
        let gone = self.known_objects().end_list();
        if gone.is_empty() {
            return Ok(());
        }
        let (kind, api_version) = (K::kind(&()), K::api_version(&()));
        let count = gone.len() as u64;
        for (uid, known) in gone {
            let resource_version = self
                .ledger
                .gone_in_list_version(&self.key, known.resource_version);
            let event = crate::Event::gone_in_gap(GoneObject {
                kind: &kind,
                api_version: &api_version,
                uid,
                name: &known.name,
                namespace: known.namespace.as_deref(),
                created: known.created,
                last_seen_version: known.resource_version,
                resource_version,
            });
            self.offer(event, (Phase::List, None)).await?;
        }
        self.metrics.add_deleted_in_gap(count);
        tracing::warn!(
            scope = %self.key,
            objects = count,
            "objects deleted while the watch could not resume; each was exported once as Deleted, found absent from the relist"
        );
        Ok(())
    }

    /// Decides the reason of an object's change and remembers that it exists.
    ///
    /// A watch says ADDED or MODIFIED. A list or kube-rs's watcher does not: an object whose
    /// uid this run has seen, or whose occurrence the ledger holds as exported, is `Modified`,
    /// any other `Added`. After a restart that had to relist (410 Gone), the ledger may no
    /// longer track an object that changed during the gap one by one (its resume point stands
    /// for it), and the change is reported as `Added`.
    fn change_of(&self, obj: &Lenient<K>, seen: Seen) -> Change {
        if !K::OBJECT_CHANGES {
            return Change::Modified;
        }
        let Some(uid) = obj.uid() else {
            return match seen {
                Seen::Modified => Change::Modified,
                Seen::Added | Seen::Applied => Change::Added,
            };
        };
        let seen_before = self.known_objects().saw(&uid, obj.meta());
        match seen {
            Seen::Added => Change::Added,
            Seen::Modified => Change::Modified,
            Seen::Applied if seen_before || self.ledger.exported_version(&uid).is_some() => {
                Change::Modified
            }
            Seen::Applied => Change::Added,
        }
    }

    pub(super) fn known_objects(&self) -> std::sync::MutexGuard<'_, KnownObjects> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Offers an occurrence; `listed` is its key when the list under way offers it in order.
    async fn offer(
        &self,
        mut event: crate::Event,
        (phase, listed): (Phase, Option<&str>),
    ) -> Result<bool, Stopped> {
        if event.cluster.is_none() {
            event.cluster.clone_from(&self.config.cluster);
        }
        let Ok(rv) = event.resource_version.parse::<u64>() else {
            // Every etcd-backed API server uses integers; without one we cannot order
            // occurrences, so export it untracked rather than risk losing it.
            tracing::warn!(event.uid = %event.uid, event.rv = %event.resource_version,
                "non-numeric resourceVersion; exporting without checkpoint tracking");
            self.metrics.add_received(1);
            return self.send(Tracked::new(event, None)).await.map(|()| true);
        };
        // An Event expires an hour after it was last seen, so the ledger may forget it a while
        // after; an object lives as long as it likes, so count from when it was seen changing.
        let seen = if K::OBJECT_CHANGES {
            Timestamp::now()
        } else {
            event.last_seen
        };
        let ticket = match listed {
            Some(key) => self
                .ledger
                .offer_listed(&self.key, key, &event.uid, rv, seen),
            None => self.ledger.offer(&self.key, phase, &event.uid, rv, seen),
        };
        match ticket {
            Some(ticket) => {
                self.metrics.add_received(1);
                self.send(Tracked::new(event, Some(ticket)))
                    .await
                    .map(|()| true)
            }
            None => {
                tracing::trace!(event.uid = %event.uid, event.rv = rv, "already exported; skipped");
                Ok(false)
            }
        }
    }

    /// The occurrence of an object, or the error to report when it did not decode as its kind
    /// or cannot be identified.
    fn normalize(&self, obj: Lenient<K>, change: Change) -> Result<crate::Event, WatchError> {
        let scope = || self.key.to_string();
        match obj.into_decoded() {
            Ok(decoded) => decoded
                .into_event(change)
                .map_err(|source| WatchError::Malformed {
                    scope: scope(),
                    source,
                }),
            Err(source) => Err(WatchError::Undecodable {
                scope: scope(),
                source,
            }),
        }
    }

    /// Skips an object that is not a usable occurrence: counted as malformed, its
    /// resourceVersion `rv` (when readable) still moves the resume point past it.
    async fn malformed(
        &self,
        rv: Option<u64>,
        phase: Phase,
        error: WatchError,
    ) -> Result<(), Stopped> {
        self.metrics.add_malformed(1);
        if let Some(rv) = rv {
            self.ledger.observe(&self.key, phase, rv);
        }
        self.report(error).await
    }

    fn progress(&self) {
        self.metrics.watch_progress(Timestamp::now().as_second());
    }

    async fn send(&self, item: Tracked) -> Result<(), Stopped> {
        let item = item.counted_in(&self.metrics);
        self.tx.send(Ok(item)).await.map_err(|_| Stopped)
    }

    /// Hands an error to the consumer (to log and count); the watch goes on.
    pub(super) async fn report(&self, error: WatchError) -> Result<(), Stopped> {
        // A skipped object is not a failing watch: the list or watch it came in goes on.
        if !matches!(
            error,
            WatchError::Malformed { .. } | WatchError::Undecodable { .. }
        ) {
            self.metrics.add_watch_errors(1);
            self.health.failed(&self.key, &error);
        }
        self.tx.send(Err(error)).await.map_err(|_| Stopped)
    }

    pub(super) fn watch_error(
        &self,
        source: impl std::error::Error + Send + Sync + 'static,
        code: Option<u16>,
    ) -> WatchError {
        let hint = match code {
            Some(401) => {
                "; the credentials were refused: check the kubeconfig or service account token"
            }
            Some(403) => K::FORBIDDEN_HINT,
            _ => "",
        };
        WatchError::Watch {
            scope: self.key.to_string(),
            hint,
            source: Box::new(source),
        }
    }
}

/// An object's resourceVersion as the number etcd-backed API servers write; `None` when it has
/// none or another.
pub(super) fn version_of<K: Resource>(obj: &K) -> Option<u64> {
    obj.meta()
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse::<u64>().ok())
}

/// The HTTP status of a kube client error, when the API server answered one.
pub(super) fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The key a list orders objects by: `namespace/name`, or `name` for a cluster-scoped object.
fn list_key(meta: &kube::api::ObjectMeta) -> String {
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}
