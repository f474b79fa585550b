//! [`SimCluster`]: the running server, its test-facing controls and fault injection.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::SimConfig;
use super::http::{Server, bind};
use super::new_event::{EventRef, NewEvent, bumped};
use super::object::{Body, Key};
use super::refusal::Refusal;
use super::resource::{self, Resource};
use super::state::Shared;
use super::stats::{Counters, SimStats};
use super::store::{Store, StoreError, WatchMsg};

mod objects;
mod recorded;

/// Why a [`SimCluster`] call that takes an arbitrary object refused it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The server does not serve this `apiVersion` and `kind`; see the module docs for the list.
    #[error(
        "the simulated API server does not serve {kind} in {api_version}; use one it lists in discovery"
    )]
    UnknownKind {
        /// The `apiVersion` asked for.
        api_version: String,
        /// The `kind` asked for.
        kind: String,
    },
    /// The object is not a JSON object, or lacks `metadata.name`.
    #[error("the object is not valid: {0}; pass a JSON object with metadata.name")]
    InvalidObject(String),
}

/// A simulated Kubernetes API server on `127.0.0.1`, speaking real HTTP to an unmodified
/// kube-rs client. Dropping it stops the server and every background task.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use k8s_openapi::api::events::v1::Event;
/// use testkit::{NewEvent, SimCluster, SimConfig};
///
/// let cluster = SimCluster::start(SimConfig::default()).await?;
/// let created = cluster.create_event(NewEvent::new("demo", "BackOff"));
/// let events: kube::Api<Event> = kube::Api::namespaced(cluster.client(), "demo");
/// let list = events.list(&Default::default()).await.expect("list");
/// assert_eq!(list.items[0].metadata.uid.as_deref(), Some(created.uid.as_str()));
/// # Ok(()) }
/// ```
pub struct SimCluster {
    shared: Arc<Shared>,
    server: Server,
    root: CancellationToken,
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

impl std::fmt::Debug for SimCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCluster")
            .field("url", &self.url())
            .field("resource_version", &self.resource_version())
            .finish_non_exhaustive()
    }
}

