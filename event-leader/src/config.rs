//! [`LeaderElectionConfig`]: which Lease, who we are, and the three timings.

use std::time::Duration;

use serde::Deserialize;

use crate::LeaderError;

/// client-go's default `LeaseDuration`.
const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// client-go's default `RenewDeadline`.
const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// client-go's default `RetryPeriod`.
const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Settings of a [`LeaderElector`](crate::LeaderElector).
///
/// | field | config key | default |
/// | --- | --- | --- |
/// | `lease_name` | `lease_name` | required |
/// | `namespace` | `namespace` | the client's default namespace (in a pod: its own) |
/// | `identity` | `identity` | env `POD_NAME`, else the hostname |
/// | `lease_duration` | `lease_duration_secs` (whole seconds) | 15 s |
/// | `renew_deadline` | `renew_deadline_secs` | 10 s |
/// | `retry_period` | `retry_period_secs` | 2 s |
///
/// Valid when `retry_period < renew_deadline < lease_duration` and `lease_duration` is a
/// whole number of seconds (the Lease stores `leaseDurationSeconds` as an integer). A
/// deserialized config is validated while it is parsed; unknown keys are refused.
///
/// ```
/// use std::time::Duration;
///
/// use event_leader::LeaderElectionConfig;
///
/// let config: LeaderElectionConfig =
///     serde_json::from_str(r#"{"lease_name": "event-keeper", "lease_duration_secs": 20}"#)?;
/// assert_eq!(config.lease_duration, Duration::from_secs(20));
/// assert_eq!(config.renew_deadline, Duration::from_secs(10));
///
/// let built = LeaderElectionConfig::new("event-keeper")
///     .namespace("event-keeper")
///     .identity("event-keeper-7d9f")
///     .lease_duration(Duration::from_secs(2))
///     .renew_deadline(Duration::from_millis(1500))
///     .retry_period(Duration::from_millis(200));
/// assert!(built.validate().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawConfig")]
#[non_exhaustive]
pub struct LeaderElectionConfig {
    /// The Lease's name.
    pub lease_name: String,
    /// The Lease's namespace; `None` for the client's default namespace.
    pub namespace: Option<String>,
    /// This candidate's `holderIdentity`; `None` for env `POD_NAME`, else the hostname. Must be
    /// unique among live candidates.
    pub identity: Option<String>,
    /// How long a holder's claim lasts after its last renewal, as others observe it.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it declares the leadership lost.
    pub renew_deadline: Duration,
    /// How often a candidate polls the Lease, and the leader renews it.
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// A config for the Lease `lease_name`, with the defaults above.
    pub fn new(lease_name: impl Into<String>) -> Self {
        LeaderElectionConfig {
            lease_name: lease_name.into(),
            namespace: None,
            identity: None,
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
        }
    }

    /// Sets the Lease's namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Sets this candidate's identity.
    #[must_use]
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// Sets the lease duration (a whole number of seconds).
    #[must_use]
    pub fn lease_duration(mut self, duration: Duration) -> Self {
        self.lease_duration = duration;
        self
    }

    /// Sets the renew deadline.
    #[must_use]
    pub fn renew_deadline(mut self, deadline: Duration) -> Self {
        self.renew_deadline = deadline;
        self
    }

    /// Sets the retry period.
    #[must_use]
    pub fn retry_period(mut self, period: Duration) -> Self {
        self.retry_period = period;
        self
    }

    /// Checks the config as a whole.
    ///
    /// # Errors
    ///
    /// [`LeaderError::InvalidConfig`] naming the field and what to change.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let invalid = |reason: String| Err(LeaderError::InvalidConfig(reason));
        if self.lease_name.is_empty() {
            return invalid("lease_name is empty: name the Lease to hold".into());
        }
        if self.namespace.as_deref() == Some("") {
            return invalid(
                "namespace is empty: name one, or leave it out for the pod's own".into(),
            );
        }
        if self.identity.as_deref() == Some("") {
            return invalid(
                "identity is empty: leave it out to use POD_NAME or the hostname".into(),
            );
        }
        let lease = self.lease_duration;
        if lease < Duration::from_secs(1)
            || lease.subsec_nanos() != 0
            || lease.as_secs() > i32::MAX as u64
        {
            return invalid(format!(
                "lease_duration {lease:?} must be a whole number of seconds, at least 1: the Lease stores leaseDurationSeconds as an integer"
            ));
        }
        if self.renew_deadline >= lease {
            return invalid(format!(
                "renew_deadline {:?} must be shorter than lease_duration {lease:?}: the leader must give up before others may take over",
                self.renew_deadline
            ));
        }
        if self.retry_period.is_zero() || self.retry_period >= self.renew_deadline {
            return invalid(format!(
                "retry_period {:?} must be above zero and shorter than renew_deadline {:?}, so that the leader can retry a failed renewal in time",
                self.retry_period, self.renew_deadline
            ));
        }
        Ok(())
    }
}

/// The config file's form: durations as numbers of seconds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    lease_name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    lease_duration_secs: Option<u32>,
    #[serde(default)]
    renew_deadline_secs: Option<f64>,
    #[serde(default)]
    retry_period_secs: Option<f64>,
}

impl TryFrom<RawConfig> for LeaderElectionConfig {
    type Error = LeaderError;

