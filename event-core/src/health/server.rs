//! The HTTP server (cargo feature `http`): `/healthz`, `/readyz` and `/metrics` on one port.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::HealthState;

/// The content type of the Prometheus text exposition format.
const PLAIN_TEXT: &str = "text/plain; charset=utf-8";

/// Why the health and metrics server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// Another process (or another server in this one) already listens on the address.
    #[error(
        "cannot serve /healthz, /readyz and /metrics on {addr}: address in use: pick another `server.listen`"
    )]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
        /// The error of binding it.
        #[source]
        source: io::Error,
    },
    /// The address could not be bound for another reason (not local, no permission, ...).
    #[error(
        "cannot serve /healthz, /readyz and /metrics on {addr}: {source}; check `server.listen`"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The error of binding it.
        #[source]
        source: io::Error,
    },
    /// The server failed while running.
    #[error("the /healthz, /readyz and /metrics server failed: {source}; restart the process")]
    Serve {
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The server task panicked or was aborted.
    #[error("the /healthz, /readyz and /metrics server task ended abnormally: {0}")]
    TaskFailed(String),
}

/// A running health and metrics server; see [`serve`].
///
/// Dropping it leaves the server running until its shutdown token is cancelled.
#[derive(Debug)]
#[must_use = "the server runs in the background: keep it to learn its address and await its end"]
pub struct HealthServer {
    addr: SocketAddr,
    task: JoinHandle<Result<(), HealthError>>,
}

impl HealthServer {
    /// The address the server listens on (with the actual port when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the server has stopped: its shutdown token was cancelled and the open
    /// requests were answered.
    ///
    /// # Errors
    ///
    /// [`HealthError::Serve`] when the server failed; [`HealthError::TaskFailed`] when its task
    /// panicked.
    pub async fn wait(self) -> Result<(), HealthError> {
        self.task
            .await
            .map_err(|e| HealthError::TaskFailed(e.to_string()))?
    }
}

/// Listens on `addr` and serves, until `shutdown` is cancelled:
///
/// | path | answer |
/// |---|---|
/// | `/healthz` | 200 `ok` while the runtime answers |
/// | `/readyz` | 200 when [ready](super::Readiness::is_ready), else 503; the body explains each watch scope |
/// | `/metrics` | 200, [`Metrics::render_prometheus`](crate::metrics::Metrics::render_prometheus) |
///
/// Binding happens before this returns, so a taken port is reported at once; the server then
/// runs on a task of its own.
///
/// # Errors
///
/// [`HealthError::AddrInUse`] when the address is taken; [`HealthError::Bind`] when it cannot
/// be bound for another reason.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::health::{Health, HealthState, serve};
/// use event_core::metrics::Metrics;
/// use tokio_util::sync::CancellationToken;
///
/// // Give the same handles to the Keeper that binds the stream and the pipeline.
/// let (health, metrics) = (Health::default(), Metrics::default());
/// let stop = CancellationToken::new();
/// let state = HealthState::new(health, metrics);
/// let server = serve("0.0.0.0:8080".parse()?, state, stop.clone()).await?;
/// println!("probes on {}", server.local_addr());
/// // ... run the pipeline, then:
/// stop.cancel();
/// server.wait().await?;
/// # Ok(()) }
/// ```
pub async fn serve(
    addr: SocketAddr,
    state: HealthState,
    shutdown: CancellationToken,
) -> Result<HealthServer, HealthError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| bind_error(addr, source))?;
    let local = listener
        .local_addr()
        .map_err(|source| bind_error(addr, source))?;
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .map_err(|source| HealthError::Serve { source })
    });
    tracing::info!(addr = %local, "serving /healthz, /readyz and /metrics");
    Ok(HealthServer { addr: local, task })
}

fn bind_error(addr: SocketAddr, source: io::Error) -> HealthError {
    if source.kind() == io::ErrorKind::AddrInUse {
        HealthError::AddrInUse { addr, source }
    } else {
        HealthError::Bind { addr, source }
    }
}

fn router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, PLAIN_TEXT)], "ok\n").into_response()
}

async fn readyz(State(state): State<HealthState>) -> Response {
    let readiness = state.readiness();
    let code = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        [(header::CONTENT_TYPE, PLAIN_TEXT)],
        readiness.to_string(),
    )
        .into_response()
}

async fn metrics(State(state): State<HealthState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            crate::metrics::exposition::CONTENT_TYPE,
        )],
        state.metrics().render_prometheus(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::health::Health;
    use crate::metrics::Metrics;

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap();
        (status, body)
    }

    fn local() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[tokio::test]
    async fn serves_liveness_readiness_and_metrics() {
        let metrics = Metrics::default();
        let health = Health::default();
        metrics.add_received(7);
        let stop = CancellationToken::new();
        let state = HealthState::new(health.clone(), metrics.clone());
        let server = serve(local(), state, stop.clone()).await.unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        assert_eq!(get(addr, "/healthz").await, (200, "ok\n".into()));
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503);
        assert_eq!(body, "not ready\nno watch started yet\n");
        health.register("events@*");
        health.established("events@*");
        assert_eq!(
            get(addr, "/readyz").await,
            (200, "ready\nevents@*: ready\n".into())
        );
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(
            body.contains("event_keeper_events_received_total 7"),
            "{body}"
        );
        assert_eq!(get(addr, "/nope").await.0, 404);
        stop.cancel();
        server.wait().await.unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn readiness_turns_unready_once_the_drain_token_is_cancelled() {
        let health = Health::default();
        health.register("events@*");
        health.established("events@*");
        let draining = CancellationToken::new();
        let stop = CancellationToken::new();
        let state = HealthState::new(health, Metrics::default()).shutting_down_on(draining.clone());
        let server = serve(local(), state, stop.clone()).await.unwrap();
        assert_eq!(get(server.local_addr(), "/readyz").await.0, 200);
        draining.cancel();
        let (code, body) = get(server.local_addr(), "/readyz").await;
        assert_eq!(code, 503);
        assert!(body.contains("shutting down"), "{body}");
        assert_eq!(get(server.local_addr(), "/healthz").await.0, 200);
        stop.cancel();
        server.wait().await.unwrap();
    }

    #[tokio::test]
    async fn an_address_in_use_is_named_with_the_setting_to_change() {
        let taken = std::net::TcpListener::bind(local()).unwrap();
        let addr = taken.local_addr().unwrap();
        let err = serve(
            addr,
            HealthState::new(Health::default(), Metrics::default()),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, HealthError::AddrInUse { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&addr.to_string()), "{message}");
        assert!(
            message.contains("address in use: pick another `server.listen`"),
            "{message}"
        );
    }
}
