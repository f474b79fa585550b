//! The accept-and-serve loop of testkit's local HTTP/1.1 servers (the fault proxy, the OTLP and
//! webhook receivers): one task per connection, keep-alive, everything stopped by one token.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves every connection of `listener` with `handle` until `token` is cancelled. A handler
/// error makes hyper close that connection without an answer (how the fault proxy drops one).
/// `server` names it in the logs.
pub(crate) async fn accept_loop<H, F, E>(
    listener: TcpListener,
    token: CancellationToken,
    server: &'static str,
    handle: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let handle = handle.clone();
                    let token = token.clone();
                    tokio::spawn(async move {
                        let connection = http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service_fn(handle));
                        tokio::select! {
                            result = connection => {
                                if let Err(error) = result {
                                    tracing::debug!(server, %error, "connection ended");
                                }
                            }
                            () = token.cancelled() => {}
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(server, %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}