    fn try_from(raw: RawConfig) -> Result<Self, LeaderError> {
        let secs = |key: &str, value: Option<f64>, default: Duration| match value {
            None => Ok(default),
            Some(v) => Duration::try_from_secs_f64(v).map_err(|_| {
                LeaderError::InvalidConfig(format!(
                    "{key} {v} is not a number of seconds: write a positive number such as 2 or 0.5"
                ))
            }),
        };
        let config = LeaderElectionConfig {
            lease_name: raw.lease_name,
            namespace: raw.namespace,
            identity: raw.identity,
            lease_duration: raw
                .lease_duration_secs
                .map_or(DEFAULT_LEASE_DURATION, |s| Duration::from_secs(s.into())),
            renew_deadline: secs(
                "renew_deadline_secs",
                raw.renew_deadline_secs,
                DEFAULT_RENEW_DEADLINE,
            )?,
            retry_period: secs(
                "retry_period_secs",
                raw.retry_period_secs,
                DEFAULT_RETRY_PERIOD,
            )?,
        };
        config.validate()?;
        Ok(config)
    }
}

/// This candidate's identity when the config names none: `POD_NAME` (set it from the downward
/// API, `metadata.name`), else the hostname (a pod's hostname is its name).
pub(crate) fn default_identity(
    env: impl Fn(&str) -> Option<String>,
    read: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let nonempty = |s: String| {
        let s = s.trim().to_owned();
        (!s.is_empty()).then_some(s)
    };
    env("POD_NAME")
        .and_then(nonempty)
        .or_else(|| env("HOSTNAME").and_then(nonempty))
        .or_else(|| read("/proc/sys/kernel/hostname").and_then(nonempty))
        .or_else(|| read("/etc/hostname").and_then(nonempty))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<LeaderElectionConfig, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn defaults_are_client_go_s() {
        let c = parse(r#"{"lease_name":"event-keeper"}"#).unwrap();
        assert_eq!(c, LeaderElectionConfig::new("event-keeper"));
        assert_eq!(c.lease_duration, Duration::from_secs(15));
        assert_eq!(c.renew_deadline, Duration::from_secs(10));
        assert_eq!(c.retry_period, Duration::from_secs(2));
        assert_eq!(c.namespace, None);
    }

    #[test]
    fn reads_every_key_with_fractional_seconds() {
        let c = parse(
            r#"{"lease_name":"l","namespace":"ns","identity":"me","lease_duration_secs":2,
                "renew_deadline_secs":1.5,"retry_period_secs":0.25}"#,
        )
        .unwrap();
        assert_eq!(c.namespace.as_deref(), Some("ns"));
        assert_eq!(c.identity.as_deref(), Some("me"));
        assert_eq!(c.lease_duration, Duration::from_secs(2));
        assert_eq!(c.renew_deadline, Duration::from_millis(1500));
        assert_eq!(c.retry_period, Duration::from_millis(250));
    }

    #[test]
    fn refuses_unknown_keys() {
        let err = parse(r#"{"lease_name":"l","lease_duration":15}"#).unwrap_err();
        assert!(err.to_string().contains("lease_duration"), "{err}");
    }

    #[test]
    fn refuses_a_renew_deadline_not_shorter_than_the_lease_while_parsing() {
        let err = parse(r#"{"lease_name":"l","lease_duration_secs":10}"#).unwrap_err();
        assert!(err.to_string().contains("renew_deadline"), "{err}");
    }

    #[test]
    fn refuses_a_negative_duration() {
        let err = parse(r#"{"lease_name":"l","retry_period_secs":-1}"#).unwrap_err();
        assert!(err.to_string().contains("retry_period_secs -1"), "{err}");
    }

    #[test]
    fn validation_names_the_field_at_fault() {
        let base = LeaderElectionConfig::new("l");
        let cases = [
            (
                base.clone().lease_duration(Duration::from_millis(1500)),
                "lease_duration",
            ),
            (
                base.clone().renew_deadline(Duration::from_secs(15)),
                "renew_deadline",
            ),
            (
                base.clone().retry_period(Duration::from_secs(10)),
                "retry_period",
            ),
            (base.clone().retry_period(Duration::ZERO), "retry_period"),
            (LeaderElectionConfig::new(""), "lease_name"),
            (base.clone().identity(""), "identity"),
            (base.clone().namespace(""), "namespace"),
        ];
        for (config, field) in cases {
            let err = config.validate().unwrap_err();
            assert!(matches!(err, LeaderError::InvalidConfig(_)));
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        assert!(base.validate().is_ok());
    }

    #[test]
    fn identity_prefers_pod_name_then_the_hostname() {
        let env = |pod: Option<&'static str>, host: Option<&'static str>| {
            move |k: &str| match k {
                "POD_NAME" => pod.map(str::to_owned),
                "HOSTNAME" => host.map(str::to_owned),
                _ => None,
            }
        };
        let file = |k: &str| (k == "/etc/hostname").then(|| "node-a\n".to_owned());
        let none = |_: &str| None;
        assert_eq!(
            default_identity(env(Some("ek-1"), Some("h")), file).as_deref(),
            Some("ek-1")
        );
        assert_eq!(
            default_identity(env(Some(" "), Some("ek-2")), file).as_deref(),
            Some("ek-2")
        );
        assert_eq!(
            default_identity(env(None, None), file).as_deref(),
            Some("node-a")
        );
        assert_eq!(default_identity(env(None, None), none), None);
    }
}
