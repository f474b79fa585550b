//! One watched scope (all namespaces, or one): the state shared by the resume and relist steps.

use std::sync::Arc;

use kube::{Api, ResourceExt};
use tokio::sync::mpsc;

use super::kind::WatchedKind;
use super::stream::{EventStreamConfig, WatchError};
use crate::Tracked;
use crate::checkpoint::{Ledger, Phase};
use crate::metrics::Metrics;

/// The consumer dropped the stream: stop watching.
pub(super) struct Stopped;

pub(super) struct Scope<K> {
    pub(super) api: Api<K>,
    pub(super) key: Arc<str>,
    pub(super) config: Arc<EventStreamConfig>,
    pub(super) ledger: Ledger,
    pub(super) metrics: Metrics,
    pub(super) tx: mpsc::Sender<Result<Tracked, WatchError>>,
}

/// What a relist should report: events changed after this resourceVersion were changed in a gap
/// the watch could not replay.
pub(super) type GapStart = Option<u64>;

impl<K: WatchedKind> Scope<K> {
    pub(super) async fn run(self) {
        let gap = match self.ledger.resume_point(&self.key) {
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
    pub(super) async fn apply(&self, obj: &K, phase: Phase) -> Result<bool, Stopped> {
        self.progress();
        let event = match obj.normalize() {
            Ok(event) => event,
            Err(source) => {
                self.metrics.add_malformed(1);
                self.note_rv(obj, phase);
                return self
                    .report(WatchError::Malformed {
                        scope: self.key.to_string(),
                        source,
                    })
                    .await
                    .map(|()| false);
            }
        };
        let Ok(rv) = event.resource_version.parse::<u64>() else {
            // Every etcd-backed API server uses integers; without one we cannot order
            // occurrences, so export it untracked rather than risk losing it.
            tracing::warn!(event.uid = %event.uid, event.rv = %event.resource_version,
                "non-numeric resourceVersion; exporting without checkpoint tracking");
            self.metrics.add_received(1);
            return self.send(Tracked::new(event, None)).await.map(|()| true);
        };
        match self
            .ledger
            .offer(&self.key, phase, &event.uid, rv, event.last_seen)
        {
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

    /// Records a deletion: nothing is exported, the ledger may forget the event.
    pub(super) fn delete(&self, obj: &K) {
        self.progress();
        let rv = obj.resource_version().and_then(|rv| rv.parse::<u64>().ok());
        match (obj.uid(), rv) {
            (Some(uid), Some(rv)) => self.ledger.deleted(&self.key, &uid, rv),
            (None, Some(rv)) => self.ledger.observe(&self.key, Phase::Watch, rv),
            _ => {}
        }
    }

    pub(super) fn bookmark(&self, rv: &str) {
        self.progress();
        if let Ok(rv) = rv.parse::<u64>() {
            self.ledger.observe(&self.key, Phase::Watch, rv);
        }
    }

    fn note_rv(&self, obj: &K, phase: Phase) {
        if let Some(rv) = obj.resource_version().and_then(|rv| rv.parse::<u64>().ok()) {
            self.ledger.observe(&self.key, phase, rv);
        }
    }

    fn progress(&self) {
        self.metrics
            .watch_progress(jiff::Timestamp::now().as_second());
    }

    async fn send(&self, item: Tracked) -> Result<(), Stopped> {
        let item = item.counted_in(&self.metrics);
        self.tx.send(Ok(item)).await.map_err(|_| Stopped)
    }

    /// Hands an error to the consumer (to log and count); the watch goes on.
    pub(super) async fn report(&self, error: WatchError) -> Result<(), Stopped> {
        if !matches!(error, WatchError::Malformed { .. }) {
            self.metrics.add_watch_errors(1);
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
            Some(403) => {
                "; the service account may not list/watch events: grant get, list and watch on events (see deploy/rbac.yaml)"
            }
            _ => "",
        };
        WatchError::Watch {
            scope: self.key.to_string(),
            hint,
            source: Box::new(source),
        }
    }
}

/// The HTTP status of a kube client error, when the API server answered one.
pub(super) fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
