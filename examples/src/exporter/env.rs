//! [`Env`]: the environment variables the exporter reads, behind a lookup that tests can fill in
//! (changing the process environment is unsafe and racy).

use std::collections::BTreeMap;

/// The config file, like `--config`.
pub const CONFIG: &str = "EVENT_KEEPER_CONFIG";
/// `cluster`, like `--cluster`.
pub const CLUSTER: &str = "EVENT_KEEPER_CLUSTER";
/// `source.namespaces`, comma-separated, like `--namespace`.
pub const NAMESPACES: &str = "EVENT_KEEPER_NAMESPACES";
/// `server.listen`, like `--listen`.
pub const LISTEN: &str = "EVENT_KEEPER_LISTEN";
/// `checkpoint.path`, like `--checkpoint-path`.
pub const CHECKPOINT_PATH: &str = "EVENT_KEEPER_CHECKPOINT_PATH";
/// `log.level`, like `--log-level`.
pub const LOG_LEVEL: &str = "EVENT_KEEPER_LOG_LEVEL";
/// `log.format`, like `--log-format`.
pub const LOG_FORMAT: &str = "EVENT_KEEPER_LOG_FORMAT";
/// The pod's namespace (downward API `metadata.namespace`): the default namespace of the
/// checkpoint ConfigMap and of the Lease.
pub const POD_NAMESPACE: &str = "POD_NAMESPACE";

/// Where environment variables are read from: the process environment, or a fixed set.
///
/// An empty value counts as unset, as Kubernetes writes `value: ""` for an optional value left
/// empty.
///
/// ```
/// use examples::exporter::Env;
///
/// let env = Env::from_pairs([("EVENT_KEEPER_CLUSTER", "prod"), ("EVENT_KEEPER_LISTEN", "")]);
/// assert_eq!(env.get("EVENT_KEEPER_CLUSTER").as_deref(), Some("prod"));
/// assert_eq!(env.get("EVENT_KEEPER_LISTEN"), None);
/// ```
#[derive(Clone, Debug)]
pub struct Env {
    fixed: Option<BTreeMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn system() -> Self {
        Env { fixed: None }
    }

    /// Exactly these variables, nothing from the process.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            fixed: Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The value of `name`, `None` when unset, empty or not UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_variables_hide_the_process_environment() {
        let env = Env::from_pairs([("A", "1")]);
        assert_eq!(env.get("A").as_deref(), Some("1"));
        assert_eq!(env.get("PATH"), None);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let env = Env::from_pairs([("A", "  ")]);
        assert_eq!(env.get("A"), None);
    }
}
