//! [`EventStreamConfig`]: what an [`EventStream`](super::EventStream) watches and how.

use serde::Deserialize;

use super::kind::ObjectKind;

/// Which Events API to watch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ApiChoice {
    /// `events.k8s.io/v1` when the server serves it, else `core/v1` (the default).
    #[default]
    Auto,
    /// Always `events.k8s.io/v1`.
    EventsV1,
    /// Always the legacy `core/v1`.
    CoreV1,
}

/// Settings of an [`EventStream`](super::EventStream).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `api` | `auto` | `auto`, `events-v1` or `core-v1` |
/// | `namespaces` | `[]` (all) | watch only these namespaces, one watch each |
/// | `objects` | `[]` | also export the changes of these objects: `pods`, `nodes`, `namespaces`, `services`, `persistentvolumeclaims` |
/// | `label_selector` | none | passed to the API server, for Events only |
/// | `field_selector` | none | passed to the API server, for Events only |
/// | `page_size` | 500 | list page size on relists |
/// | `watch_timeout_secs` | 290 | server-side watch timeout before a re-watch |
/// | `buffer` | 1024 | occurrences buffered between the watches and the consumer |
/// | `cluster` | none | set as [`Event::cluster`](crate::Event::cluster) on every occurrence |
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct EventStreamConfig {
    /// Which Events API to watch.
    pub api: ApiChoice,
    /// Namespaces to watch; empty watches all.
    pub namespaces: Vec<String>,
    /// Kinds of objects whose changes are exported too, each watched like the Events (per
    /// namespace when `namespaces` is set and the kind is namespaced) with its own resume
    /// point; see [`event::change`](crate::event::change) for the records.
    pub objects: Vec<ObjectKind>,
    /// A label selector for the watch.
    pub label_selector: Option<String>,
    /// A field selector for the watch, e.g. `type=Warning`.
    pub field_selector: Option<String>,
    /// List page size on relists.
    pub page_size: u32,
    /// Server-side watch timeout in seconds.
    pub watch_timeout_secs: u32,
    /// Occurrences buffered between the watch tasks and the consumer.
    pub buffer: usize,
    /// The cluster's name, set on every occurrence at the source, so that filters, batch sizes
    /// and every sink see the record as it is stored.
    pub cluster: Option<String>,
}

impl Default for EventStreamConfig {
    fn default() -> Self {
        EventStreamConfig {
            api: ApiChoice::Auto,
            namespaces: Vec::new(),
            objects: Vec::new(),
            label_selector: None,
            field_selector: None,
            page_size: 500,
            watch_timeout_secs: 290,
            buffer: 1024,
            cluster: None,
        }
    }
}

impl EventStreamConfig {
    /// Sets [`api`](Self::api).
    #[must_use]
    pub fn api(mut self, api: ApiChoice) -> Self {
        self.api = api;
        self
    }

    /// Sets [`namespaces`](Self::namespaces).
    #[must_use]
    pub fn namespaces<I: IntoIterator<Item = S>, S: Into<String>>(mut self, namespaces: I) -> Self {
        self.namespaces = namespaces.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`objects`](Self::objects).
    ///
    /// ```
    /// use event_core::{EventStreamConfig, ObjectKind};
    ///
    /// let config = EventStreamConfig::default().objects([ObjectKind::Pods, ObjectKind::Nodes]);
    /// assert_eq!(config.objects.len(), 2);
    /// ```
    #[must_use]
    pub fn objects<I: IntoIterator<Item = ObjectKind>>(mut self, objects: I) -> Self {
        self.objects = objects.into_iter().collect();
        self
    }

    /// Sets [`cluster`](Self::cluster).
    ///
    /// ```
    /// use event_core::EventStreamConfig;
    ///
    /// let config = EventStreamConfig::default().cluster("prod-eu-1");
    /// assert_eq!(config.cluster.as_deref(), Some("prod-eu-1"));
    /// ```
    #[must_use]
    pub fn cluster(mut self, name: impl Into<String>) -> Self {
        self.cluster = Some(name.into());
        self
    }

    /// Sets [`watch_timeout_secs`](Self::watch_timeout_secs).
    #[must_use]
    pub fn watch_timeout_secs(mut self, secs: u32) -> Self {
        self.watch_timeout_secs = secs;
        self
    }

    /// Sets [`page_size`](Self::page_size).
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }
}