impl SimCluster {
    /// Starts a server on `127.0.0.1` with a free port, and the TTL sweep if configured.
    ///
    /// # Errors
    ///
    /// The error of binding the listening socket.
    pub async fn start(config: SimConfig) -> std::io::Result<SimCluster> {
        SimCluster::start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts a server listening on `addr`, e.g. a port a client was pointed at before the
    /// server came up (an API server that is not there yet at a client's start).
    ///
    /// # Errors
    ///
    /// The error of binding the listening socket.
    pub async fn start_at(addr: SocketAddr, config: SimConfig) -> std::io::Result<SimCluster> {
        let listener = bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Store::new(config.history_window),
            served: resource::served(config.serve_events_v1),
            config,
            stats: Counters::default(),
            unavailable: AtomicBool::new(false),
            refusal: Mutex::new(None),
            addr,
        });
        let root = CancellationToken::new();
        let server = Server::new(shared.clone(), root.clone(), listener);
        if let (Some(ttl), Some(every)) =
            (shared.config.event_ttl, shared.config.ttl_sweep_interval)
        {
            tokio::spawn(sweep(shared.clone(), ttl, every, root.clone()));
        }
        Ok(SimCluster {
            shared,
            server,
            root,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// A kube-rs client for this server (no authentication, default namespace `default`).
    ///
    /// # Errors
    ///
    /// The error of building the client (TLS setup of the HTTP stack).
    pub fn try_client(&self) -> Result<kube::Client, kube::Error> {
        let uri = self
            .url()
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| kube::Error::HttpError(e.into()))?;
        kube::Client::try_from(kube::Config::new(uri))
    }

    /// A kube-rs client for this server (no authentication, default namespace `default`).
    ///
    /// # Panics
    ///
    /// If kube-rs cannot build a client at all, which [`try_client`](Self::try_client) reports
    /// as an error instead.
    pub fn client(&self) -> kube::Client {
        #[allow(clippy::expect_used)]
        // A test helper: a client that cannot be built is a setup bug.
        self.try_client()
            .expect("kube-rs could not build a client for the simulated API server")
    }

    /// Writes a kubeconfig pointing at this server, for binaries under test.
    ///
    /// # Errors
    ///
    /// The error of writing the file.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {}\n\
             contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: default\n\
             current-context: sim\nusers:\n- name: sim\n  user: {{}}\npreferences: {{}}\n",
            self.url()
        );
        std::fs::write(path, text)
    }

    /// Creates an event (ADDED to watches).
    pub fn create_event(&self, ev: NewEvent) -> EventRef {
        let store = &self.shared.store;
        loop {
            let core = ev.clone().build(Timestamp::now(), store.rv());
            match store.create(Resource::Events, Body::Event(Box::new(core))) {
                Ok(stored) => return EventRef::from_stored(&stored),
                // Only an inserted recording can hold a generated name; draw another.
                Err(_) => continue,
            }
        }
    }

    /// Records that the event occurred again: `count`+1 and `lastTimestamp` (core/v1 style) or
    /// `series` (events.k8s.io style), a new resourceVersion, MODIFIED to watches. `None` if the
    /// event is gone.
    pub fn bump_event(&self, ev: &EventRef) -> Option<EventRef> {
        let key = Key(ev.namespace.clone(), ev.name.clone());
        let stored = self
            .shared
            .store
            .update(Resource::Events, &key, None, false, |current| match current
                .and_then(|c| c.event())
            {
                Some(core) if core.metadata.uid == ev.uid => {
                    Ok(Body::Event(Box::new(bumped(&core, Timestamp::now()))))
                }
                _ => Err(StoreError::NotFound),
            })
            .ok()?;
        Some(EventRef::from_stored(&stored))
    }

    /// Deletes the event (DELETED to watches); `false` if it was already gone.
    pub fn delete_event(&self, ev: &EventRef) -> bool {
        let key = Key(ev.namespace.clone(), ev.name.clone());
        let store = &self.shared.store;
        loop {
            let Some(current) = store.get(Resource::Events, &key) else {
                return false;
            };
            if current.uid() != ev.uid {
                return false;
            }
            match store.delete(Resource::Events, &key, Some(current.rv)) {
                Ok(_) => return true,
                Err(StoreError::Conflict) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Runs the TTL sweep now: deletes every event not written for at least the configured TTL,
    /// all at one resourceVersion. Returns how many were deleted (0 without a TTL).
    pub fn expire_events(&self) -> usize {
        self.shared
            .config
            .event_ttl
            .map_or(0, |ttl| expire(&self.shared, ttl))
    }

    /// The event as currently stored, in its core/v1 form; `None` if it is gone.
    pub fn event(&self, ev: &EventRef) -> Option<Value> {
        let def = resource::by_kind("v1", "Event")?;
        let stored = self.shared.store.get(
            Resource::Events,
            &Key(ev.namespace.clone(), ev.name.clone()),
        )?;
        (stored.uid() == ev.uid).then(|| stored.to_value(&def))
    }

    /// How many events exist.
    pub fn event_count(&self) -> usize {
        self.shared.store.count(Resource::Events)
    }

    /// The current global resourceVersion (the last write's).
    pub fn resource_version(&self) -> u64 {
        self.shared.store.rv()
    }

    /// Drops all history, like an etcd compaction: a watch from any older resourceVersion gets
    /// 410 Gone, and the next page of any list begun before answers 410 Expired.
    pub fn compact(&self) {
        self.shared.store.compact();
    }

    /// Ends every open watch with an ERROR event carrying a 410 Status, as a server does when a
    /// watcher falls out of its window.
    pub fn force_watch_410(&self) {
        self.shared.store.signal_watchers(&WatchMsg::Expire);
    }

    /// Cuts every open watch connection abruptly: half a JSON line is written, then the
    /// connection closes without the terminating chunk.
    pub fn drop_connections(&self) {
        self.shared.store.signal_watchers(&WatchMsg::Cut);
    }

    /// Stops listening (clients get "connection refused") and closes every connection; the
    /// store and its history are kept.
    pub async fn stop(&self) {
        self.server.stop().await;
    }

    /// Listens again on the same port after [`stop`](Self::stop).
    pub async fn restart(&self) {
        self.server.restart().await;
    }

    /// While `yes`, every request is answered 503 with a Status body, as an API server that is
    /// up but unhealthy does. kube-rs retries 503 by default, so a request made meanwhile
    /// completes once this is switched off (or after its retries run out).
    pub fn set_unavailable(&self, yes: bool) {
        self.shared.unavailable.store(yes, Ordering::Relaxed);
    }

    /// While `Some`, requests are refused as a real server refuses credentials it does not
    /// accept (401, every request) or a user RBAC does not allow (403, every request for a
    /// resource); see [`Refusal`]. `None` answers normally again.
    pub fn set_refusal(&self, refusal: Option<Refusal>) {
        *self
            .shared
            .refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = refusal;
    }

    /// Counters of requests and faults so far.
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }
}

fn expire(shared: &Shared, ttl: Duration) -> usize {
    let now = Instant::now();
    shared
        .store
        .delete_where(Resource::Events, |s| now.duration_since(s.written) >= ttl)
        .len()
}

/// The background TTL sweep, every `every`.
async fn sweep(shared: Arc<Shared>, ttl: Duration, every: Duration, token: CancellationToken) {
    let every = every.max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            _ = ticker.tick() => {
                let deleted = expire(&shared, ttl);
                if deleted > 0 {
                    tracing::debug!(deleted, "simulated API server expired events");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_handle_can_be_shared_across_tasks() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SimCluster>();
        shareable::<SimStats>();
    }

    #[tokio::test]
    async fn stop_and_restart_keep_the_port_and_are_idempotent() {
        let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
        let url = cluster.url();
        cluster.restart().await;
        cluster.stop().await;
        cluster.stop().await;
        cluster.restart().await;
        assert_eq!(cluster.url(), url);
        let addr = url.trim_start_matches("http://");
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    }
}
