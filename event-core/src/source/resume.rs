//! Step one: watch from the saved resume point, replaying every change since.

use futures::StreamExt;
use kube::api::{WatchEvent, WatchParams};

use super::kind::WatchedKind;
use super::scope::{GapStart, Scope, Seen, Stopped, status_code, version_of};
use super::stream::IDLE_MARGIN;
use crate::checkpoint::Phase;
use crate::retry::Backoff;

/// HTTP 410 Gone: the history the watch asked for was compacted.
const GONE: u16 = 410;

impl<K: WatchedKind> Scope<K> {
    /// Watches from `rv` until the server says the history is gone; returns where the gap began.
    pub(super) async fn resume_from(&self, mut rv: u64) -> Result<GapStart, Stopped> {
        tracing::info!(scope = %self.key, resource_version = rv, "resuming watch from checkpoint");
        let mut backoff = Backoff::watch();
        // Bookmarks are on by default; they move the resume point while nothing changes.
        let mut params = WatchParams::default().timeout(self.config.watch_timeout_secs);
        if let Some(labels) = &self.selectors.labels {
            params = params.labels(labels);
        }
        if let Some(fields) = &self.selectors.fields {
            params = params.fields(fields);
        }
        let idle =
            std::time::Duration::from_secs(u64::from(self.config.watch_timeout_secs)) + IDLE_MARGIN;
        loop {
            let mut stream = match self.api.watch(&params, &rv.to_string()).await {
                Ok(stream) => {
                    self.established();
                    stream.boxed()
                }
                Err(e) => {
                    let code = status_code(&e);
                    if code == Some(GONE) {
                        return Ok(self.gone(rv));
                    }
                    self.report(self.watch_error(e, code)).await?;
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            loop {
                let item = match tokio::time::timeout(idle, stream.next()).await {
                    Ok(Some(item)) => item,
                    // Server timeout, closed connection or a silent one: watch again from `rv`.
                    Ok(None) | Err(_) => break,
                };
                match item {
                    Ok(WatchEvent::Added(obj)) => {
                        let seen = version_of(&obj);
                        self.apply(obj, Phase::Watch, Seen::Added).await?;
                        rv = advance(rv, seen);
                        backoff.reset();
                    }
                    Ok(WatchEvent::Modified(obj)) => {
                        let seen = version_of(&obj);
                        self.apply(obj, Phase::Watch, Seen::Modified).await?;
                        rv = advance(rv, seen);
                        backoff.reset();
                    }
                    Ok(WatchEvent::Deleted(obj)) => {
                        let seen = version_of(&obj);
                        self.delete(obj).await?;
                        rv = advance(rv, seen);
                    }
                    Ok(WatchEvent::Bookmark(b)) => {
                        self.bookmark(&b.metadata.resource_version);
                        rv = advance(rv, b.metadata.resource_version.parse().ok());
                    }
                    Ok(WatchEvent::Error(status)) if status.code == GONE => {
                        return Ok(self.gone(rv));
                    }
                    Ok(WatchEvent::Error(status)) => {
                        let code = Some(status.code);
                        self.report(self.watch_error(kube::Error::Api(status), code))
                            .await?;
                        tokio::time::sleep(backoff.next_delay()).await;
                        break;
                    }
                    // A notification that is not one (an object that does not decode arrives as
                    // a `Lenient` error above; here kube-rs yields a serde error, or an empty
                    // Status when the line is some other JSON object): the stream goes on
                    // behind it, so skip it. Watching again from `rv` would replay the same
                    // line forever and hold back every later event.
                    Err(e @ (kube::Error::SerdeError(_) | kube::Error::Api(_))) => {
                        let code = status_code(&e);
                        self.report(self.watch_error(e, code)).await?;
                    }
                    Err(e) => {
                        let code = status_code(&e);
                        self.report(self.watch_error(e, code)).await?;
                        tokio::time::sleep(backoff.next_delay()).await;
                        break;
                    }
                }
            }
        }
    }

    fn gone(&self, rv: u64) -> GapStart {
        self.metrics.add_gone(1);
        tracing::warn!(
            scope = %self.key,
            resource_version = rv,
            "the API server no longer has the history since the checkpoint (410 Gone); relisting: events changed in the gap are exported once in their latest state, intermediate updates coalesced"
        );
        Some(rv)
    }
}

fn advance(current: u64, seen: Option<u64>) -> u64 {
    seen.map_or(current, |rv| current.max(rv))
}
