//! The feed to open watches: subscribing (with replay or a snapshot), bookmarks, and signals.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Expired, Store, in_namespace};
use crate::apiserver::object::{Change, Stored};
use crate::apiserver::resource::Resource;

/// What a watch receives besides changes.
#[derive(Debug, Clone)]
pub(crate) enum WatchMsg {
    Change(Arc<Change>),
    /// End the watch with an ERROR 410.
    Expire,
    /// Cut the connection mid-line.
    Cut,
}

/// How a new watch starts.
#[derive(Debug)]
pub(crate) enum Start {
    /// Synthetic ADDED for the current objects (no resourceVersion, or "0").
    Snapshot(Vec<Arc<Stored>>),
    /// Every change after the requested resourceVersion.
    Replay(Vec<Arc<Change>>),
}

/// An open watch's end of the feed.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub rx: mpsc::UnboundedReceiver<WatchMsg>,
    pub start: Start,
    /// The resourceVersion the watch starts after.
    pub rv: u64,
}

pub(super) struct Watcher {
    pub(super) resource: Resource,
    pub(super) namespace: Option<String>,
    pub(super) tx: mpsc::UnboundedSender<WatchMsg>,
}

impl Store {
    /// Sends `msg` to every open watch; returns how many received it.
    pub(crate) fn signal_watchers(&self, msg: &WatchMsg) -> usize {
        let mut inner = self.lock();
        inner.watchers.retain(|w| w.tx.send(msg.clone()).is_ok());
        inner.watchers.len()
    }

    /// Opens a watch on `resource` (optionally one namespace) from `from`: `None` starts with a
    /// snapshot of the current objects, `Some(rv)` replays every change after `rv`.
    pub(crate) fn watch(
        &self,
        resource: Resource,
        namespace: Option<String>,
        from: Option<u64>,
    ) -> Result<Subscription, Expired> {
        let mut inner = self.lock();
        let ns = namespace.as_deref();
        let (start, rv) = match from {
            None => {
                let objects = inner
                    .objects
                    .get(&resource)
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| in_namespace(k, ns))
                            .map(|(_, s)| s.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                (Start::Snapshot(objects), inner.rv)
            }
            Some(requested) if requested < inner.compacted => {
                return Err(Expired {
                    requested,
                    oldest: inner.compacted,
                });
            }
            Some(requested) => {
                // The history is in resourceVersion order: skip to the first change after.
                let first = inner.history.partition_point(|c| c.rv() <= requested);
                let changes = inner
                    .history
                    .range(first..)
                    .filter(|c| c.object.resource == resource)
                    .filter(|c| in_namespace(&c.object.key(), ns))
                    .cloned()
                    .collect();
                (Start::Replay(changes), requested)
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        inner.watchers.push(Watcher {
            resource,
            namespace,
            tx,
        });
        Ok(Subscription { rx, start, rv })
    }

    /// The resourceVersion a watch may bookmark: the current one, if every change up to it has
    /// already been taken from `rx` (so resuming from it cannot skip a change).
    pub(crate) fn bookmark_rv(&self, rx: &mpsc::UnboundedReceiver<WatchMsg>) -> Option<u64> {
        let inner = self.lock();
        rx.is_empty().then_some(inner.rv)
    }
}
