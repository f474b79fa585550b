//! The sections that make several replicas safe: `leader_election`, and `checkpoint`, whose store
//! must be shared when replicas take turns.

use std::path::PathBuf;
use std::time::Duration;

use event_leader::LeaderElectionConfig;

use super::{
    DEFAULT_CHECKPOINT_NAME, DEFAULT_CHECKPOINT_PATH, DEFAULT_LEASE_NAME, Origins, object_name,
};
use crate::exporter::env::{self, Env};
use crate::exporter::error::ConfigError;
use crate::exporter::file::{RawCheckpoint, RawLeaderElection};
use crate::exporter::settings::{CheckpointStore, StoreKind};

pub(super) fn leader_election(
    raw: RawLeaderElection,
    origins: &Origins,
    env: &Env,
) -> Result<Option<LeaderElectionConfig>, ConfigError> {
    if !raw.enabled.unwrap_or(false) {
        return Ok(None);
    }
    let name = object_name(
        raw.lease_name
            .unwrap_or_else(|| DEFAULT_LEASE_NAME.to_owned()),
        "leader_election.lease_name",
        origins,
    )?;
    let lease_secs = raw.lease_duration_secs.unwrap_or(15);
    if lease_secs == 0 {
        return Err(origins.invalid(
            "leader_election.lease_duration_secs",
            "is 0; use a whole number of seconds of at least 1 (default 15)",
        ));
    }
    let lease = Duration::from_secs(lease_secs.into());
    let renew = origins.secs(
        "leader_election.renew_deadline_secs",
        raw.renew_deadline_secs,
        Duration::from_secs(10),
        (0.01, 3600.0),
    )?;
    if renew >= lease {
        return Err(origins.invalid(
            "leader_election.renew_deadline_secs",
            format!(
                "is {}, not shorter than lease_duration_secs ({lease_secs}): the leader must give up before another replica may take over",
                renew.as_secs_f64()
            ),
        ));
    }
    let retry = origins.secs(
        "leader_election.retry_period_secs",
        raw.retry_period_secs,
        Duration::from_secs(2),
        (0.01, 3600.0),
    )?;
    if retry >= renew {
        return Err(origins.invalid(
            "leader_election.retry_period_secs",
            format!(
                "is {}, not shorter than renew_deadline_secs ({}): the leader must be able to retry a failed renewal in time",
                retry.as_secs_f64(),
                renew.as_secs_f64()
            ),
        ));
    }
    let mut config = LeaderElectionConfig::new(name)
        .lease_duration(lease)
        .renew_deadline(renew)
        .retry_period(retry);
    if let Some(ns) = raw.namespace.or_else(|| env.get(env::POD_NAMESPACE)) {
        config = config.namespace(object_name(ns, "leader_election.namespace", origins)?);
    }
    if let Some(identity) = raw.identity {
        config = config.identity(identity);
    }
    config
        .validate()
        .map_err(|e| origins.invalid("leader_election", e.to_string()))?;
    Ok(Some(config))
}

pub(super) fn checkpoint(
    raw: RawCheckpoint,
    leader: bool,
    origins: &Origins,
    env: &Env,
) -> Result<CheckpointStore, ConfigError> {
    let kind = raw.store.unwrap_or(if leader {
        StoreKind::ConfigMap
    } else {
        StoreKind::File
    });
    if leader && kind == StoreKind::File {
        return Err(origins.invalid(
            "checkpoint.store",
            "is file, but leader_election.enabled is true: replicas cannot share a checkpoint file, so a new leader would not resume where the old one stopped; use configmap",
        ));
    }
    let store = match kind {
        StoreKind::ConfigMap => {
            if origins.is_overridden("checkpoint.path") {
                return Err(origins.invalid(
                    "checkpoint.path",
                    "is set, but checkpoint.store is configmap: a path is used only with checkpoint.store: file",
                ));
            }
            let name = raw
                .name
                .unwrap_or_else(|| DEFAULT_CHECKPOINT_NAME.to_owned());
            let namespace = match raw.namespace.or_else(|| env.get(env::POD_NAMESPACE)) {
                Some(ns) => Some(object_name(ns, "checkpoint.namespace", origins)?),
                None => None,
            };
            CheckpointStore::ConfigMap {
                name: object_name(name, "checkpoint.name", origins)?,
                namespace,
            }
        }
        StoreKind::File => {
            let path = raw
                .path
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CHECKPOINT_PATH));
            let is_file = path.file_name().is_some() && !path.to_string_lossy().ends_with('/');
            if !is_file {
                return Err(origins.invalid(
                    "checkpoint.path",
                    format!(
                        "is {:?}; name a file, e.g. {DEFAULT_CHECKPOINT_PATH}",
                        path.display()
                    ),
                ));
            }
            CheckpointStore::File { path }
        }
    };
    Ok(store)
}
