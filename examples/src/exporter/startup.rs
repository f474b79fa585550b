//! Waiting for the API server at start: discovery and a first list of every watched resource,
//! retried with jittered exponential backoff while the server does not answer, so that a short
//! control-plane outage is not a crash loop (whose back-off, up to 5 minutes in a pod, could
//! outlast etcd's history window). What a restart cannot fix stops the start at once, with one
//! line naming the credential, the permission or the setting.
//!
//! While it waits, the process is alive (`/healthz` 200) and not ready (`/readyz` 503, the
//! [`API_SCOPE`] line giving the last error), `event_keeper_api_unreachable` is 1 and
//! `event_keeper_api_start_errors_total` counts the failed attempts; each attempt logs one
//! warning with its backoff.
//!
//! Over 400 lines with its tests only (about 360 without).

use std::fmt::Write as _;
use std::time::Duration;

use event_core::health::Health;
use event_core::metrics::Metrics;
use event_core::retry::Backoff;
use event_core::{ApiChoice, EventStreamConfig};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use tokio_util::sync::CancellationToken;

/// The readiness scope of the start-up wait: registered (not ready) until the API server
/// answered discovery and a first list, then forgotten.
pub const API_SCOPE: &str = "api-server";

/// The first backoff step: the first retry comes within a second.
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// The longest backoff step, as client-go's reflector caps its own.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long one attempt may take: a server that accepts connections but does not answer is
/// retried like one that refuses them. A first list asks for one object, so it is quick.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the exporter cannot start against the API server: what a restart does not fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The API server refused the credentials (401).
    #[error(
        "the API server refused the credentials (401 Unauthorized: {message}) when asked to {action}; check the user of the kubeconfig, or the service account token in a pod"
    )]
    Unauthorized {
        /// The request refused, e.g. `list events.k8s.io/v1 events in all namespaces`.
        action: String,
        /// The server's message.
        message: String,
    },
    /// The credentials lack an RBAC permission (403).
    #[error(
        "missing RBAC permission: the API server forbids to {action} (403 Forbidden: {message}); grant {verb} on {resource} to the exporter's service account (deploy/ has the ClusterRole)"
    )]
    Forbidden {
        /// The request refused, e.g. `list events.k8s.io/v1 events in all namespaces`.
        action: String,
        /// The verbs to grant, e.g. `list and watch`.
        verb: &'static str,
        /// The resource, e.g. `events.events.k8s.io`.
        resource: String,
        /// The server's message.
        message: String,
    },
    /// The request is invalid as configured: a selector the server does not accept, an Events
    /// API it does not serve.
    #[error(
        "the API server refused to {action} ({code} {reason}: {message}); fix `source` in the configuration ({hint})"
    )]
    Refused {
        /// The request refused.
        action: String,
        /// The HTTP status code.
        code: u16,
        /// The Status reason, e.g. `BadRequest`.
        reason: String,
        /// The server's message.
        message: String,
        /// Which settings make up the request.
        hint: &'static str,
    },
    /// The client could not obtain credentials (an exec plugin or a token file failed).
    #[error(
        "cannot obtain credentials for the API server: {0}; check the user of the kubeconfig (its exec plugin or token file)"
    )]
    Credentials(#[source] kube::Error),
}

/// One request of the start-up check, for messages.
#[derive(Clone, Debug)]
struct Target {
    resource: ApiResource,
    namespace: Option<String>,
    label_selector: Option<String>,
    field_selector: Option<String>,
}

impl Target {
    fn action(&self) -> String {
        let scope = match &self.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "in all namespaces".to_owned(),
        };
        format!(
            "list {} {} {scope}",
            self.resource.api_version, self.resource.plural
        )
    }

    fn resource_name(&self) -> String {
        if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        }
    }
}

/// Why one attempt failed.
enum Failure {
    /// Worth another attempt: the connection, a timeout, a 5xx or 429.
    Retry(String),
    /// A restart would not help.
    Fatal(StartupError),
}

