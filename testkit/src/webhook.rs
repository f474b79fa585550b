//! [`Receiver`]: a real HTTP server that takes what a webhook sink POSTs, checks it the way a
//! careful receiver would (credentials, headers, gzip, body format, the idempotency key
//! recomputed from the records) and keeps every record it accepted.
//!
//! It can also deduplicate by the idempotency key, as the sink's documentation tells
//! receivers to: a request whose key it already stored is answered 200 and not stored again,
//! so a test can show both what an at-least-once sender delivered
//! ([`Receiver::received_keys`]) and what a deduplicating receiver keeps
//! ([`Receiver::stored_keys`]).

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod check;

pub use check::idempotency_key;

/// What a [`Receiver`] expects of every request, and whether it deduplicates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// The `Authorization` header every request must carry; others are answered 401.
    pub authorization: Option<String>,
    /// Headers every request must carry, with these values (a missing or different one is a
    /// [problem](Receiver::problems)).
    pub headers: Vec<(String, String)>,
    /// The header carrying the idempotency key.
    pub idempotency_header: String,
    /// Store a request whose idempotency key was stored before? `false` drops it (and still
    /// answers 200), as a deduplicating receiver does.
    pub store_duplicates: bool,
    /// The path requests must be POSTed to.
    pub path: String,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            authorization: None,
            headers: Vec::new(),
            idempotency_header: "Idempotency-Key".to_owned(),
            store_duplicates: true,
            path: "/hook".to_owned(),
        }
    }
}

impl ReceiverConfig {
    /// Requires this `Authorization` header.
    #[must_use]
    pub fn authorization(mut self, value: impl Into<String>) -> Self {
        self.authorization = Some(value.into());
        self
    }

    /// Requires this header with this value.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Reads the idempotency key from this header.
    #[must_use]
    pub fn idempotency_header(mut self, name: impl Into<String>) -> Self {
        self.idempotency_header = name.into();
        self
    }

    /// Drops requests whose idempotency key was stored before.
    #[must_use]
    pub fn deduplicate(mut self) -> Self {
        self.store_duplicates = false;
        self
    }
}

/// One request the receiver accepted (answered 2xx).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// Its idempotency key.
    pub idempotency_key: String,
    /// Its records' `(uid, resourceVersion)`, in body order.
    pub keys: Vec<(String, String)>,
    /// Whether the body came gzip-compressed.
    pub gzip: bool,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its body's size as sent (compressed if it was).
    pub wire_bytes: usize,
    /// Whether a request with the same key had been accepted before.
    pub repeated: bool,
}

/// Counters of a [`Receiver`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Requests read, whatever the answer.
    pub requests: u64,
    /// Requests answered 2xx.
    pub accepted: u64,
    /// Accepted requests whose idempotency key had been accepted before.
    pub repeated: u64,
    /// Requests answered 401 for missing or wrong credentials.
    pub unauthorized: u64,
    /// Requests refused for a malformed body or headers (each also a problem).
    pub refused: u64,
}

#[derive(Debug, Default)]
struct State {
    accepted: Vec<Accepted>,
    stored: Vec<serde_json::Value>,
    stored_keys: HashSet<String>,
    seen_keys: HashSet<String>,
    problems: Vec<String>,
    stats: ReceiverStats,
}

#[derive(Debug)]
struct Shared {
    config: ReceiverConfig,
    state: Mutex<State>,
}

/// A webhook receiver on `127.0.0.1`, HTTP/1.1 with keep-alive; stops when dropped.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use testkit::webhook::{Receiver, ReceiverConfig};
///
/// let receiver = Receiver::start(ReceiverConfig::default().authorization("Bearer t0k3n")).await?;
/// // ... point a webhook sink at receiver.url(), send, then:
/// assert!(receiver.problems().is_empty(), "{:?}", receiver.problems());
/// println!("{} records", receiver.stored_keys().len());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
    addr: SocketAddr,
    token: CancellationToken,
}

impl Receiver {
    /// Starts a receiver on a free port. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// The error of binding the listening socket.
    pub async fn start(config: ReceiverConfig) -> io::Result<Receiver> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
        });
        let token = CancellationToken::new();
        let handler = shared.clone();
        tokio::spawn(crate::serve::accept_loop(
            listener,
            token.clone(),
            "the webhook receiver",
            move |request| {
                let shared = handler.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&shared, request).await) }
            },
        ));
        Ok(Receiver {
            shared,
            addr,
            token,
        })
    }

    /// The URL to POST to: `http://127.0.0.1:PORT/hook` (or the configured path).
    pub fn url(&self) -> String {
        format!("{}{}", self.endpoint(), self.shared.config.path)
    }

    /// `http://127.0.0.1:PORT`, for a proxy in front of it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every accepted request, in order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.with(|s| s.accepted.clone())
    }

    /// The records stored, in order (one copy per request when duplicates are stored).
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.with(|s| s.stored.clone())
    }

    /// `(uid, resourceVersion)` of every stored record: what a receiver that deduplicates by
    /// idempotency key holds (when configured with [`ReceiverConfig::deduplicate`]).
    pub fn stored_keys(&self) -> Vec<(String, String)> {
        self.with(|s| s.stored.iter().filter_map(check::record_key).collect())
    }

    /// `(uid, resourceVersion)` of every record of every accepted request, repeats included:
    /// what the sender delivered.
    pub fn received_keys(&self) -> Vec<(String, String)> {
        self.with(|s| s.accepted.iter().flat_map(|a| a.keys.clone()).collect())
    }

    /// What was wrong with requests: a missing header, a body that does not parse, an
    /// idempotency key that does not match the records. A correct sender causes none.
    pub fn problems(&self) -> Vec<String> {
        self.with(|s| s.problems.clone())
    }

    /// The counters so far.
    pub fn stats(&self) -> ReceiverStats {
        self.with(|s| s.stats.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        match self.shared.state.lock() {
            Ok(state) => f(&state),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

async fn handle(
    shared: &Shared,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    use http_body_util::BodyExt as _;

    let (head, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return check::answer(400, "the request body could not be read"),
    };
    let verdict = check::check(&shared.config, &head, &body);
    let Ok(mut state) = shared.state.lock() else {
        return check::answer(500, "receiver state poisoned");
    };
    state.stats.requests += 1;
    match verdict {
        check::Verdict::Unauthorized => {
            state.stats.unauthorized += 1;
            check::answer(
                401,
                "invalid credentials: the Authorization header is missing or wrong\nsee the receiver's logs",
            )
        }
        check::Verdict::Refused { status, problem } => {
            state.stats.refused += 1;
            state.problems.push(problem.clone());
            check::answer(status, &problem)
        }
        check::Verdict::Accepted {
            request,
            records,
            problems,
        } => {
            state.problems.extend(problems);
            let repeated = !state.seen_keys.insert(request.idempotency_key.clone());
            state.stats.accepted += 1;
            if repeated {
                state.stats.repeated += 1;
            }
            let store = shared.config.store_duplicates
                || state.stored_keys.insert(request.idempotency_key.clone());
            if store {
                state.stored.extend(records);
            }
            state.accepted.push(Accepted {
                repeated,
                ..request
            });
            check::answer(200, "{\"status\":\"ok\"}")
        }
    }
}
