//! [`ConfigMapCheckpointStore`]: the checkpoint in a ConfigMap, so that a new leader resumes
//! where the old one stopped, guarded by resourceVersion preconditions.
//!
//! Over 400 lines with its tests only (about 370 without).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;

use super::state::FORMAT_VERSION;
use super::{Checkpoint, CheckpointError, CheckpointStore, EncodedCheckpoint};

const MAX_CONFIGMAP_BYTES: usize = ConfigMapCheckpointStore::MAX_BYTES;
const DATA_KEY: &str = ConfigMapCheckpointStore::DATA_KEY;

/// Rewritten by every [`load`](ConfigMapCheckpointStore::load) so that the ConfigMap's
/// resourceVersion moves (an unchanged object would not), fencing out earlier writers.
const CLAIM_ANNOTATION: &str = "event-keeper/claim";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times `load` reads again when another writer moved the ConfigMap meanwhile.
const CLAIM_ATTEMPTS: usize = 3;

/// A checkpoint in `data["checkpoint.json"]` of a ConfigMap, as the same JSON as
/// [`FileCheckpointStore`](super::FileCheckpointStore) writes, labelled
/// `app.kubernetes.io/name: event-keeper` and `app.kubernetes.io/component: checkpoint`.
///
/// The first save creates the ConfigMap. Every later save replaces it on condition that its
/// resourceVersion is still the one this store last loaded or wrote, so an instance that was
/// deposed cannot overwrite the new leader's checkpoint: it gets
/// [`CheckpointError::Backend`] saying another instance wrote it (the source is kube's 409
/// error), and keeps getting it, since only [`load`](CheckpointStore::load) refreshes the
/// version. `load` also takes the ConfigMap over (it rewrites the `event-keeper/claim`
/// annotation), so a new leader fences out the old one as soon as it has loaded, before its
/// first save. Load only when this instance has become the leader.
///
/// RBAC: `get` and `update` on the ConfigMap (`resourceNames` may name it) and `create` on
/// configmaps in its namespace.
///
/// Clones share the version last seen, so a clone kept aside sees what the pipeline's copy
/// did; each request times out after [`timeout`](Self::timeout).
///
/// ```no_run
/// # async fn demo(client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::checkpoint::{ConfigMapCheckpointStore, Ledger, LedgerConfig};
///
/// let store = ConfigMapCheckpointStore::new(client, "event-keeper", "event-keeper-checkpoint");
/// let ledger = Ledger::load(&store, LedgerConfig::default()).await?;
/// // Pipeline::new(events).checkpoint(ledger, store) ...
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConfigMapCheckpointStore {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
    timeout: Duration,
    fence_on_load: bool,
    /// The ConfigMap as last loaded or written: its resourceVersion is the next precondition.
    known: Arc<Mutex<Known>>,
}

#[derive(Clone, Debug)]
enum Known {
    /// Neither loaded nor saved yet: a save creates.
    Unknown,
    /// Loaded, and it did not exist: a save creates.
    Absent,
    /// Loaded or saved: a save replaces this version.
    Present(Box<ConfigMap>),
}

impl std::fmt::Debug for ConfigMapCheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigMapCheckpointStore")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a request failed: the API's answer, or none in time.
enum Failure {
    Api(kube::Error),
    Timeout,
}

impl ConfigMapCheckpointStore {
    /// The most a ConfigMap may hold: kube-apiserver refuses one whose `data` and `binaryData`
    /// values add up to more (`MaxSecretSize`, 1 MiB, in its ConfigMap validation). A larger
    /// checkpoint is refused before it is sent.
    pub const MAX_BYTES: usize = 1024 * 1024;

    /// The `data` key that holds the checkpoint JSON.
    pub const DATA_KEY: &'static str = "checkpoint.json";

