//! Step two: kube-rs's watcher, which lists, watches and relists on 410 Gone.

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};

use super::kind::WatchedKind;
use super::scope::{GapStart, Scope, Seen, Stopped, version_of};
use crate::checkpoint::Phase;

impl<K: WatchedKind> Scope<K> {
    /// Lists and watches until the consumer is gone.
    pub(super) async fn list_and_watch(&self, mut gap: GapStart) -> Result<(), Stopped> {
        let mut config = watcher::Config::default()
            .page_size(self.config.page_size)
            .timeout(self.config.watch_timeout_secs);
        if let Some(labels) = &self.selectors.labels {
            config = config.labels(labels);
        }
        if let Some(fields) = &self.selectors.fields {
            config = config.fields(fields);
        }
        let mut stream = watcher(self.api.clone(), config).default_backoff().boxed();
        let mut changed_in_gap = 0u64;
        while let Some(item) = stream.next().await {
            match item {
                Ok(watcher::Event::Init) => {
                    self.metrics.add_relists(1);
                    changed_in_gap = 0;
                    if gap.is_none() {
                        gap = self.ledger.resume_point(&self.key);
                    }
                    self.ledger.begin_list(&self.key);
                    self.known_objects().begin_list();
                }
                Ok(watcher::Event::InitApply(obj)) => {
                    let rv = version_of(&obj);
                    let fresh = self.apply(obj, Phase::List, Seen::Applied).await?;
                    if fresh && matches!((gap, rv), (Some(g), Some(rv)) if rv > g) {
                        changed_in_gap += 1;
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    self.report_gone().await?;
                    self.ledger.end_list(&self.key);
                    self.established();
                    if changed_in_gap > 0 {
                        self.metrics.add_coalesced(changed_in_gap);
                        tracing::warn!(
                            scope = %self.key,
                            events = changed_in_gap,
                            "objects changed while the watch could not resume; each was exported once in its latest state (an event's count says how often it occurred)"
                        );
                    }
                    gap = None;
                }
                Ok(watcher::Event::Apply(obj)) => {
                    self.apply(obj, Phase::Watch, Seen::Applied).await?;
                }
                Ok(watcher::Event::Delete(obj)) => self.delete(obj).await?,
                Err(e) => {
                    let code = match &e {
                        watcher::Error::WatchError(status) => Some(status.code),
                        watcher::Error::InitialListFailed(kube::Error::Api(s))
                        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
                        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
                        _ => None,
                    };
                    if code == Some(410) {
                        self.metrics.add_gone(1);
                        gap = self.ledger.resume_point(&self.key);
                    }
                    self.report(self.watch_error(e, code)).await?;
                }
            }
        }
        Ok(())
    }
}
