//! Request dispatch: health faults first, then the path and method decide the handler.

use std::sync::atomic::Ordering;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::crud;
use super::discovery;
use super::list;
use super::query::Query;
use super::refusal;
use super::resource::{Route, route};
use super::respond::{Ctx, ResBody, error};
use super::stats::bump;
use super::status::ApiError;
use super::watch;

/// Answers one request.
pub(crate) async fn handle(ctx: &Ctx, req: Request<Incoming>) -> Response<ResBody> {
    let stats = &ctx.shared.stats;
    bump(&stats.requests);
    if ctx.shared.unavailable.load(Ordering::Relaxed) {
        bump(&stats.unavailable_responses);
        return error(&ApiError::Unavailable);
    }
    let query = Query::parse(req.uri().query());
    let path = req.uri().path().to_owned();
    let route = route(&ctx.shared.served, &path);
    if let Err(refused) = refusal::check(ctx.shared.refusal(), &route, req.method(), &query) {
        return error(&refused);
    }
    let result = match (route, req.method().clone()) {
        (Route::NotFound, _) => Err(ApiError::NoRoute),
        (Route::Collection { def, namespace }, Method::GET) => {
            if query.flag("watch") {
                watch::serve(ctx, def, namespace, &query)
            } else {
                list::serve(ctx, def, namespace.as_deref(), &query).await
            }
        }
        (Route::Collection { def, namespace }, Method::POST) => {
            crud::create(ctx, def, namespace, req).await
        }
        (
            Route::Object {
                def,
                namespace,
                name,
            },
            method,
        ) => {
            let target = crud::Target {
                def,
                namespace,
                name,
            };
            match method {
                Method::GET => crud::get(ctx, &target),
                Method::PUT => crud::replace(ctx, &target, req).await,
                Method::PATCH => crud::patch(ctx, &target, req).await,
                Method::DELETE => crud::delete(ctx, &target, req).await,
                _ => Err(ApiError::MethodNotAllowed),
            }
        }
        (discovery_route, Method::GET) => {
            discovery::serve(ctx, &discovery_route, req.headers(), &path)
        }
        _ => Err(ApiError::MethodNotAllowed),
    };
    result.unwrap_or_else(|err| error(&err))
}
