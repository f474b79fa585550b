//! Read-back from moto for the fault tests: every event of a log group, by occurrence key.

use aws_sdk_cloudwatchlogs::Client;
use event_core::{Event, OccurrenceKey};
use testkit::cloudwatch::read_stream;

/// Every event stored in `group`, all streams, read straight from moto (not through the
/// proxy, so that read-back is not counted nor faulted).
pub async fn stored_in(moto: &Client, group: &str) -> Vec<OccurrenceKey> {
    let Ok(streams) = moto
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
    else {
        // Not created yet (or gone with a restart): nothing stored.
        return Vec::new();
    };
    let mut keys = Vec::new();
    for stream in streams.log_streams() {
        let name = stream.log_stream_name().unwrap_or_default();
        let Ok(events) = read_stream(moto, group, name).await else {
            continue;
        };
        for e in events {
            let event: Event = serde_json::from_str(e.message().unwrap_or_default())
                .expect("every record is an event");
            keys.push(event.key());
        }
    }
    keys
}
