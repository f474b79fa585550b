//! Shared parts of the CloudWatch end-to-end tests: one moto per test binary, a strict proxy
//! per test, sinks pointed at the proxy, and read-back straight from moto.

#![allow(dead_code)]

use std::collections::HashMap;

use aws_sdk_cloudwatchlogs::Client;
use event_core::{Event, OccurrenceKey};
use sink_cloudwatch::{CloudWatchSink, CloudWatchSinkConfig};
use testkit::cloudwatch::{Limits, StrictProxy, client, read_stream};
use testkit::moto::Moto;

/// moto (shared by the binary's tests) behind a proxy of this test's own.
pub struct Env {
    /// The proxy the sink talks to.
    pub proxy: StrictProxy,
    /// A client of moto itself, for set-up and read-back that the proxy should not count.
    pub moto: Client,
    /// A client through the proxy, as the sink's.
    pub via_proxy: Client,
}

pub async fn env() -> Env {
    env_with(Limits::default()).await
}

/// An environment whose proxy enforces `limits` instead of the real service's.
pub async fn env_with(limits: Limits) -> Env {
    tests::init_tracing();
    let moto = Moto::shared()
        .await
        .expect("moto starts (pip install 'moto[server]')");
    env_at(&moto.endpoint(), limits).await
}

/// A proxy of this test's own in front of the moto at `moto_endpoint`, for a test that starts
/// (and may restart) a moto of its own.
pub async fn env_at(moto_endpoint: &str, limits: Limits) -> Env {
    tests::init_tracing();
    let proxy = StrictProxy::start_with(moto_endpoint, limits)
        .await
        .expect("proxy starts");
    let via_proxy = client(&proxy.endpoint()).await;
    Env {
        moto: client(moto_endpoint).await,
        via_proxy,
        proxy,
    }
}

impl Env {
    /// A sink writing to the constant group `group`, one stream per namespace.
    pub fn sink(&self, group: &str) -> CloudWatchSink {
        self.sink_with(CloudWatchSinkConfig::new().log_group(group))
    }

    /// A sink with `config`, through the proxy.
    pub fn sink_with(&self, config: CloudWatchSinkConfig) -> CloudWatchSink {
        CloudWatchSink::from_client(self.via_proxy.clone(), config).expect("valid config")
    }

    /// Fails the test if the sink broke a PutLogEvents rule.
    pub fn assert_no_violations(&self) {
        let violations = self.proxy.violations();
        assert!(
            violations.is_empty(),
            "PutLogEvents rules broken: {violations:?}"
        );
        assert_eq!(
            self.proxy.stats().calls("DescribeLogStreams"),
            0,
            "the sink must not describe streams per batch"
        );
    }

    /// Every stored record of `group`, per stream name, oldest first: (timestamp, event).
    pub async fn read_group(&self, group: &str) -> HashMap<String, Vec<(i64, Event)>> {
        let mut out = HashMap::new();
        let streams = match self
            .moto
            .describe_log_streams()
            .log_group_name(group)
            .send()
            .await
        {
            Ok(streams) => streams,
            // Not created yet: nothing stored so far.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return out;
            }
            Err(error) => panic!("describe streams of {group}: {error:?}"),
        };
        for stream in streams.log_streams() {
            let name = stream.log_stream_name().unwrap_or_default().to_owned();
            let events = read_stream(&self.moto, group, &name)
                .await
                .expect("read stream");
            let parsed = events
                .iter()
                .map(|e| {
                    let message = e.message().unwrap_or_default();
                    let event: Event = serde_json::from_str(message).unwrap_or_else(|err| {
                        panic!("not an event record ({err}): {message:.200}")
                    });
                    (e.timestamp().unwrap_or_default(), event)
                })
                .collect();
            out.insert(name, parsed);
        }
        out
    }

    /// Every event of `group`, all streams together.
    pub async fn events_of(&self, group: &str) -> Vec<Event> {
        self.read_group(group)
            .await
            .into_values()
            .flatten()
            .map(|(_, e)| e)
            .collect()
    }

    /// The keys of every stored event of `group`.
    pub async fn keys_of(&self, group: &str) -> Vec<OccurrenceKey> {
        self.events_of(group).await.iter().map(Event::key).collect()
    }
}
