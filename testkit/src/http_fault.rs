//! [`FaultProxy`]: a generic HTTP fault proxy in front of any local HTTP server, for the
//! HTTP sinks' tests (OTLP, webhook): throttling, 5xx, dropped connections and answers held
//! past the client's timeout after the request was stored upstream.
//!
//! Modelled on the CloudWatch [`StrictProxy`](crate::cloudwatch::StrictProxy), without its
//! service-specific checks; requests are forwarded with the same code.

mod fault;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use fault::FaultQueue;
pub use fault::HttpFault;

use crate::cloudwatch::upstream;
use crate::serve;

/// What a [`FaultProxy`] has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStats {
    /// Requests read from clients.
    pub requests: u64,
    /// Requests forwarded upstream (and answered by it).
    pub forwarded: u64,
    /// Injected faults served.
    pub faults_served: u64,
    /// Requests forwarded whose answer never reached the client (dropped after forwarding, or
    /// held past the client's timeout): the ones a client must treat as maybe stored.
    pub forwarded_unanswered: u64,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    faults: FaultQueue,
    stats: Mutex<FaultStats>,
}

impl Shared {
    fn count(&self, update: impl FnOnce(&mut FaultStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            update(&mut stats);
        }
    }
}

/// An HTTP/1.1 proxy on `127.0.0.1` in front of a local HTTP server that serves injected
/// [`HttpFault`]s to the next requests and forwards the others unchanged (method, path,
/// headers except hop-by-hop ones, body). It stops when dropped; start one per test.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(receiver_endpoint: &str) -> std::io::Result<()> {
/// use std::time::Duration;
/// use testkit::http_fault::{FaultProxy, HttpFault};
///
/// let proxy = FaultProxy::start(receiver_endpoint).await?;
/// proxy.inject(HttpFault::Throttle { retry_after: Some(1) }, 2);
/// proxy.inject(HttpFault::TimeoutAfterForward(Duration::from_secs(5)), 1);
/// // ... point the sink at `proxy.endpoint()`, then:
/// assert_eq!(proxy.pending_faults(), 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    token: CancellationToken,
}

impl FaultProxy {
    /// Starts the proxy on a free `127.0.0.1` port in front of `upstream_endpoint`
    /// (`http://127.0.0.1:PORT`). Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the endpoint is not an `http://host:port` URL; the error of
    /// binding the listening socket otherwise.
    pub async fn start(upstream_endpoint: &str) -> io::Result<FaultProxy> {
        let upstream = upstream::authority(upstream_endpoint)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            faults: FaultQueue::default(),
            stats: Mutex::new(FaultStats::default()),
        });
        let token = CancellationToken::new();
        let handler = shared.clone();
        tokio::spawn(serve::accept_loop(
            listener,
            token.clone(),
            "the HTTP fault proxy",
            move |request| handle(handler.clone(), request),
        ));
        Ok(FaultProxy {
            shared,
            addr,
            token,
        })
    }

    /// The endpoint to give the client: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves `fault` to the next `times` requests (after any faults already queued).
    pub fn inject(&self, fault: HttpFault, times: usize) {
        self.shared.faults.push(fault, times);
    }

    /// Faults injected but not served yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.remaining()
    }

    /// The counters so far.
    pub fn stats(&self) -> FaultStats {
        self.shared
            .stats
            .lock()
            .map(|stats| stats.clone())
            .unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Why a connection is closed without an answer; hyper closes it when the service fails.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("connection closed by an injected {0:?} fault")]
    Fault(HttpFault),
    #[error("the request body could not be read")]
    Body(#[source] hyper::Error),
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Closed> {
    shared.count(|s| s.requests += 1);
    let (head, incoming) = request.into_parts();
    let body = incoming.collect().await.map_err(Closed::Body)?.to_bytes();

    let fault = shared.faults.take();
    if let Some(fault) = &fault {
        shared.count(|s| s.faults_served += 1);
        tracing::info!(fault = ?fault, "serving an injected fault");
        match fault {
            HttpFault::Throttle { retry_after } => {
                let mut response = text(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, (*seconds).into());
                }
                return Ok(response);
            }
            HttpFault::Status(code) => {
                let status =
                    StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Ok(text(status, "injected failure"));
            }
            HttpFault::DropBeforeForward => return Err(Closed::Fault(fault.clone())),
            _ => {}
        }
    }

    // A request that reached the server is carried out even if the client hangs up (hyper
    // drops this future when it does): forward from a task of its own.
    let task = tokio::spawn({
        let shared = shared.clone();
        async move {
            let answer = upstream::forward(&shared.upstream, &head, body).await;
            if answer.is_ok() {
                shared.count(|s| s.forwarded += 1);
            }
            answer
        }
    });
    let response = match task.await {
        Ok(Ok(response)) => response.map(Full::new),
        Ok(Err(error)) => {
            tracing::warn!(%error, "the fault proxy could not reach its upstream");
            text(StatusCode::BAD_GATEWAY, &error.to_string())
        }
        Err(error) => {
            tracing::warn!(%error, "the fault proxy's forwarding task failed");
            text(StatusCode::BAD_GATEWAY, "the forwarding task failed")
        }
    };

    match fault {
        Some(HttpFault::TimeoutAfterForward(hold)) => {
            shared.count(|s| s.forwarded_unanswered += 1);
            tokio::time::sleep(hold).await;
            Err(Closed::Fault(HttpFault::TimeoutAfterForward(hold)))
        }
        Some(fault @ HttpFault::DropAfterForward) => {
            shared.count(|s| s.forwarded_unanswered += 1);
            Err(Closed::Fault(fault))
        }
        _ => Ok(response),
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}
