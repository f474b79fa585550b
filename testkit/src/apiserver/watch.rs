//! WATCH: a chunked stream of one JSON WatchEvent per line, with history replay, synthetic
//! ADDED for a fresh start, BOOKMARKs, `timeoutSeconds`, and the injected faults (ERROR 410,
//! a connection cut mid-line).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode, header};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_stream::wrappers::ReceiverStream;

use super::model::CoreEvent;
use super::object::{Body, Stored};
use super::query::Query;
use super::resource::ResourceDef;
use super::respond::{Ctx, ResBody};
use super::select::Selector;
use super::stats::bump;
use super::status::ApiError;
use super::store::{Start, Subscription, WatchMsg};

/// The annotation on the BOOKMARK that ends the initial events of a streaming list.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// How long a cut connection waits after the half line so that it reaches the socket first.
const CUT_FLUSH: Duration = Duration::from_millis(20);

type FrameResult = Result<Frame<Bytes>, io::Error>;

struct Options {
    def: ResourceDef,
    selector: Selector,
    bookmarks: Option<Duration>,
    initial_events_end: bool,
    deadline: Option<Instant>,
}

/// Answers a watch request with a streaming body; the stream is written by a task of its own.
///
/// # Errors
///
/// 400 for a malformed parameter. A too old resourceVersion is not an error here: as the real
/// server does, the watch answers 200 and sends an ERROR event. Nor is one the server has not
/// reached (after an etcd restore): as recorded in
/// `fixtures/real-cluster/resource-version-too-large.md`, the watch answers 200 and sends
/// nothing at all (no event, no BOOKMARK, no ERROR) until `timeoutSeconds` ends it, unless the
/// server reaches that resourceVersion first; then it sends the changes after it.
pub(crate) fn serve(
    ctx: &Ctx,
    def: ResourceDef,
    namespace: Option<String>,
    query: &Query,
) -> Result<Response<ResBody>, ApiError> {
    let shared = &ctx.shared;
    bump(&shared.stats.watches);
    let selector = Selector::parse(query, &def)?;
    let timeout = query.number("timeoutSeconds")?;
    let send_initial_events = query.flag("sendInitialEvents");
    let allow_bookmarks = query.flag("allowWatchBookmarks");
    let from = match query.number("resourceVersion")? {
        // Streaming lists start from the current state whatever the resourceVersion.
        _ if send_initial_events => None,
        Some(0) | None => None,
        Some(rv) => Some(rv),
    };
    let options = Options {
        def,
        selector,
        bookmarks: shared.config.bookmark_interval.filter(|_| allow_bookmarks),
        initial_events_end: send_initial_events && allow_bookmarks,
        deadline: timeout.map(|t| Instant::now() + Duration::from_secs(t)),
    };
    let (tx, rx) = mpsc::channel::<FrameResult>(64);
    match shared.store.watch(def.resource, namespace, from) {
        Ok(subscription) => {
            ctx.tracker
                .spawn(run(ctx.clone(), options, subscription, tx));
        }
        Err(expired) => {
            bump(&shared.stats.watch_410s);
            let status = ApiError::Expired(format!(
                "too old resource version: {} ({})",
                expired.requested, expired.oldest
            ));
            let line = error_line(&status);
            // The channel is new and empty: the line fits, and the stream ends after it.
            let _ = tx.try_send(Ok(Frame::data(line)));
        }
    }
    let body = StreamBody::new(ReceiverStream::new(rx)).boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Writes the stream until the client leaves, the timeout passes, a fault ends it, or the
/// server stops.
async fn run(ctx: Ctx, options: Options, mut sub: Subscription, tx: mpsc::Sender<FrameResult>) {
    let stats = &ctx.shared.stats;
    let def = &options.def;
    let initial = match std::mem::replace(&mut sub.start, Start::Replay(Vec::new())) {
        Start::Snapshot(objects) => objects
            .iter()
            .filter(|o| options.selector.matches(o))
            .map(|o| line("ADDED", o, def))
            .collect::<Vec<_>>(),
        Start::Replay(changes) => changes
            .iter()
            .filter(|c| options.selector.matches(&c.object))
            .map(|c| line(c.kind.as_str(), &c.object, def))
            .collect(),
    };
    for l in initial {
        bump(&stats.watch_events);
        if tx.send(Ok(Frame::data(l))).await.is_err() {
            return;
        }
    }
    if options.initial_events_end {
        bump(&stats.bookmarks);
        if tx
            .send(Ok(Frame::data(bookmark_line(def, sub.rv, true))))
            .await
            .is_err()
        {
            return;
        }
    }
    let mut ticker = options.bookmarks.map(|every| {
        let mut t = tokio::time::interval_at(Instant::now() + every, every);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let deadline = options.deadline;
    loop {
        let frame = tokio::select! {
            () = ctx.token.cancelled() => return,
            () = tx.closed() => return,
            () = sleep_until(deadline) => return,
            () = tick(&mut ticker) => {
                // A watch from a resourceVersion the server has not reached gets nothing, not
                // even a BOOKMARK, until the server gets there (see `serve`).
                let Some(rv) = ctx.shared.store.bookmark_rv(&sub.rx).filter(|rv| *rv >= sub.rv)
                else {
                    continue;
                };
                bump(&stats.bookmarks);
                bookmark_line(def, rv, false)
            }
            msg = sub.rx.recv() => match msg {
                None => return,
                Some(WatchMsg::Change(c)) => {
                    if c.rv() <= sub.rv || !options.selector.matches(&c.object) {
                        continue;
                    }
                    bump(&stats.watch_events);
                    line(c.kind.as_str(), &c.object, def)
                }
                Some(WatchMsg::Expire) => {
                    bump(&stats.watch_410s);
                    let status = ApiError::Expired(
                        "The resourceVersion for the provided watch is too old.".into(),
                    );
                    let _ = tx.send(Ok(Frame::data(error_line(&status)))).await;
                    return;
                }
                Some(WatchMsg::Cut) => {
                    bump(&stats.connections_dropped);
                    cut(&ctx, def, &mut sub, &tx).await;
                    return;
                }
            },
        };
        if tx.send(Ok(Frame::data(frame))).await.is_err() {
            return;
        }
    }
}

/// Writes half of the next line (a pending change, else a bookmark), lets it reach the socket,
/// then fails the body so that the connection closes without the terminating chunk.
async fn cut(ctx: &Ctx, def: &ResourceDef, sub: &mut Subscription, tx: &mpsc::Sender<FrameResult>) {
    let mut next = None;
    while let Ok(msg) = sub.rx.try_recv() {
        if let WatchMsg::Change(c) = msg
            && c.rv() > sub.rv
        {
            next = Some(line(c.kind.as_str(), &c.object, def));
            break;
        }
    }
    let whole = next.unwrap_or_else(|| bookmark_line(def, ctx.shared.store.rv(), false));
    let half = whole.slice(..whole.len() / 2);
    if tx.send(Ok(Frame::data(half))).await.is_err() {
        return;
    }
    tokio::time::sleep(CUT_FLUSH).await;
    let _ = tx
        .send(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection dropped by the simulated API server",
        )))
        .await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// `{"type":"ADDED","object":{...}}\n`
fn line(kind: &str, object: &Arc<Stored>, def: &ResourceDef) -> Bytes {
    match object.render(def, true) {
        Ok(json) => framed(kind, &json),
        Err(e) => error_line(&ApiError::Internal(e.to_string())),
    }
}

fn framed(kind: &str, object: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(object.len() + 32);
    buf.put_slice(br#"{"type":""#);
    buf.put_slice(kind.as_bytes());
    buf.put_slice(br#"","object":"#);
    buf.put_slice(object);
    buf.put_slice(b"}\n");
    buf.freeze()
}

fn error_line(status: &ApiError) -> Bytes {
    framed("ERROR", &status.to_json())
}

/// A BOOKMARK: for events the zero-valued Event of the requested view with only the
/// resourceVersion set, exactly as kube-apiserver sends it; for other kinds the same shape.
fn bookmark_line(def: &ResourceDef, rv: u64, initial_events_end: bool) -> Bytes {
    let body = if def.event_view().is_some() {
        let mut ev = CoreEvent::default();
        if initial_events_end {
            ev.metadata
                .annotations
                .insert(INITIAL_EVENTS_END.into(), "true".into());
        }
        Body::Event(Box::new(ev))
    } else {
        let mut metadata = Map::new();
        if initial_events_end {
            metadata.insert("annotations".into(), json!({ INITIAL_EVENTS_END: "true" }));
        }
        let mut object = Map::new();
        object.insert("apiVersion".into(), Value::String(def.api_version()));
        object.insert("kind".into(), Value::String(def.kind.into()));
        object.insert("metadata".into(), Value::Object(metadata));
        Body::Object(object)
    };
    let stored = Arc::new(Stored::new(def.resource, body, rv, Instant::now()));
    line("BOOKMARK", &stored, def)
}

#[cfg(test)]
mod tests {
    use super::super::resource::by_kind;
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-cluster/");

    #[test]
    fn initial_events_end_bookmarks_match_the_recorded_ones_byte_for_byte() {
        for (file, api_version) in [
            ("watch-core-v1-with-series-and-ttl.jsonl", "v1"),
            (
                "watch-events.k8s.io-v1-with-series-and-ttl.jsonl",
                "events.k8s.io/v1",
            ),
        ] {
            let text = std::fs::read_to_string(format!("{FIXTURES}{file}")).unwrap();
            let recorded = text
                .lines()
                .find(|l| l.contains(r#""type":"BOOKMARK""#))
                .unwrap();
            let ours = bookmark_line(&by_kind(api_version, "Event").unwrap(), 285, true);
            assert_eq!(std::str::from_utf8(&ours).unwrap(), format!("{recorded}\n"));
        }
    }

    #[test]
    fn bookmarks_of_other_kinds_carry_kind_api_version_and_resource_version() {
        let lease = by_kind("coordination.k8s.io/v1", "Lease").unwrap();
        let line = bookmark_line(&lease, 9, false);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"type\":\"BOOKMARK\",\"object\":{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
        );
    }
}
