//! Setting up and reading back log streams through the SDK, for tests.

use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use aws_sdk_cloudwatchlogs::{Client, Error};

/// Most GetLogEvents pages [`read_stream`] follows (each holds up to 10,000 events).
const MAX_PAGES: usize = 1_000;

/// Creates log group `group` and stream `stream` in it; either existing already is fine.
///
/// # Errors
///
/// The SDK's error for any other failure (moto not running, access denied, ...).
pub async fn ensure_stream(client: &Client, group: &str, stream: &str) -> Result<(), Error> {
    match client.create_log_group().log_group_name(group).send().await {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(error) => return Err(error.into()),
    }
    match client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

/// Every event stored in a stream, oldest first, following GetLogEvents' forward tokens
/// until a page adds nothing.
///
/// # Errors
///
/// The SDK's error, e.g. `ResourceNotFoundException` for a missing stream.
pub async fn read_stream(
    client: &Client,
    group: &str,
    stream: &str,
) -> Result<Vec<OutputLogEvent>, Error> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await?;
        let next = page.next_forward_token().map(str::to_owned);
        let added = page.events().len();
        events.extend_from_slice(page.events());
        if added == 0 || next.is_none() || next == token {
            break;
        }
        token = next;
    }
    Ok(events)
}
