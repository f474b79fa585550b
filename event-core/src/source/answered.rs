//! A client that tells a scope's [`Health`] each time the API server answers it.
//!
//! kube-rs's watcher re-watches after an error without yielding anything, and on a quiet cluster
//! nothing may arrive for a long time after; so the only sign that a failing watch recovered is
//! the API server answering its next request. Every list and watch of a scope goes through its
//! own client, which sees those answers.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use kube::Client;
use kube::client::Body;

use crate::health::Health;

/// A client for one scope: `client`, reporting successful answers to `health`.
pub(super) fn reporting_client(client: &Client, health: Health, scope: Arc<str>) -> Client {
    let service = Answered {
        client: client.clone(),
        health,
        scope,
    };
    Client::new(service, client.default_namespace().to_owned())
}

#[derive(Clone)]
struct Answered {
    client: Client,
    health: Health,
    scope: Arc<str>,
}

impl tower_service::Service<http::Request<Body>> for Answered {
    type Response = http::Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The inner client buffers requests itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let response = this.client.send(request).await?;
            // A watch answers its headers once connected; a list once the page is ready.
            if response.status().is_success() {
                this.health.answered(&this.scope);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use k8s_openapi::api::core::v1::Pod;
    use kube::Api;
    use kube::api::ListParams;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A one-shot HTTP server answering `status` with a JSON `body`.
    async fn answer_once(status: &'static str, body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        });
        format!("http://{addr}")
    }

    fn client(url: &str) -> Client {
        let mut config = kube::Config::new(url.parse().unwrap());
        config.read_timeout = Some(Duration::from_secs(5));
        Client::try_from(config).unwrap()
    }

    fn failing_health() -> Health {
        let health = Health::default();
        health.register("pods@*");
        health.established("pods@*");
        health.failed("pods@*", &"connection refused");
        health
    }

    fn is_failing(health: &Health) -> bool {
        !matches!(
            health.readiness(Duration::ZERO).scopes[0].status,
            crate::health::ScopeStatus::Ready
        )
    }

    #[tokio::test]
    async fn a_successful_answer_ends_a_failure() {
        let url = answer_once(
            "200 OK",
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[]}"#,
        )
        .await;
        let health = failing_health();
        assert!(is_failing(&health));
        let client = reporting_client(&client(&url), health.clone(), Arc::from("pods@*"));
        let pods: Api<Pod> = Api::all(client);
        let list = pods.list(&ListParams::default()).await.unwrap();
        assert!(list.items.is_empty());
        assert!(!is_failing(&health));
    }

    #[tokio::test]
    async fn an_error_answer_is_not_a_recovery_and_stays_an_api_error() {
        let url = answer_once(
            "403 Forbidden",
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden","reason":"Forbidden","code":403}"#,
        )
        .await;
        let health = failing_health();
        let client = reporting_client(&client(&url), health.clone(), Arc::from("pods@*"));
        let pods: Api<Pod> = Api::all(client);
        let err = pods.list(&ListParams::default()).await.unwrap_err();
        assert!(
            matches!(err, kube::Error::Api(ref s) if s.code == 403),
            "{err:?}"
        );
        assert!(is_failing(&health));
    }
}
