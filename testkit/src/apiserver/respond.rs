//! What every handler works with: its [`Ctx`], and the responses it answers with.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode, header};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::state::Shared;
use super::status::ApiError;

/// The body of every response: a whole JSON document, or a watch stream.
pub(crate) type ResBody = BoxBody<Bytes, io::Error>;

/// What a request handler can reach: the shared state, and the token and task tracker of the
/// current listening period (so `stop()` ends watches too).
#[derive(Clone)]
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub token: CancellationToken,
    pub tracker: TaskTracker,
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<ResBody> {
    let mut response = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, private"),
    );
    response
}

/// The response for a failed request: its status code and a Status body.
pub(crate) fn error(err: &ApiError) -> Response<ResBody> {
    let status = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, err.to_json())
}
