//! Before resuming: is the saved resume point ahead of the cluster?
//!
//! A real API server answers a watch from a resourceVersion it has not reached with a silent
//! 200 (no event, no BOOKMARK, no ERROR) until the watch times out, and a list at it with a 504
//! after about 3 s; nothing tells a resuming watch that its checkpoint comes from a history the
//! cluster no longer has (an etcd restore, a rebuilt cluster, another cluster's checkpoint, a
//! hand edit). So each scope with a saved resume point first reads the collection's current
//! resourceVersion with a quorum list of one item (no `resourceVersion` parameter: served from
//! etcd) and compares. At or below it: resume as before, the list being the only extra cost
//! (one small request per scope at start). Above it: warn, count, and relist from scratch
//! (see [`Ledger::distrust_ahead`](crate::checkpoint::Ledger)).

use kube::api::ListParams;

use super::kind::WatchedKind;
use super::scope::{Scope, Stopped, status_code};
use crate::retry::Backoff;

impl<K: WatchedKind> Scope<K> {
    /// The resume point to watch from: the saved one when the cluster has reached it, `None`
    /// (relist) when there is none or it is ahead of the cluster. Retries the comparison with
    /// backoff while the API server does not answer.
    pub(super) async fn trusted_resume_point(&self) -> Result<Option<u64>, Stopped> {
        let Some(saved) = self.ledger.saved_point(&self.key) else {
            return Ok(None);
        };
        let mut backoff = Backoff::watch();
        let current = loop {
            match self.current_version().await {
                Ok(current) => break current,
                Err(e) => {
                    let code = status_code(&e);
                    self.report(self.watch_error(e, code)).await?;
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        };
        match current {
            Some(current) if saved > current => {
                self.metrics.add_checkpoint_ahead(1);
                let dropped = self.ledger.distrust_ahead(&self.key, current);
                tracing::warn!(
                    scope = %self.key,
                    checkpoint_resource_version = saved,
                    cluster_resource_version = current,
                    checkpoint_events_dropped = dropped,
                    "the checkpoint's resume point is ahead of the cluster's current resourceVersion: etcd was restored from a backup, the cluster was rebuilt, or the checkpoint comes from another cluster or was edited by hand. A watch from it would wait in silence; relisting instead: every event in the cluster is exported unless the checkpoint holds that very occurrence (same uid and resourceVersion)"
                );
                Ok(None)
            }
            Some(_) => Ok(self.ledger.resume_point(&self.key)),
            None => {
                // Not an etcd-backed server: versions cannot be compared, so resume as before.
                tracing::debug!(scope = %self.key, "the list carried no numeric resourceVersion; resuming without comparing");
                Ok(self.ledger.resume_point(&self.key))
            }
        }
    }

    /// The collection's current resourceVersion, from a quorum list of at most one item.
    async fn current_version(&self) -> Result<Option<u64>, kube::Error> {
        let list = self.api.list(&ListParams::default().limit(1)).await?;
        Ok(list
            .metadata
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse().ok()))
    }
}
