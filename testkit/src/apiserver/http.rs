//! The HTTP/1.1 listener: accepting connections, stopping (connection refused) and listening
//! again on the same port.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::respond::Ctx;
use super::router;
use super::state::Shared;

struct Running {
    token: CancellationToken,
    tracker: TaskTracker,
}

/// The listener and its connections.
pub(crate) struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    root: CancellationToken,
    running: tokio::sync::Mutex<Option<Running>>,
}

impl Server {
    /// Starts accepting on `listener`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        root: CancellationToken,
        listener: TcpListener,
    ) -> Server {
        let addr = shared.addr;
        let mut server = Server {
            addr,
            shared,
            root,
            running: tokio::sync::Mutex::new(None),
        };
        let running = server.spawn(listener);
        server.running = tokio::sync::Mutex::new(Some(running));
        server
    }

    fn spawn(&self, listener: TcpListener) -> Running {
        let token = self.root.child_token();
        let tracker = TaskTracker::new();
        let ctx = Ctx {
            shared: self.shared.clone(),
            token: token.clone(),
            tracker: tracker.clone(),
        };
        tracker.spawn(accept_loop(listener, ctx));
        Running { token, tracker }
    }

    /// Closes the listener and every open connection, and waits until they are gone.
    pub(crate) async fn stop(&self) {
        let Some(running) = self.running.lock().await.take() else {
            return;
        };
        running.token.cancel();
        running.tracker.close();
        running.tracker.wait().await;
    }

    /// Listens again on the same address; does nothing if already listening.
    pub(crate) async fn restart(&self) {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return;
        }
        // The old socket may linger briefly in the kernel; retry for up to a second.
        for _ in 0..50 {
            match bind(self.addr) {
                Ok(listener) => {
                    *running = Some(self.spawn(listener));
                    return;
                }
                Err(error) => {
                    tracing::debug!(%error, addr = %self.addr, "rebinding the simulated API server");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        tracing::error!(addr = %self.addr, "could not listen again on the simulated API server's port");
    }
}

/// A listening socket on `addr` that may reuse a port in TIME_WAIT.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Restarting on the same port must not wait for TIME_WAIT sockets of the previous run.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept_loop(listener: TcpListener, ctx: Ctx) {
    loop {
        tokio::select! {
            () = ctx.token.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    ctx.tracker.spawn(serve_connection(stream, ctx.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_connection(stream: TcpStream, ctx: Ctx) {
    // Watch lines are small writes that must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let token = ctx.token.clone();
    let service = service_fn(move |req| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(router::handle(&ctx, req).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection to the simulated API server ended");
            }
        }
        // Dropping the connection closes the socket at once, mid-response if need be.
        () = token.cancelled() => {}
    }
}
