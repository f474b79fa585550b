//! [`StrictProxy`]: the listener, its connections, and the controls a test holds.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::fault::{DEFAULT_FAULT_OPERATION, Fault, FaultQueue};
use super::handler::{self, Shared};
use super::limits::Limits;
use super::stats::{Counters, ProxyStats};
use super::upstream;
use super::violation::Violation;

/// An HTTP proxy in front of moto that enforces the real PutLogEvents limits, which moto
/// does not (it takes over 10,000 events, over 1 MiB and over 24 hours in one call), and
/// serves injected faults.
///
/// - A PutLogEvents that breaks a limit is answered HTTP 400 `InvalidParameterException`
///   with the service's message, not forwarded, and recorded in
///   [`violations`](StrictProxy::violations) so a test can fail loudly.
/// - Events more than 2 hours in the future, older than 14 days or older than the group's
///   retention are dropped as the service drops them: only the others are forwarded, and
///   the answer carries `rejectedLogEventsInfo` with positions in the request as sent.
///   (Measured with moto 5.2: moto drops too-new and too-old events itself and reports
///   them, but ignores retention. The proxy classifies every event itself, forwards only
///   the kept ones, and learns retention from the PutRetentionPolicy calls that pass
///   through it.)
/// - Every other request is forwarded unchanged: method, path, headers (the SDK's `Host`
///   and signature included; moto does not check signatures, and a PutLogEvents body with
///   dropped events no longer matches its signature) and body.
/// - Faults from [`inject`](StrictProxy::inject) apply to the next matching requests,
///   after the limit check: a request that breaks a limit does not use up a fault.
///
/// It speaks HTTP/1.1 with keep-alive on `127.0.0.1` and stops when dropped. It runs on
/// the tokio runtime that started it and stops with it too, so, unlike a shared
/// [`Moto`](crate::moto::Moto), start one per test (it starts at once).
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use testkit::cloudwatch::{Fault, StrictProxy, client};
/// use testkit::moto::Moto;
///
/// let moto = Moto::start().await?;
/// let proxy = StrictProxy::start(&moto.endpoint()).await?;
/// proxy.inject(Fault::Throttle, 1);
/// let logs = client(&proxy.endpoint()).await;
/// // ... exercise a sink with `logs`, then:
/// assert!(proxy.violations().is_empty(), "{:?}", proxy.violations());
/// assert_eq!(proxy.stats().calls("DescribeLogStreams"), 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct StrictProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    unreachable: watch::Sender<bool>,
    token: CancellationToken,
}

impl StrictProxy {
    /// Starts the proxy on a free `127.0.0.1` port in front of `upstream_endpoint`
    /// (`http://127.0.0.1:PORT`, e.g. [`Moto::endpoint`](crate::moto::Moto::endpoint)),
    /// enforcing the real service's [`Limits`].
    ///
    /// Must be called within a tokio runtime; the proxy runs on it.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the endpoint is not an `http://host:port` URL; the error of
    /// binding the listening socket otherwise.
    pub async fn start(upstream_endpoint: &str) -> io::Result<StrictProxy> {
        StrictProxy::start_with(upstream_endpoint, Limits::default()).await
    }

    /// Starts the proxy as [`start`](StrictProxy::start) does, enforcing `limits`.
    ///
    /// # Errors
    ///
    /// As [`start`](StrictProxy::start).
    pub async fn start_with(upstream_endpoint: &str, limits: Limits) -> io::Result<StrictProxy> {
        let upstream = upstream::authority(upstream_endpoint)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            limits,
            faults: FaultQueue::default(),
            counters: Counters::default(),
            violations: Mutex::new(Vec::new()),
            retention: Mutex::new(HashMap::new()),
        });
        let (unreachable, _) = watch::channel(false);
        let token = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            unreachable.clone(),
            token.clone(),
        ));
        tracing::debug!(%addr, upstream = shared.upstream, "strict CloudWatch proxy started");
        Ok(StrictProxy {
            shared,
            addr,
            unreachable,
            token,
        })
    }

    /// The endpoint to give the SDK: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every limit broken by a request so far, in order, with its rule and figures.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared
            .violations
            .lock()
            .map(|violations| violations.clone())
            .unwrap_or_default()
    }

    /// The counters so far: per operation, PutLogEvents calls, events and bytes, faults.
    pub fn stats(&self) -> ProxyStats {
        self.shared.counters.snapshot()
    }

    /// Serves `fault` to the next `times` PutLogEvents requests (after any faults already
    /// queued for them).
    pub fn inject(&self, fault: Fault, times: usize) {
        self.inject_on(DEFAULT_FAULT_OPERATION, fault, times);
    }

    /// Serves `fault` to the next `times` requests of `operation` (`"CreateLogStream"`,
    /// `"DescribeLogStreams"`, ..., as in `X-Amz-Target` without `Logs_20140328.`).
    pub fn inject_on(&self, operation: &str, fault: Fault, times: usize) {
        self.shared.faults.push(operation, fault, times);
    }

    /// Faults injected but not served yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.remaining()
    }

    /// While `yes`, behaves like an endpoint that is down: every new connection is closed
    /// as soon as it is accepted and open ones are cut, mid-request if need be, so the SDK
    /// sees a dispatch failure. `false` serves again on the same port.
    pub fn set_unreachable(&self, yes: bool) {
        self.unreachable.send_replace(yes);
        tracing::debug!(addr = %self.addr, unreachable = yes, "strict proxy reachability");
    }
}

impl Drop for StrictProxy {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    unreachable: watch::Sender<bool>,
    token: CancellationToken,
) {
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if *unreachable.borrow() => {
                    shared.counters.update(|s| s.connections_refused += 1);
                    drop(stream);
                }
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(
                        stream,
                        shared.clone(),
                        unreachable.subscribe(),
                        token.clone(),
                    ));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection to the strict proxy failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut unreachable: watch::Receiver<bool>,
    token: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handler::handle(shared.clone(), request));
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection to the strict proxy ended");
            }
        }
        // Dropping the connection closes the socket at once, mid-request if need be.
        _ = unreachable.wait_for(|&down| down) => {}
        () = token.cancelled() => {}
    }
}