/// Waits until the API server answers discovery and a first list of every resource `source`
/// watches, retrying with backoff. Returns `source` with its Events API resolved (never
/// [`ApiChoice::Auto`]), so that connecting the stream needs no discovery of its own; `None`
/// when `shutdown` came first.
///
/// # Errors
///
/// [`StartupError`] when the server refuses for a reason a restart does not fix.
pub(crate) async fn wait_for_api(
    client: &kube::Client,
    source: &EventStreamConfig,
    (metrics, health): (&Metrics, &Health),
    shutdown: &CancellationToken,
) -> Result<Option<EventStreamConfig>, StartupError> {
    health.register(API_SCOPE);
    let mut backoff = Backoff::new(BACKOFF_INITIAL, BACKOFF_MAX);
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        let outcome = tokio::select! {
            () = shutdown.cancelled() => None,
            outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, check(client, source)) => Some(outcome),
        };
        let error = match outcome {
            None => {
                health.forget(API_SCOPE);
                return Ok(None);
            }
            Some(Ok(Ok(resolved))) => {
                health.forget(API_SCOPE);
                metrics.set_api_unreachable(false);
                if attempt > 1 {
                    tracing::info!(attempts = attempt, "the API server answers; starting");
                }
                return Ok(Some(resolved));
            }
            Some(Ok(Err(Failure::Fatal(error)))) => {
                health.forget(API_SCOPE);
                metrics.set_api_unreachable(false);
                return Err(error);
            }
            Some(Ok(Err(Failure::Retry(error)))) => error,
            Some(Err(_elapsed)) => format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs()),
        };
        metrics.add_api_start_errors(1);
        metrics.set_api_unreachable(true);
        health.failed(
            API_SCOPE,
            &format_args!("waiting for the API server: {error}"),
        );
        let delay = backoff.next_delay();
        tracing::warn!(
            attempt,
            retry_in_secs = delay.as_secs_f64(),
            %error,
            "the API server does not answer; waiting for it before exporting"
        );
        tokio::select! {
            () = shutdown.cancelled() => {
                health.forget(API_SCOPE);
                return Ok(None);
            }
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One attempt: discovery, then a list of one object of every watched resource (proving the
/// address, the credentials, the RBAC permissions and the selectors at once).
async fn check(
    client: &kube::Client,
    source: &EventStreamConfig,
) -> Result<EventStreamConfig, Failure> {
    let api = resolve_api(client, source.api).await?;
    let mut resolved = source.clone();
    resolved.api = api;
    for target in targets(&resolved) {
        let list: Api<DynamicObject> = match &target.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &target.resource),
            None => Api::all_with(client.clone(), &target.resource),
        };
        let mut params = ListParams::default().limit(1);
        if let Some(labels) = &target.label_selector {
            params = params.labels(labels);
        }
        if let Some(fields) = &target.field_selector {
            params = params.fields(fields);
        }
        if let Err(error) = list.list(&params).await {
            return Err(classify(&target, error));
        }
    }
    Ok(resolved)
}

/// The Events API to watch, as `EventStream` resolves `auto`: `events.k8s.io/v1` when the
/// server serves its events, else `core/v1`.
async fn resolve_api(client: &kube::Client, choice: ApiChoice) -> Result<ApiChoice, Failure> {
    if choice != ApiChoice::Auto {
        return Ok(choice);
    }
    match client.list_api_group_resources("events.k8s.io/v1").await {
        Ok(list) if list.resources.iter().any(|r| r.name == "events") => Ok(ApiChoice::EventsV1),
        Ok(_) => Ok(ApiChoice::CoreV1),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            tracing::info!(
                "the API server does not serve events.k8s.io/v1; watching core/v1 Events"
            );
            Ok(ApiChoice::CoreV1)
        }
        Err(error) => Err(classify_request(
            "discover the Events APIs (get /apis/events.k8s.io/v1)",
            "get",
            "the API discovery of events.k8s.io/v1",
            error,
        )),
    }
}

