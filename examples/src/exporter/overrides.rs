//! The environment and the command line over the file: command-line flag > environment variable >
//! config file > default. Each override remembers where it came from, so that an invalid value
//! is reported against the variable or flag that set it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;

use super::cli::Cli;
use super::env::{self, Env};
use super::error::{ConfigError, Origin};
use super::file::RawConfig;
use super::settings::LogFormat;

/// Which keys were set by the environment or the command line, and by which.
pub(crate) type Overridden = BTreeMap<&'static str, Origin>;

/// One overridable setting: its key, its variable and its flag.
struct Knob {
    key: &'static str,
    var: &'static str,
    flag: &'static str,
}

const CLUSTER: Knob = Knob {
    key: "cluster",
    var: env::CLUSTER,
    flag: "--cluster",
};
const NAMESPACES: Knob = Knob {
    key: "source.namespaces",
    var: env::NAMESPACES,
    flag: "--namespace",
};
const LISTEN: Knob = Knob {
    key: "server.listen",
    var: env::LISTEN,
    flag: "--listen",
};
const CHECKPOINT_PATH: Knob = Knob {
    key: "checkpoint.path",
    var: env::CHECKPOINT_PATH,
    flag: "--checkpoint-path",
};
const LOG_LEVEL: Knob = Knob {
    key: "log.level",
    var: env::LOG_LEVEL,
    flag: "--log-level",
};
const LOG_FORMAT: Knob = Knob {
    key: "log.format",
    var: env::LOG_FORMAT,
    flag: "--log-format",
};

/// `raw` with the environment applied over it, then the command line.
pub(crate) fn apply(
    mut raw: RawConfig,
    cli: &Cli,
    env: &Env,
) -> Result<(RawConfig, Overridden), ConfigError> {
    let mut origins = Overridden::new();
    let mut pick = |knob: &Knob, flag: Option<String>| -> Option<String> {
        let (value, origin) = match flag {
            Some(value) => (value, Origin::Flag(knob.flag)),
            None => (env.get(knob.var)?, Origin::Env(knob.var)),
        };
        origins.insert(knob.key, origin);
        Some(value)
    };
    if let Some(cluster) = pick(&CLUSTER, cli.cluster.clone()) {
        raw.cluster = Some(cluster);
    }
    let flag_namespaces = (!cli.namespaces.is_empty()).then(|| cli.namespaces.join(","));
    if let Some(list) = pick(&NAMESPACES, flag_namespaces) {
        raw.source.namespaces = Some(
            list.split(',')
                .map(str::trim)
                .filter(|ns| !ns.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    if let Some(listen) = pick(&LISTEN, cli.listen.clone()) {
        raw.server.listen = Some(listen);
    }
    let flag_path = cli
        .checkpoint_path
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    if let Some(path) = pick(&CHECKPOINT_PATH, flag_path) {
        raw.checkpoint.path = Some(PathBuf::from(path));
    }
    if let Some(level) = pick(&LOG_LEVEL, cli.log_level.clone()) {
        raw.log.level = Some(level);
    }
    let flag_format = cli
        .log_format
        .and_then(|f| f.to_possible_value())
        .map(|v| v.get_name().to_owned());
    if let Some(format) = pick(&LOG_FORMAT, flag_format) {
        let parsed = LogFormat::from_str(format.trim(), true).map_err(|_| {
            ConfigError::invalid(
                LOG_FORMAT.key,
                origins
                    .get(LOG_FORMAT.key)
                    .cloned()
                    .unwrap_or(Origin::Defaults),
                format!("is {format:?}; use json or text"),
            )
        })?;
        raw.log.format = Some(parsed);
    }
    Ok((raw, origins))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("eks_to_cloudwatch").chain(args.iter().copied()))
            .unwrap()
    }

    fn file(text: &str) -> RawConfig {
        super::super::file::parse(std::path::Path::new("c.yaml"), text).unwrap()
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_file() {
        let raw = file("cluster: from-file\nserver:\n  listen: 0.0.0.0:1\n");
        let env = Env::from_pairs([
            (env::CLUSTER, "from-env"),
            (env::LISTEN, "0.0.0.0:2"),
            (env::LOG_LEVEL, "debug"),
        ]);
        let (raw, origins) = apply(raw, &cli(&["--listen", "0.0.0.0:3"]), &env).unwrap();
        assert_eq!(raw.cluster.as_deref(), Some("from-env"));
        assert_eq!(raw.server.listen.as_deref(), Some("0.0.0.0:3"));
        assert_eq!(raw.log.level.as_deref(), Some("debug"));
        assert_eq!(origins["cluster"], Origin::Env(env::CLUSTER));
        assert_eq!(origins["server.listen"], Origin::Flag("--listen"));
        assert!(!origins.contains_key("checkpoint.path"));
    }

    #[test]
    fn the_file_stands_when_nothing_overrides_it() {
        let raw = file("cluster: from-file\nsource:\n  namespaces: [a]\n");
        let (raw, origins) = apply(
            raw,
            &Cli::default(),
            &Env::from_pairs(std::iter::empty::<(&str, &str)>()),
        )
        .unwrap();
        assert_eq!(raw.cluster.as_deref(), Some("from-file"));
        assert_eq!(raw.source.namespaces, Some(vec!["a".to_owned()]));
        assert!(origins.is_empty());
    }

    #[test]
    fn namespaces_from_the_environment_are_comma_separated() {
        let env = Env::from_pairs([(env::NAMESPACES, "payments, billing,")]);
        let (raw, _) = apply(RawConfig::default(), &Cli::default(), &env).unwrap();
        assert_eq!(
            raw.source.namespaces,
            Some(vec!["payments".to_owned(), "billing".to_owned()])
        );
    }

    #[test]
    fn a_bad_log_format_in_the_environment_names_the_variable() {
        let env = Env::from_pairs([(env::LOG_FORMAT, "xml")]);
        let error = apply(RawConfig::default(), &Cli::default(), &env).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable EVENT_KEEPER_LOG_FORMAT: `log.format`: is \"xml\"; use json or text"
        );
    }

    #[test]
    fn flags_for_the_checkpoint_and_the_log_apply() {
        let args = [
            "--checkpoint-path",
            "/tmp/cp.json",
            "--log-format",
            "text",
            "--namespace",
            "a",
        ];
        let (raw, origins) = apply(
            RawConfig::default(),
            &cli(&args),
            &Env::from_pairs([(env::NAMESPACES, "b")]),
        )
        .unwrap();
        assert_eq!(raw.checkpoint.path, Some(PathBuf::from("/tmp/cp.json")));
        assert_eq!(raw.log.format, Some(LogFormat::Text));
        assert_eq!(raw.source.namespaces, Some(vec!["a".to_owned()]));
        assert_eq!(origins["source.namespaces"], Origin::Flag("--namespace"));
    }
}
