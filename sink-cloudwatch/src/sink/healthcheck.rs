//! The health check: are the credentials valid and CloudWatch Logs reachable?
//!
//! One DescribeLogGroups call, limited to one group under the literal prefix of the log group
//! template: cheap, read-only, and authenticated like every other call. Its permission is not
//! needed to ship events, so an `AccessDeniedException` passes the check with a warning: AWS
//! authenticates a request before it authorizes it, so the denial proves the credentials are
//! valid and the endpoint reachable. Bad or expired credentials, a missing region or an
//! unreachable endpoint fail it with the error `send` would meet.

use aws_sdk_cloudwatchlogs::Client;
use event_core::SinkError;

use super::SINK_NAME;
use crate::error::FailureKind;
use crate::service;
use crate::template::NameTemplate;

pub(crate) async fn check(client: &Client, group: &NameTemplate) -> Result<(), SinkError> {
    let prefix = Some(group.literal_prefix()).filter(|p| !p.is_empty());
    match service::describe_one_log_group(client, prefix).await {
        Ok(()) => Ok(()),
        Err(failure) if failure.kind == FailureKind::AccessDenied => {
            tracing::warn!(
                sink = SINK_NAME,
                error = %failure,
                "credentials are valid but logs:DescribeLogGroups is not allowed; the health check cannot see the log groups"
            );
            Ok(())
        }
        Err(failure) => {
            Err(failure.into_sink_error(&format!("log groups under {:?}", prefix.unwrap_or(""))))
        }
    }
}