    /// A store in the ConfigMap `name` of `namespace`; it is created on the first save.
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        ConfigMapCheckpointStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            fence_on_load: true,
            known: Arc::new(Mutex::new(Known::Unknown)),
        }
    }

    /// How long one request may take (default 10 s); a slower one fails the load or save.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether `load` takes the ConfigMap over (default `true`). Turn it off for a reader that
    /// must not disturb the leader, such as a tool that prints the checkpoint.
    #[must_use]
    pub fn fence_on_load(mut self, fence: bool) -> Self {
        self.fence_on_load = fence;
        self
    }

    /// The ConfigMap's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The ConfigMap's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn set_known(&self, known: Known) {
        *self.known.lock().unwrap_or_else(PoisonError::into_inner) = known;
    }

    fn known(&self) -> Known {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn location(&self) -> String {
        format!("configmap {}/{}", self.namespace, self.name)
    }

    fn backend(&self, message: String, source: Option<kube::Error>) -> CheckpointError {
        CheckpointError::Backend {
            store: self.location(),
            message,
            source: source.map(|e| Box::new(e) as crate::BoxError),
        }
    }

    async fn call<T>(
        &self,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Failure::Api(error)),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// A failed request as a [`CheckpointError`]; a 403 names the RBAC rule to grant.
    fn failed(&self, verb: &'static str, failure: Failure) -> CheckpointError {
        let (ns, name) = (&self.namespace, &self.name);
        match failure {
            Failure::Timeout => self.backend(
                format!(
                    "{verb} timed out after {:?}; check that the API server is reachable",
                    self.timeout
                ),
                None,
            ),
            Failure::Api(error) if status_code(&error) == Some(403) => self.backend(
                format!(
                    "not allowed to {verb} it: grant get, create, update on configmaps named {name} in namespace {ns} (create cannot be limited by name: allow it on configmaps in {ns})"
                ),
                Some(error),
            ),
            Failure::Api(error) => self.backend(
                format!("{verb} failed ({error}); check that the API server is reachable"),
                Some(error),
            ),
        }
    }

    fn conflict(&self, error: kube::Error) -> CheckpointError {
        self.backend(
            "another instance wrote the checkpoint since this one last loaded or saved it (409 Conflict); nothing was written. This instance is probably no longer the leader and must stop exporting: the leader's checkpoint stays as it is".into(),
            Some(error),
        )
    }

    /// Rewrites the claim annotation on condition of `cm`'s resourceVersion.
    async fn claim(&self, mut cm: ConfigMap) -> Result<ConfigMap, Failure> {
        let claim = format!("{} {:016x}", Timestamp::now(), fastrand::u64(..));
        cm.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(CLAIM_ANNOTATION.to_owned(), claim);
        self.call(self.api.replace(&self.name, &PostParams::default(), &cm))
            .await
    }

    async fn create(&self, data: String) -> Result<(), CheckpointError> {
        let mut cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        fill(&mut cm, data);
        match self
            .call(self.api.create(&PostParams::default(), &cm))
            .await
        {
            Ok(created) => {
                self.set_known(Known::Present(Box::new(created)));
                Ok(())
            }
            // AlreadyExists: someone else created it since we looked (or we never did).
            Err(Failure::Api(e)) if status_code(&e) == Some(409) => Err(self.conflict(e)),
            Err(failure) => Err(self.failed("create", failure)),
        }
    }

    async fn replace(&self, mut cm: ConfigMap, data: String) -> Result<(), CheckpointError> {
        fill(&mut cm, data);
        match self
            .call(self.api.replace(&self.name, &PostParams::default(), &cm))
            .await
        {
            Ok(stored) => {
                self.set_known(Known::Present(Box::new(stored)));
                Ok(())
            }
            Err(Failure::Api(e)) if status_code(&e) == Some(409) => Err(self.conflict(e)),
            Err(Failure::Api(e)) if status_code(&e) == Some(404) => {
                // Deleted behind our back (to start afresh): the next save creates it again.
                tracing::warn!(checkpoint = %self.location(), "checkpoint configmap was deleted; the next save creates it again");
                self.set_known(Known::Absent);
                Err(self.failed("update", Failure::Api(e)))
            }
            Err(failure) => Err(self.failed("update", failure)),
        }
    }
}

#[async_trait]
impl CheckpointStore for ConfigMapCheckpointStore {
    async fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let found = self
                .call(self.api.get_opt(&self.name))
                .await
                .map_err(|f| self.failed("get", f))?;
            let Some(cm) = found else {
                self.set_known(Known::Absent);
                return Ok(None);
            };
            // Parsed before the claim: a corrupt checkpoint is reported and left as it is.
            let checkpoint = parse(&self.location(), &cm)?;
            if !self.fence_on_load {
                self.set_known(Known::Present(Box::new(cm)));
                return Ok(Some(checkpoint));
            }
            match self.claim(cm).await {
                Ok(claimed) => {
                    self.set_known(Known::Present(Box::new(claimed)));
                    return Ok(Some(checkpoint));
                }
                // Written since our read: read the newer checkpoint and claim that.
                Err(Failure::Api(e)) if status_code(&e) == Some(409) => continue,
                Err(failure) => return Err(self.failed("update", failure)),
            }
        }
        Err(self.backend(
            format!("another instance kept writing the checkpoint while this one loaded it ({CLAIM_ATTEMPTS} tries); is a former leader still running?"),
            None,
        ))
    }

    async fn save(&self, checkpoint: EncodedCheckpoint) -> Result<(), CheckpointError> {
        let events = checkpoint.events();
        self.write(checkpoint.into_string(), events).await
    }
}

impl ConfigMapCheckpointStore {
    /// Writes the checkpoint's JSON, `events` tracked one by one, into the ConfigMap.
    async fn write(&self, data: String, events: usize) -> Result<(), CheckpointError> {
        check_size(&data, events).map_err(|message| self.backend(message, None))?;
        match self.known() {
            Known::Present(cm) => self.replace(*cm, data).await,
            Known::Absent | Known::Unknown => self.create(data).await,
        }
    }
}

/// Puts the checkpoint and the labels into `cm`, keeping everything else it carries.
fn fill(cm: &mut ConfigMap, data: String) {
    let labels = cm.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert("app.kubernetes.io/name".into(), "event-keeper".into());
    labels.insert("app.kubernetes.io/component".into(), "checkpoint".into());
    cm.data
        .get_or_insert_with(BTreeMap::new)
        .insert(DATA_KEY.to_owned(), data);
}

fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Refuses a checkpoint that the API server would refuse (422) for its size.
fn check_size(data: &str, events: usize) -> Result<(), String> {
    if data.len() <= MAX_CONFIGMAP_BYTES {
        return Ok(());
    }
    Err(format!(
        "the checkpoint is {} bytes ({} events), over the {MAX_CONFIGMAP_BYTES} bytes a ConfigMap holds; nothing was written and the previous checkpoint stays. Keep it in a file on a persistent volume instead, or track fewer events (a shorter event TTL)",
        data.len(),
        events
    ))
}

/// The checkpoint in `cm`, refusing a newer format by its version rather than as corruption.
fn parse(location: &str, cm: &ConfigMap) -> Result<Checkpoint, CheckpointError> {
    let path = || PathBuf::from(format!("{location} key {DATA_KEY}"));
    let Some(text) = cm.data.as_ref().and_then(|d| d.get(DATA_KEY)) else {
        return Err(CheckpointError::Corrupt {
            path: path(),
            source: serde::de::Error::custom(format!("the ConfigMap has no data key {DATA_KEY}")),
        });
    };
    #[derive(serde::Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    if let Ok(v) = serde_json::from_str::<VersionOnly>(text)
        && v.version > FORMAT_VERSION
    {
        return Err(CheckpointError::UnsupportedVersion {
            path: path(),
            found: v.version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_str(text).map_err(|source| CheckpointError::Corrupt {
        path: path(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::SeenEvent;

    fn with_data(text: Option<&str>) -> ConfigMap {
        ConfigMap {
            data: text.map(|t| BTreeMap::from([(DATA_KEY.to_owned(), t.to_owned())])),
            ..ConfigMap::default()
        }
    }

    #[test]
    fn parses_what_the_file_store_writes() {
        let mut cp = Checkpoint::empty();
        cp.resume.insert("events@*".into(), 42);
        let cm = with_data(Some(&serde_json::to_string(&cp).unwrap()));
        assert_eq!(parse("configmap ns/cp", &cm).unwrap(), cp);
    }

    #[test]
    fn a_truncated_payload_is_corrupt_and_names_the_configmap() {
        let cm = with_data(Some(r#"{"version":1,"savedAt":"#));
        let err = parse("configmap ns/cp", &cm).unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("configmap ns/cp key checkpoint.json"),
            "{err}"
        );
    }

    #[test]
    fn a_configmap_without_the_key_is_corrupt() {
        let err = parse("configmap ns/cp", &with_data(None)).unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string().contains("no data key checkpoint.json"),
            "{err}"
        );
    }

    #[test]
    fn a_newer_format_is_refused_by_version() {
        let cm = with_data(Some(r#"{"version":7}"#));
        let err = parse("configmap ns/cp", &cm).unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::UnsupportedVersion { found: 7, .. }
        ));
    }

    #[test]
    fn a_checkpoint_over_one_mebibyte_is_refused_before_sending() {
        let mut cp = Checkpoint::empty();
        for i in 0..30_000 {
            cp.events.insert(
                format!("{i:036}"),
                SeenEvent {
                    resource_version: 1,
                    last_seen: 1,
                },
            );
        }
        let data = serde_json::to_string(&cp).unwrap();
        assert!(data.len() > MAX_CONFIGMAP_BYTES);
        let message = check_size(&data, cp.events.len()).unwrap_err();
        assert!(message.contains("30000 events"), "{message}");
        assert!(check_size("{}", 0).is_ok());
    }

    #[tokio::test]
    async fn forbidden_names_the_rbac_rule_to_grant() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let store = ConfigMapCheckpointStore::new(
            kube::Client::try_from(config).unwrap(),
            "event-keeper",
            "cp",
        );
        let status = kube::error::Status::failure("forbidden", "Forbidden").with_code(403);
        let err = store.failed("get", Failure::Api(kube::Error::Api(Box::new(status))));
        assert!(matches!(err, CheckpointError::Backend { .. }));
        assert!(
            err.to_string().contains(
                "not allowed to get it: grant get, create, update on configmaps named cp in namespace event-keeper"
            ),
            "{err}"
        );
        let err = store.failed("update", Failure::Timeout);
        assert!(
            err.to_string().contains("update timed out after 10s"),
            "{err}"
        );
    }

    #[test]
    fn fill_sets_labels_and_keeps_other_metadata() {
        let mut cm = with_data(Some("old"));
        cm.metadata.labels = Some(BTreeMap::from([("team".into(), "sre".into())]));
        fill(&mut cm, "new".into());
        let labels = cm.metadata.labels.unwrap();
        assert_eq!(labels["team"], "sre");
        assert_eq!(labels["app.kubernetes.io/name"], "event-keeper");
        assert_eq!(labels["app.kubernetes.io/component"], "checkpoint");
        assert_eq!(cm.data.unwrap()[DATA_KEY], "new");
    }
}
