//! LIST: `limit`/`continue` pagination over a consistent snapshot, `resourceVersion` and
//! `resourceVersionMatch`, selectors, and the List envelope kube-apiserver writes.
//!
//! A list at a resourceVersion the server has not reached waits for it, then answers 504
//! `Timeout: Too large resource version` as kube-apiserver does (recorded in
//! `fixtures/real-cluster/resource-version-too-large.md` for `NotOlderThan` and for no
//! `resourceVersionMatch`). `Exact` and a continue token from ahead are not in the recording;
//! they take the same answer, which is where kube-apiserver's check for a requested version
//! sends every read ahead of its store.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use hyper::{Response, StatusCode};
use serde::Serialize;

use super::query::Query;
use super::resource::ResourceDef;
use super::respond::{Ctx, ResBody, json};
use super::select::Selector;
use super::stats::bump;
use super::status::ApiError;
use super::store::{Expired, ReadAt};
use super::token;

/// `metav1.ListMeta` in Go's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    resource_version: String,
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining_item_count: Option<usize>,
}

/// Answers a list request.
///
/// # Errors
///
/// 400 for a malformed parameter or token, 410 Expired for a continue token or exact
/// resourceVersion older than the history kept, 504 for one the server has not reached within
/// [`too_large_wait`](crate::SimConfig::too_large_wait).
pub(crate) async fn serve(
    ctx: &Ctx,
    def: ResourceDef,
    namespace: Option<&str>,
    query: &Query,
) -> Result<Response<ResBody>, ApiError> {
    let shared = &ctx.shared;
    bump(&shared.stats.list_pages);
    let selector = Selector::parse(query, &def)?;
    let asked = query
        .number("limit")?
        .filter(|l| *l > 0)
        .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let limit = match (asked, shared.config.max_page_size) {
        (Some(asked), Some(cap)) => Some(asked.min(cap)),
        (asked, cap) => asked.or(cap),
    };
    let (at, after) = if let Some(continue_) = query.get("continue") {
        let (rv, last) = token::decode(continue_, namespace, def.namespaced)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        (ReadAt::Continue(rv), Some(last))
    } else {
        bump(&shared.stats.lists);
        let rv = query.number("resourceVersion")?;
        match (rv, query.get("resourceVersionMatch")) {
            (Some(rv), Some("Exact")) => (ReadAt::Exact(rv), None),
            (None, Some(m)) => {
                return Err(ApiError::BadRequest(format!(
                    "resourceVersionMatch {m:?} is forbidden unless resourceVersion is provided"
                )));
            }
            // "NotOlderThan", "0" and no resourceVersion all serve the latest state, which is
            // never older than anything asked for.
            _ => (ReadAt::Latest, None),
        }
    };
    let requested = match at {
        ReadAt::Latest => query.number("resourceVersion")?,
        ReadAt::Exact(rv) | ReadAt::Continue(rv) => Some(rv),
    };
    if let Some(requested) = requested {
        wait_for(ctx, requested).await?;
    }
    // The same selectors filter the same way: the store's count of what follows a page is
    // kept per filter.
    let scope = format!(
        "{}\n{}",
        query.get("fieldSelector").unwrap_or_default(),
        query.get("labelSelector").unwrap_or_default()
    );
    let page = shared
        .store
        .list(
            def.resource,
            namespace,
            at,
            after.as_ref(),
            limit,
            &scope,
            &|s| selector.matches(s),
        )
        .map_err(|expired| {
            bump(&shared.stats.list_410s);
            expired_error(at, expired)
        })?;
    let metadata = ListMeta {
        resource_version: page.rv.to_string(),
        continue_: page
            .next
            .as_ref()
            .map(|last| token::encode(page.rv, last, namespace.is_none())),
        remaining_item_count: page.next.as_ref().map(|_| page.remaining),
    };
    let mut body = BytesMut::with_capacity(256 + page.items.len() * 1024);
    body.put_slice(
        format!(
            r#"{{"kind":"{}List","apiVersion":"{}","metadata":"#,
            def.kind,
            def.api_version()
        )
        .as_bytes(),
    );
    body.put_slice(&serde_json::to_vec(&metadata).map_err(internal)?);
    body.put_slice(br#","items":["#);
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            body.put_u8(b',');
        }
        body.put_slice(&item.render(&def, false).map_err(internal)?);
    }
    body.put_slice(b"]}");
    Ok(json(StatusCode::OK, Bytes::from(body)))
}

/// How often a list ahead of the server looks whether the server has caught up.
const CATCH_UP_POLL: Duration = Duration::from_millis(10);

/// Waits until the server has reached `requested`, for at most the configured wait.
///
/// # Errors
///
/// [`ApiError::TooLargeResourceVersion`] when it has not by then.
async fn wait_for(ctx: &Ctx, requested: u64) -> Result<(), ApiError> {
    let shared = &ctx.shared;
    let deadline = tokio::time::Instant::now() + shared.config.too_large_wait;
    loop {
        let current = shared.store.rv();
        if current >= requested {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bump(&shared.stats.list_too_large);
            return Err(ApiError::TooLargeResourceVersion { requested, current });
        }
        tokio::time::sleep(CATCH_UP_POLL.min(shared.config.too_large_wait)).await;
    }
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn expired_error(at: ReadAt, expired: Expired) -> ApiError {
    match at {
        ReadAt::Continue(_) => ApiError::Expired(
            "The provided continue parameter is too old to display a consistent list result. \
             You can start a new list without the continue parameter."
                .into(),
        ),
        _ => ApiError::Expired(format!(
            "too old resource version: {} ({})",
            expired.requested, expired.oldest
        )),
    }
}
