//! The CloudWatch Logs calls the sink and the reader make, each returning a classified
//! [`Failure`].

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, RejectedLogEventsInfo};

use crate::batch::PutRequest;
use crate::error::{Failure, FailureKind, Operation, classify};

/// Sends one request; `Ok` carries CloudWatch's report of refused events, if any.
pub(crate) async fn put_log_events(
    client: &Client,
    request: &PutRequest,
) -> Result<Option<RejectedLogEventsInfo>, Failure> {
    let mut events = Vec::with_capacity(request.entries.len());
    for entry in &request.entries {
        let event = InputLogEvent::builder()
            .timestamp(entry.timestamp)
            .message(entry.message.clone())
            .build()
            .map_err(|e| local_failure(Operation::PutLogEvents, e))?;
        events.push(event);
    }
    client
        .put_log_events()
        .log_group_name(&request.group)
        .log_stream_name(&request.stream)
        .set_log_events(Some(events))
        .send()
        .await
        .map(|out| out.rejected_log_events_info)
        .map_err(|e| classify(Operation::PutLogEvents, e))
}

/// Creates a log group with its KMS key and tags.
pub(crate) async fn create_log_group(
    client: &Client,
    group: &str,
    kms_key_id: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<(), Failure> {
    let mut call = client
        .create_log_group()
        .log_group_name(group)
        .set_kms_key_id(kms_key_id.map(str::to_owned));
    for (key, value) in tags {
        call = call.tags(key, value);
    }
    call.send()
        .await
        .map(|_| ())
        .map_err(|e| classify(Operation::CreateLogGroup, e))
}

/// Sets the retention of a log group.
pub(crate) async fn put_retention_policy(
    client: &Client,
    group: &str,
    days: u32,
) -> Result<(), Failure> {
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    client
        .put_retention_policy()
        .log_group_name(group)
        .retention_in_days(days)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| classify(Operation::PutRetentionPolicy, e))
}

/// Creates a log stream.
pub(crate) async fn create_log_stream(
    client: &Client,
    group: &str,
    stream: &str,
) -> Result<(), Failure> {
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| classify(Operation::CreateLogStream, e))
}

/// One page of FilterLogEvents of one stream over `[start, end]` (ms, inclusive; `None` is
/// unbounded).
pub(crate) async fn filter_page(
    client: &Client,
    group: &str,
    stream: &str,
    range: (Option<i64>, Option<i64>),
    next_token: Option<String>,
) -> Result<FilterLogEventsOutput, Failure> {
    client
        .filter_log_events()
        .log_group_name(group)
        .log_stream_names(stream)
        .set_start_time(range.0)
        .set_end_time(range.1)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| classify(Operation::FilterLogEvents, e))
}

/// Lists at most one log group whose name starts with `prefix`: the cheapest authenticated
/// call, for the health check.
pub(crate) async fn describe_one_log_group(
    client: &Client,
    prefix: Option<&str>,
) -> Result<(), Failure> {
    client
        .describe_log_groups()
        .set_log_group_name_prefix(prefix.map(str::to_owned))
        .limit(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| classify(Operation::DescribeLogGroups, e))
}

fn local_failure(
    operation: Operation,
    error: impl std::error::Error + Send + Sync + 'static,
) -> Failure {
    Failure {
        operation,
        kind: FailureKind::Other,
        code: None,
        message: Some(error.to_string()),
        retry_after: None,
        source: Box::new(error),
    }
}