/// Every resource the stream will list: the Events of each namespace (or of all), then each
/// kind of `objects`, per namespace for a namespaced kind.
fn targets(source: &EventStreamConfig) -> Vec<Target> {
    let namespaces: Vec<Option<String>> = if source.namespaces.is_empty() {
        vec![None]
    } else {
        source.namespaces.iter().cloned().map(Some).collect()
    };
    let events = match source.api {
        ApiChoice::CoreV1 => resource("", "v1", "Event", "events"),
        _ => resource("events.k8s.io", "v1", "Event", "events"),
    };
    let mut targets: Vec<Target> = namespaces
        .iter()
        .map(|namespace| Target {
            resource: events.clone(),
            namespace: namespace.clone(),
            label_selector: source.label_selector.clone(),
            field_selector: source.field_selector.clone(),
        })
        .collect();
    let mut objects = source.objects.clone();
    objects.sort_unstable();
    objects.dedup();
    for kind in objects {
        // Every object kind a source watches is a core/v1 resource named by its plural.
        let def = resource("", "v1", "", kind.as_str());
        let scopes: &[Option<String>] = if kind.is_namespaced() {
            &namespaces
        } else {
            &[None]
        };
        targets.extend(scopes.iter().map(|namespace| Target {
            resource: def.clone(),
            namespace: namespace.clone(),
            label_selector: None,
            field_selector: None,
        }));
    }
    targets
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn classify(target: &Target, error: kube::Error) -> Failure {
    let action = target.action();
    let resource = target.resource_name();
    match error {
        kube::Error::Api(status) if matches!(status.code, 400 | 404 | 422) => {
            Failure::Fatal(StartupError::Refused {
                action,
                code: status.code,
                reason: printable(&status.reason),
                message: printable(&status.message),
                hint: "source.api, source.namespaces, source.label_selector, source.field_selector, source.objects",
            })
        }
        // The watch lists, then watches: a grant of `list` alone would fail next.
        error => classify_request(&action, "list and watch", &resource, error),
    }
}

/// Classifies a failed request by what a restart could change: the credentials (401), the RBAC
/// permissions (403) and how the client obtains credentials are fatal; everything else (no
/// connection, timeouts, 429, 5xx) is retried.
fn classify_request(
    action: &str,
    verb: &'static str,
    resource: &str,
    error: kube::Error,
) -> Failure {
    match error {
        kube::Error::Api(status) if status.code == 401 => {
            Failure::Fatal(StartupError::Unauthorized {
                action: action.to_owned(),
                message: printable(&status.message),
            })
        }
        kube::Error::Api(status) if status.code == 403 => Failure::Fatal(StartupError::Forbidden {
            action: action.to_owned(),
            verb,
            resource: resource.to_owned(),
            message: printable(&status.message),
        }),
        kube::Error::Auth(_) => Failure::Fatal(StartupError::Credentials(error)),
        error => Failure::Retry(format!("cannot {action}: {}", printable(&chain(&error)))),
    }
}

/// The error and its causes on one line, each cause once.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            let _ = write!(text, ": {more}");
        }
        cause = inner.source();
    }
    text
}

/// Text from the cluster or the network, with every control character escaped, so that a log
/// line or a terminal shows it as it is and on one line.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use event_core::ObjectKind;

    use super::*;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure(message, reason)
                .with_code(code)
                .boxed(),
        )
    }

    fn all_events() -> Target {
        targets(&EventStreamConfig::default().api(ApiChoice::EventsV1)).remove(0)
    }

    #[test]
    fn lists_the_events_of_each_namespace_and_each_object_kind() {
        let config = EventStreamConfig::default()
            .api(ApiChoice::CoreV1)
            .namespaces(["a", "b"])
            .objects([ObjectKind::Nodes, ObjectKind::Pods, ObjectKind::Pods]);
        let actions: Vec<String> = targets(&config).iter().map(Target::action).collect();
        assert_eq!(
            actions,
            [
                "list v1 events in namespace a",
                "list v1 events in namespace b",
                "list v1 pods in namespace a",
                "list v1 pods in namespace b",
                "list v1 nodes in all namespaces",
            ]
        );
    }

    #[test]
    fn forbidden_names_the_verb_and_the_resource() {
        let Failure::Fatal(error) = classify(
            &all_events(),
            status(
                403,
                "Forbidden",
                "events.events.k8s.io is forbidden: User \"x\" cannot list resource \"events\"",
            ),
        ) else {
            panic!("403 is fatal");
        };
        let line = error.to_string();
        assert!(line.starts_with("missing RBAC permission"), "{line}");
        assert!(
            line.contains("list events.k8s.io/v1 events in all namespaces"),
            "{line}"
        );
        assert!(
            line.contains("grant list and watch on events.events.k8s.io"),
            "{line}"
        );
    }

    #[test]
    fn unauthorized_says_to_check_the_credentials() {
        let Failure::Fatal(error) =
            classify(&all_events(), status(401, "Unauthorized", "Unauthorized"))
        else {
            panic!("401 is fatal");
        };
        assert!(
            error.to_string().contains("refused the credentials"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_selector_is_fatal_and_points_at_the_source_settings() {
        let Failure::Fatal(error) = classify(
            &all_events(),
            status(400, "BadRequest", "field label not supported: foo"),
        ) else {
            panic!("400 is fatal");
        };
        assert!(error.to_string().contains("fix `source`"), "{error}");
    }

    #[test]
    fn server_errors_and_throttling_are_retried() {
        for code in [429, 500, 503, 504] {
            assert!(
                matches!(
                    classify(&all_events(), status(code, "x", "y")),
                    Failure::Retry(_)
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn control_characters_from_the_server_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
    }
}
