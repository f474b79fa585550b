//! A simulated API server holding many replicated recorded events, for the end-to-end benches.

use testkit::{EventRef, SimCluster, SimConfig, SimError};

use crate::fixtures::{Group, objects, replicate_range};

/// A running [`SimCluster`] with the events loaded into it.
#[derive(Debug)]
pub struct Loaded {
    /// The server.
    pub cluster: SimCluster,
    /// The resourceVersion before the first loaded event: a watch from it replays them all.
    pub before: u64,
    /// The loaded events, in load order.
    pub events: Vec<EventRef>,
}

/// Why a cluster could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The server did not start.
    #[error("the simulated API server did not start: {0}")]
    Start(#[source] std::io::Error),
    /// A replicated fixture was not a valid event.
    #[error("a replicated fixture is not an event: {0}")]
    Fixture(String),
}

/// Starts a server with `config` (its history window raised to hold every load, so a watch
/// can replay them) and loads `n` distinct replicated events of `group`, each stored as the
/// recording has it with a new resourceVersion.
///
/// # Errors
///
/// [`LoadError`] when the server does not start or a fixture is refused.
pub async fn loaded(n: usize, group: Group, config: SimConfig) -> Result<Loaded, LoadError> {
    let window = config.history_window.max(n + 1_000);
    let cluster = SimCluster::start(config.history_window(window))
        .await
        .map_err(LoadError::Start)?;
    // A new server is at resourceVersion 0, and a watch from "0" means "from any recent state"
    // to an API server, not "from the beginning": a consumer resuming there must relist. An
    // event created and deleted first gives the replay a real starting point before the load.
    let placeholder = cluster.create_event(testkit::NewEvent::new("default", "Placeholder"));
    cluster.delete_event(&placeholder);
    let before = cluster.resource_version();
    let events = load(&cluster, group, 0, n)?;
    Ok(Loaded {
        cluster,
        before,
        events,
    })
}

/// Events replicated and parsed at a time while loading: a million at once would hold
/// gigabytes of fixture copies beside the server.
const LOAD_SLICE: usize = 10_000;

/// Loads `n` more replicated events of `group` into `cluster`, copies `from..from + n`.
///
/// # Errors
///
/// [`LoadError::Fixture`] when a fixture is refused.
pub fn load(
    cluster: &SimCluster,
    group: Group,
    from: usize,
    n: usize,
) -> Result<Vec<EventRef>, LoadError> {
    let mut events = Vec::with_capacity(n);
    let end = from + n;
    let mut start = from;
    while start < end {
        let stop = end.min(start + LOAD_SLICE);
        let lines = replicate_range(group, start..stop);
        let objects = objects(&lines).map_err(|e| LoadError::Fixture(e.to_string()))?;
        for object in objects {
            events.push(
                cluster
                    .try_insert_raw_event(object)
                    .map_err(|e: SimError| LoadError::Fixture(e.to_string()))?,
            );
        }
        start = stop;
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_loaded_copy_is_a_distinct_event() {
        let loaded = loaded(120, Group::CoreV1, SimConfig::default())
            .await
            .unwrap();
        assert_eq!(loaded.cluster.event_count(), 120);
        let more = load(&loaded.cluster, Group::CoreV1, 120, 5).unwrap();
        assert_eq!(loaded.cluster.event_count(), 125);
        assert_eq!(more[0].uid, crate::fixtures::uid(120));
        assert!(loaded.cluster.resource_version() > loaded.before + 120);
        assert!(loaded.before > 0, "a watch from 0 would relist, not replay");
    }
}
