//! Creating missing log groups and streams, on demand, remembering what exists.
//!
//! The sink never asks whether a destination exists (no DescribeLogStreams per batch; sequence
//! tokens are gone since 2023). It sends, and only when PutLogEvents answers
//! `ResourceNotFoundException` does it create the stream, and the group if the stream's
//! creation says the group is missing too. The stream comes first so that a deployment whose
//! groups are made by infrastructure code needs no `logs:CreateLogGroup`.
//! `ResourceAlreadyExistsException` counts as success (another replica got there first).

use std::collections::HashSet;

use event_core::SinkError;

use super::{CloudWatchSink, SINK_NAME};
use crate::error::FailureKind;
use crate::service;

/// The groups and streams this sink created or found to exist.
#[derive(Debug, Default)]
pub(super) struct Destinations {
    groups: HashSet<String>,
    streams: HashSet<(String, String)>,
}

/// Creates the stream `group:stream`, and `group` when it is missing too.
pub(super) async fn create(
    sink: &mut CloudWatchSink,
    group: &str,
    stream: &str,
) -> Result<(), SinkError> {
    if !sink.config.create_missing {
        return Err(SinkError::fatal_msg(format!(
            "log group {group} or its stream {stream} does not exist and create_missing is false: create them, or set create_missing to true"
        )));
    }
    let key = (group.to_owned(), stream.to_owned());
    if sink.destinations.streams.remove(&key) {
        tracing::warn!(
            sink = SINK_NAME,
            log_group = group,
            log_stream = stream,
            "log stream created earlier is gone; creating it again"
        );
    }
    match create_stream(sink, group, stream).await {
        Err(FailureOr::NotFound) => {
            if sink.destinations.groups.remove(group) {
                tracing::warn!(
                    sink = SINK_NAME,
                    log_group = group,
                    "log group created earlier is gone; creating it again"
                );
            }
            create_group(sink, group).await?;
            create_stream(sink, group, stream)
                .await
                .map_err(|e| e.into_sink_error(group, stream))?;
        }
        other => other.map_err(|e| e.into_sink_error(group, stream))?,
    }
    sink.destinations.streams.insert(key);
    Ok(())
}

enum FailureOr {
    NotFound,
    Failed(crate::error::Failure),
}

impl FailureOr {
    fn into_sink_error(self, group: &str, stream: &str) -> SinkError {
        match self {
            FailureOr::NotFound => SinkError::retryable_msg(format!(
                "log group {group} disappeared while its stream {stream} was being created"
            )),
            FailureOr::Failed(failure) => failure.into_sink_error(&format!("{group}:{stream}")),
        }
    }
}

async fn create_stream(
    sink: &mut CloudWatchSink,
    group: &str,
    stream: &str,
) -> Result<(), FailureOr> {
    match service::create_log_stream(&sink.client, group, stream).await {
        Ok(()) => {
            sink.stats.add_streams_created(1);
            tracing::info!(
                sink = SINK_NAME,
                log_group = group,
                log_stream = stream,
                "created log stream"
            );
            Ok(())
        }
        Err(failure) if failure.kind == FailureKind::AlreadyExists => Ok(()),
        Err(failure) if failure.kind == FailureKind::NotFound => Err(FailureOr::NotFound),
        Err(failure) => Err(FailureOr::Failed(failure)),
    }
}

async fn create_group(sink: &mut CloudWatchSink, group: &str) -> Result<(), SinkError> {
    let config = &sink.config;
    match service::create_log_group(
        &sink.client,
        group,
        config.kms_key_id.as_deref(),
        &config.tags,
    )
    .await
    {
        Ok(()) => {
            sink.stats.add_groups_created(1);
            tracing::info!(
                sink = SINK_NAME,
                log_group = group,
                retention_days = ?config.retention_days,
                kms = config.kms_key_id.is_some(),
                tags = config.tags.len(),
                "created log group"
            );
        }
        Err(failure) if failure.kind == FailureKind::AlreadyExists => {}
        Err(failure) => return Err(failure.into_sink_error(group)),
    }
    // Also when the group already existed: only a group that was missing a moment ago gets
    // here, most likely created by a previous attempt whose retention call failed.
    if let Some(days) = config.retention_days {
        service::put_retention_policy(&sink.client, group, days)
            .await
            .map_err(|failure| failure.into_sink_error(group))?;
    }
    sink.destinations.groups.insert(group.to_owned());
    Ok(())
}
