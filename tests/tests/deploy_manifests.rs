//! The deployment artifacts in `deploy/`: every manifest parses as multi-document YAML, and the
//! properties an operator relies on hold. The pods run as non-root with a read-only root file
//! system, no privilege escalation and no capabilities; the probes hit `/healthz` and `/readyz`
//! on the port `server.listen` names; the ClusterRole only reads Events and exactly the objects
//! `source.objects` watches; the Role is confined to its namespace and to the Lease and
//! checkpoint ConfigMap the config names; the ServiceAccount carries the IRSA role; the IAM
//! policies grant exactly the listed actions; config.yaml has every documented key and no other.
//!
//! The checks return findings rather than panicking, so the same checks run on the Helm chart's
//! renderings (`scripts/check-deploy.sh` renders them and runs the ignored test below) and the
//! tests at the bottom prove each check fails on a manifest that breaks its rule.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_serde::Value;

/// The optional change watches, all in the core API group.
const WATCHABLE_OBJECTS: [&str; 5] = [
    "pods",
    "nodes",
    "namespaces",
    "services",
    "persistentvolumeclaims",
];
const READ_VERBS: [&str; 3] = ["get", "list", "watch"];
const EXPORTER_ACTIONS: [&str; 7] = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    // The start-up health check (sink-cloudwatch's healthcheck.rs): one DescribeLogGroups.
    "logs:DescribeLogGroups",
    // After a timeout or a crash, the sink reads its own stream back rather than resend blindly.
    "logs:FilterLogEvents",
    "logs:PutLogEvents",
    "logs:PutRetentionPolicy",
    "logs:TagResource",
];
/// The actions that change anything; the reader policy must allow none of them.
const WRITE_ACTIONS: [&str; 5] = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:PutRetentionPolicy",
    "logs:TagResource",
];
const READER_ACTIONS: [&str; 5] = [
    "logs:DescribeLogGroups",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:GetQueryResults",
    "logs:StartQuery",
];
const LOG_GROUP_SCOPE: &str = "arn:aws:logs:*:*:log-group:/event-keeper/";
const NONROOT_UID: i64 = 65532;
/// The placeholders deploy/README.md tells the operator to replace.
const PLACEHOLDERS: [&str; 3] = ["<ACCOUNT_ID>", "<AWS_REGION>", "<CLUSTER_NAME>"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// Splits a YAML stream at its `---` document markers (a marker is only valid at column 0, so
/// no indented block scalar can contain one).
fn split_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") {
            docs.push(line.trim_start_matches("---").trim_start().to_owned() + "\n");
        } else if line != "..." {
            let current = docs.last_mut().expect("starts with one document");
            current.push_str(line);
            current.push('\n');
        }
    }
    docs
}

/// Every non-empty document of a multi-document YAML file.
fn parse_documents(text: &str, file: &str) -> Vec<Value> {
    split_documents(text)
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            yaml_serde::from_str::<Value>(doc)
                .unwrap_or_else(|e| panic!("{file}: document {}: {e}", i + 1))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The Kubernetes objects of one set of manifests: a directory of files, or a Helm rendering.
struct Manifests {
    label: String,
    objects: Vec<Value>,
}

impl Manifests {
    /// Parses every file in `dir`; each document must be an object with apiVersion, kind and name.
    fn load(dir: &Path) -> Manifests {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no manifests", dir.display());
        let mut objects = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let docs = parse_documents(&text, &path.display().to_string());
            assert!(!docs.is_empty(), "{}: no YAML documents", path.display());
            for doc in docs {
                for key in ["apiVersion", "kind"] {
                    assert!(
                        str_at(&doc, &[key]).is_some(),
                        "{}: a document without {key}",
                        path.display()
                    );
                }
                assert!(
                    str_at(&doc, &["metadata", "name"]).is_some(),
                    "{}: an object without a name",
                    path.display()
                );
                objects.push(doc);
            }
        }
        Manifests {
            label: dir.display().to_string(),
            objects,
        }
    }

    fn plain() -> Manifests {
        Manifests::load(&repo_root().join("deploy/kubernetes"))
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|o| str_at(o, &["kind"]) == Some(kind))
            .collect()
    }

    fn one(&self, kind: &str) -> &Value {
        let found = self.all(kind);
        assert_eq!(
            found.len(),
            1,
            "{}: expected exactly one {kind}",
            self.label
        );
        found[0]
    }

    fn one_mut(&mut self, kind: &str) -> &mut Value {
        self.objects
            .iter_mut()
            .find(|o| str_at(o, &["kind"]) == Some(kind))
            .expect("object of that kind")
    }

    fn pod_spec(&self) -> &Value {
        at(self.one("Deployment"), &["spec", "template", "spec"])
            .expect("Deployment has a pod spec")
    }

    /// config.yaml of the ConfigMap the Deployment mounts.
    fn config(&self) -> Value {
        let volumes = seq(at(self.pod_spec(), &["volumes"]));
        let name = volumes
            .iter()
            .find_map(|v| str_at(v, &["configMap", "name"]))
            .expect("the Deployment mounts a ConfigMap");
        let map = self
            .all("ConfigMap")
            .into_iter()
            .find(|c| str_at(c, &["metadata", "name"]) == Some(name))
            .unwrap_or_else(|| panic!("{}: no ConfigMap {name}", self.label));
        let text = str_at(map, &["data", "config.yaml"]).expect("the ConfigMap has config.yaml");
        yaml_serde::from_str(text).unwrap_or_else(|e| panic!("{}: config.yaml: {e}", self.label))
    }
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn at_mut<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(value, |v, key| {
        v.get_mut(*key).unwrap_or_else(|| panic!("no {key}"))
    })
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

fn seq(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

fn strings(value: Option<&Value>) -> BTreeSet<String> {
    seq(value)
        .iter()
        .map(|v| v.as_str().map_or_else(|| format!("{v:?}"), str::to_owned))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// What broke which rule; empty when everything holds.
#[derive(Default, Debug)]
struct Findings(Vec<String>);

impl Findings {
    fn require(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn assert_clean(self, label: &str) {
        assert!(self.0.is_empty(), "{label}:\n  {}", self.0.join("\n  "));
    }

    fn mentions(&self, needle: &str) -> bool {
        self.0.iter().any(|f| f.contains(needle))
    }
}

/// The port of `server.listen` ("0.0.0.0:8080", "[::]:8080").
fn server_port(config: &Value) -> i64 {
    let listen = str_at(config, &["server", "listen"]).expect("config has server.listen");
    listen
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("server.listen ends with a port")
}

fn check_security(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let pod = m.pod_spec();
    let pod_sc = at(pod, &["securityContext"]);
    for flag in ["hostNetwork", "hostPID", "hostIPC"] {
        f.require(
            at(pod, &[flag]).and_then(Value::as_bool) != Some(true),
            || format!("pod sets {flag}"),
        );
    }
    f.require(
        seq(at(pod, &["volumes"]))
            .iter()
            .all(|v| v.get("hostPath").is_none()),
        || "pod mounts a hostPath".into(),
    );
    let containers = seq(at(pod, &["containers"]))
        .iter()
        .chain(seq(at(pod, &["initContainers"])));
    for c in containers {
        let name = str_at(c, &["name"]).unwrap_or("?");
        let sc = at(c, &["securityContext"]);
        // A container setting wins over the pod's; both count for the fields Kubernetes merges.
        let effective = |key: &str| {
            sc.and_then(|s| s.get(key))
                .or_else(|| pod_sc.and_then(|s| s.get(key)))
        };
        f.require(
            effective("runAsNonRoot").and_then(Value::as_bool) == Some(true),
            || format!("{name}: runAsNonRoot is not true"),
        );
        f.require(
            effective("runAsUser").and_then(Value::as_i64) == Some(NONROOT_UID),
            || format!("{name}: runAsUser is not {NONROOT_UID}"),
        );
        f.require(
            effective("seccompProfile").and_then(|p| str_at(p, &["type"]))
                == Some("RuntimeDefault"),
            || format!("{name}: seccompProfile is not RuntimeDefault"),
        );
        let own = |key: &str| sc.and_then(|s| s.get(key)).and_then(Value::as_bool);
        f.require(own("readOnlyRootFilesystem") == Some(true), || {
            format!("{name}: readOnlyRootFilesystem is not true")
        });
        f.require(own("allowPrivilegeEscalation") == Some(false), || {
            format!("{name}: allowPrivilegeEscalation is not false")
        });
        f.require(own("privileged") != Some(true), || {
            format!("{name}: privileged")
        });
        let caps = sc.and_then(|s| s.get("capabilities"));
        f.require(
            strings(caps.and_then(|c| c.get("drop"))).contains("ALL"),
            || format!("{name}: capabilities do not drop ALL"),
        );
        f.require(seq(caps.and_then(|c| c.get("add"))).is_empty(), || {
            format!("{name}: adds capabilities")
        });
    }
    f
}

fn check_probes(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let port = server_port(&m.config());
    let container = &seq(at(m.pod_spec(), &["containers"]))[0];
    let ports = seq(at(container, &["ports"]));
    let resolve = |p: &Value| match p.as_str() {
        Some(name) => ports
            .iter()
            .find(|cp| str_at(cp, &["name"]) == Some(name))
            .and_then(|cp| at(cp, &["containerPort"])?.as_i64()),
        None => p.as_i64(),
    };
    f.require(
        ports
            .iter()
            .any(|cp| at(cp, &["containerPort"]).and_then(Value::as_i64) == Some(port)),
        || format!("no containerPort {port} (server.listen)"),
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = at(container, &[probe, "httpGet"]);
        f.require(get.and_then(|g| str_at(g, &["path"])) == Some(path), || {
            format!("{probe} does not GET {path}")
        });
        f.require(
            get.and_then(|g| g.get("port")).and_then(resolve) == Some(port),
            || format!("{probe} is not on port {port}"),
        );
    }
    let annotations = at(
        m.one("Deployment"),
        &["spec", "template", "metadata", "annotations"],
    );
    let annotation = |key: &str| annotations.and_then(|a| str_at(a, &[key]));
    f.require(annotation("prometheus.io/scrape") == Some("true"), || {
        "no prometheus.io/scrape: \"true\"".into()
    });
    f.require(
        annotation("prometheus.io/port") == Some(&port.to_string()),
        || format!("prometheus.io/port is not {port}"),
    );
    f.require(annotation("prometheus.io/path") == Some("/metrics"), || {
        "prometheus.io/path is not /metrics".into()
    });
    f
}

fn check_deployment(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let config = m.config();
    let deployment = m.one("Deployment");
    let pod = m.pod_spec();
    let container = &seq(at(pod, &["containers"]))[0];
    let replicas = at(deployment, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1);
    if replicas > 1 {
        f.require(
            at(&config, &["leader_election", "enabled"]).and_then(Value::as_bool) == Some(true),
            || format!("{replicas} replicas without leader election export every event twice"),
        );
        f.require(
            str_at(&config, &["checkpoint", "store"]) == Some("configmap"),
            || format!("{replicas} replicas need the configmap checkpoint store"),
        );
    }
    for (var, field) in [
        ("POD_NAMESPACE", "metadata.namespace"),
        ("POD_NAME", "metadata.name"),
    ] {
        let from = seq(at(container, &["env"]))
            .iter()
            .find(|e| str_at(e, &["name"]) == Some(var));
        f.require(
            from.and_then(|e| str_at(e, &["valueFrom", "fieldRef", "fieldPath"])) == Some(field),
            || format!("{var} does not come from the downward API's {field}"),
        );
    }
    let args: Vec<&str> = seq(at(container, &["args"]))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    f.require(
        args.windows(2)
            .any(|w| w == ["--config", "/etc/event-keeper/config.yaml"]),
        || "args do not pass --config /etc/event-keeper/config.yaml".into(),
    );
    f.require(
        seq(at(container, &["volumeMounts"]))
            .iter()
            .any(|v| str_at(v, &["mountPath"]) == Some("/etc/event-keeper")),
        || "config.yaml is not mounted at /etc/event-keeper".into(),
    );
    // The root filesystem is read-only: every path the exporter writes must be on a writable
    // mount, or a file sink or checkpoint file fails at its first write.
    let writable: Vec<&str> = seq(at(container, &["volumeMounts"]))
        .iter()
        .filter(|v| at(v, &["readOnly"]).and_then(Value::as_bool) != Some(true))
        .filter_map(|v| str_at(v, &["mountPath"]))
        .collect();
    let mut written: Vec<String> = seq(at(&config, &["sinks"]))
        .iter()
        .filter(|s| str_at(s, &["type"]) == Some("file"))
        .filter_map(|s| str_at(s, &["directory"]).map(|d| format!("{}/", d.trim_end_matches('/'))))
        .collect();
    if str_at(&config, &["checkpoint", "store"]) == Some("file") {
        written.extend(str_at(&config, &["checkpoint", "path"]).map(str::to_owned));
    }
    for path in &written {
        f.require(
            writable
                .iter()
                .any(|m| path.starts_with(&format!("{}/", m.trim_end_matches('/')))),
            || format!("{path} is written but on no writable volume mount ({writable:?})"),
        );
    }
    for (path, want) in [
        (["requests", "cpu"], "50m"),
        (["requests", "memory"], "32Mi"),
        (["limits", "memory"], "128Mi"),
    ] {
        let got = at(container, &["resources"]).and_then(|r| str_at(r, &path));
        f.require(got == Some(want), || {
            format!("resources.{} is {got:?}, not {want}", path.join("."))
        });
    }
    f.require(
        at(pod, &["terminationGracePeriodSeconds"]).and_then(Value::as_i64) == Some(30),
        || "terminationGracePeriodSeconds is not 30".into(),
    );
    f.require(
        seq(at(pod, &["topologySpreadConstraints"]))
            .iter()
            .any(|t| str_at(t, &["topologyKey"]) == Some("kubernetes.io/hostname")),
        || "no topology spread across nodes".into(),
    );
    let pod_labels =
        at(deployment, &["spec", "template", "metadata", "labels"]).and_then(Value::as_mapping);
    let pdbs = m.all("PodDisruptionBudget");
    f.require(
        pdbs.iter().any(|pdb| {
            let selector =
                at(pdb, &["spec", "selector", "matchLabels"]).and_then(Value::as_mapping);
            selector.is_some_and(|s| {
                !s.is_empty()
                    && s.iter()
                        .all(|(k, v)| pod_labels.and_then(|l| l.get(k)) == Some(v))
            })
        }),
        || "no PodDisruptionBudget selects the exporter's pods".into(),
    );
    let sa = str_at(pod, &["serviceAccountName"]);
    f.require(
        m.all("ServiceAccount")
            .iter()
            .any(|s| str_at(s, &["metadata", "name"]) == sa),
        || format!("the pods' ServiceAccount {sa:?} is not among the manifests"),
    );
    f
}

/// The ServiceAccount the pods run as, as (namespace, name).
fn subject(m: &Manifests) -> (String, String) {
    let sa = m.one("ServiceAccount");
    let field = |k| {
        str_at(sa, &["metadata", k])
            .expect("ServiceAccount has namespace and name")
            .to_owned()
    };
    (field("namespace"), field("name"))
}

fn check_service_account(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let arn = str_at(
        m.one("ServiceAccount"),
        &["metadata", "annotations", "eks.amazonaws.com/role-arn"],
    );
    f.require(arn.is_some_and(|a| a.starts_with("arn:aws:iam::") && a.contains(":role/")), || {
        format!("ServiceAccount annotation eks.amazonaws.com/role-arn is {arn:?}, not an IAM role ARN")
    });
    f
}

fn binds_subject(binding: &Value, (namespace, name): &(String, String)) -> bool {
    seq(at(binding, &["subjects"])).iter().any(|s| {
        str_at(s, &["kind"]) == Some("ServiceAccount")
            && str_at(s, &["name"]) == Some(name)
            && str_at(s, &["namespace"]) == Some(namespace)
    })
}

fn check_cluster_role(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let config = m.config();
    let objects = strings(at(&config, &["source", "objects"]));
    let mut expected = BTreeSet::new();
    let api = str_at(&config, &["source", "api"]).unwrap_or("auto");
    if matches!(api, "auto" | "core-v1") {
        expected.insert((String::new(), "events".to_owned()));
    }
    if matches!(api, "auto" | "events-v1") {
        expected.insert(("events.k8s.io".to_owned(), "events".to_owned()));
    }
    expected.extend(objects.iter().map(|o| (String::new(), o.clone())));
    let role = m.one("ClusterRole");
    let mut granted = BTreeSet::new();
    for rule in seq(at(role, &["rules"])) {
        let verbs = strings(rule.get("verbs"));
        f.require(
            !verbs.is_empty() && verbs.is_subset(&set(&READ_VERBS)),
            || format!("ClusterRole verbs {verbs:?} go beyond get/list/watch"),
        );
        f.require(rule.get("nonResourceURLs").is_none(), || {
            "ClusterRole grants nonResourceURLs".into()
        });
        for group in strings(rule.get("apiGroups")) {
            for resource in strings(rule.get("resources")) {
                granted.insert((group.clone(), resource));
            }
        }
    }
    f.require(granted == expected, || {
        format!("ClusterRole grants {granted:?}; config.yaml watches exactly {expected:?}")
    });
    let name = str_at(role, &["metadata", "name"]);
    let sa = subject(m);
    f.require(
        m.all("ClusterRoleBinding").iter().any(|b| {
            str_at(b, &["roleRef", "kind"]) == Some("ClusterRole")
                && str_at(b, &["roleRef", "name"]) == name
                && binds_subject(b, &sa)
        }),
        || "no ClusterRoleBinding binds the ClusterRole to the pods' ServiceAccount".into(),
    );
    f
}

fn check_role(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let config = m.config();
    let sa = subject(m);
    let namespace = sa.0.as_str();
    let lease = str_at(&config, &["leader_election", "lease_name"]).unwrap_or_default();
    let checkpoint = str_at(&config, &["checkpoint", "name"]).unwrap_or_default();
    // (group, resource) -> (the one name it may touch, the verbs allowed on it)
    let allowed = [
        (
            ("coordination.k8s.io", "leases"),
            (lease, set(&["get", "create", "update"])),
        ),
        (
            ("", "configmaps"),
            // The store reads, creates and replaces (fenced by resourceVersion); it never
            // patches, so the Role does not grant it.
            (checkpoint, set(&["get", "create", "update"])),
        ),
    ];
    let mut granted: BTreeSet<(String, String, String)> = BTreeSet::new();
    for role in m.all("Role") {
        f.require(
            str_at(role, &["metadata", "namespace"]) == Some(namespace),
            || format!("Role outside namespace {namespace}"),
        );
        for rule in seq(at(role, &["rules"])) {
            let names = strings(rule.get("resourceNames"));
            for group in strings(rule.get("apiGroups")) {
                for resource in strings(rule.get("resources")) {
                    let Some((_, (name, verbs))) = allowed
                        .iter()
                        .find(|((g, r), _)| *g == group && *r == resource)
                    else {
                        f.0.push(format!("Role grants {resource:?} in group {group:?}"));
                        continue;
                    };
                    for verb in strings(rule.get("verbs")) {
                        f.require(verbs.contains(&verb), || {
                            format!("Role grants {verb} on {resource}")
                        });
                        // Only `create` cannot be limited by name; every other verb must be.
                        f.require(verb == "create" || names == set(&[name]), || {
                            format!("Role grants {verb} on {resource} beyond the name {name:?}")
                        });
                        granted.insert((
                            resource.clone(),
                            verb,
                            names.iter().cloned().collect::<Vec<_>>().join(","),
                        ));
                    }
                }
            }
        }
    }
    let needs = |resource: &str, verbs: &[&str], name: &str, f: &mut Findings| {
        for verb in verbs {
            let scope = if *verb == "create" {
                String::new()
            } else {
                name.to_owned()
            };
            f.require(
                granted.contains(&(resource.to_owned(), (*verb).to_owned(), scope)),
                || format!("Role does not grant {verb} on {resource} {name:?}"),
            );
        }
    };
    if at(&config, &["leader_election", "enabled"]).and_then(Value::as_bool) == Some(true) {
        needs("leases", &["get", "create", "update"], lease, &mut f);
    }
    if str_at(&config, &["checkpoint", "store"]) == Some("configmap") {
        needs(
            "configmaps",
            &["get", "create", "update"],
            checkpoint,
            &mut f,
        );
    }
    for binding in m.all("RoleBinding") {
        f.require(
            str_at(binding, &["metadata", "namespace"]) == Some(namespace),
            || format!("RoleBinding outside namespace {namespace}"),
        );
        f.require(
            str_at(binding, &["roleRef", "kind"]) == Some("Role"),
            || "RoleBinding refers to a ClusterRole".into(),
        );
        f.require(binds_subject(binding, &sa), || {
            "RoleBinding does not bind the pods' ServiceAccount".into()
        });
    }
    f.require(m.all("Role").len() == m.all("RoleBinding").len(), || {
        "every Role needs its RoleBinding".into()
    });
    f
}

fn check_config(m: &Manifests) -> Findings {
    let mut f = Findings::default();
    let config = m.config();
    // Mirrors the binary's deny_unknown_fields (examples/src/exporter/file.rs): (section, every
    // key the deploy configs must have, the other keys the binary accepts).
    let sections: [(&[&str], &[&str], &[&str]); 6] = [
        (
            &[],
            &[
                "cluster",
                "source",
                "filter",
                "checkpoint",
                "leader_election",
                "sinks",
                "server",
                "log",
            ],
            &["pipeline"],
        ),
        (
            &["source"],
            &["api", "namespaces", "objects"],
            &["label_selector", "field_selector"],
        ),
        (
            &["checkpoint"],
            &["store", "name", "path"],
            &["namespace", "interval_secs"],
        ),
        (
            &["leader_election"],
            &["enabled", "lease_name"],
            &[
                "namespace",
                "identity",
                "lease_duration_secs",
                "renew_deadline_secs",
                "retry_period_secs",
            ],
        ),
        (&["server"], &["listen"], &["stall_after_secs"]),
        (&["log"], &["format", "level"], &[]),
    ];
    for (path, required, optional) in sections {
        let keys: BTreeSet<String> = at(&config, path)
            .and_then(Value::as_mapping)
            .map(|map| {
                map.keys()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let required = set(required);
        let known: BTreeSet<String> = required.union(&set(optional)).cloned().collect();
        let section = if path.is_empty() {
            "config.yaml".to_owned()
        } else {
            path.join(".")
        };
        f.require(keys.is_superset(&required), || {
            format!(
                "{section} lacks {:?}",
                required.difference(&keys).collect::<Vec<_>>()
            )
        });
        f.require(keys.is_subset(&known), || {
            format!(
                "{section} has unknown keys {:?}",
                keys.difference(&known).collect::<Vec<_>>()
            )
        });
    }
    let one_of = |path: &[&str], values: &[&str], f: &mut Findings| {
        let got = str_at(&config, path);
        f.require(got.is_some_and(|g| values.contains(&g)), || {
            format!("{} is {got:?}, not one of {values:?}", path.join("."))
        });
    };
    one_of(
        &["source", "api"],
        &["auto", "events-v1", "core-v1"],
        &mut f,
    );
    one_of(&["checkpoint", "store"], &["configmap", "file"], &mut f);
    one_of(&["log", "format"], &["json", "text"], &mut f);
    f.require(
        str_at(&config, &["cluster"]).is_some_and(|c| !c.is_empty()),
        || "cluster is empty".into(),
    );
    let objects = strings(at(&config, &["source", "objects"]));
    f.require(objects.is_subset(&set(&WATCHABLE_OBJECTS)), || {
        format!("source.objects {objects:?} are not all watchable")
    });
    let sinks = seq(at(&config, &["sinks"]));
    f.require(!sinks.is_empty(), || "no sinks".into());
    for sink in sinks
        .iter()
        .filter(|s| str_at(s, &["type"]) == Some("cloudwatch"))
    {
        for key in ["log_group", "log_stream", "retention_days"] {
            f.require(sink.get(key).is_some(), || {
                format!("cloudwatch sink lacks {key}")
            });
        }
        let group = str_at(sink, &["log_group"]).unwrap_or_default();
        f.require(group.starts_with("/event-keeper/"), || {
            format!("log group {group:?} is outside /event-keeper/, which the IAM policy allows")
        });
    }
    f
}

fn load_json(name: &str) -> Value {
    let path = repo_root().join("deploy").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every action and resource the policy allows, refusing what would widen it unseen.
fn allowed(policy: &Value, f: &mut Findings) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut actions, mut resources) = (BTreeSet::new(), BTreeSet::new());
    f.require(str_at(policy, &["Version"]) == Some("2012-10-17"), || {
        "policy Version is not 2012-10-17".into()
    });
    for statement in seq(policy.get("Statement")) {
        f.require(str_at(statement, &["Effect"]) == Some("Allow"), || {
            "a statement is not Effect: Allow".into()
        });
        for negated in ["NotAction", "NotResource", "NotPrincipal"] {
            f.require(statement.get(negated).is_none(), || {
                format!("a statement uses {negated}")
            });
        }
        let listed = |key: &str| match statement.get(key) {
            Some(Value::String(one)) => BTreeSet::from([one.clone()]),
            other => strings(other),
        };
        actions.extend(listed("Action"));
        resources.extend(listed("Resource"));
    }
    (actions, resources)
}

/// Whether every statement of `policy` names only resources under the prefix, but for one that
/// allows nothing but `unscoped` actions (those IAM cannot limit to a log group name).
fn scoped_to_the_prefix(policy: &Value, unscoped: &[&str]) -> bool {
    seq(policy.get("Statement")).iter().all(|s| {
        let acts = match s.get("Action") {
            Some(Value::String(one)) => BTreeSet::from([one.clone()]),
            other => strings(other),
        };
        let resources = match s.get("Resource") {
            Some(Value::String(one)) => BTreeSet::from([one.clone()]),
            other => strings(other),
        };
        (!acts.is_empty() && acts.is_subset(&set(unscoped)))
            || (!resources.is_empty() && resources.iter().all(|r| r.starts_with(LOG_GROUP_SCOPE)))
    })
}

fn check_iam_policies(exporter: &Value, reader: &Value) -> Findings {
    let mut f = Findings::default();
    let (actions, resources) = allowed(exporter, &mut f);
    f.require(actions == set(&EXPORTER_ACTIONS), || {
        format!("exporter policy allows {actions:?}, not exactly {EXPORTER_ACTIONS:?}")
    });
    // DescribeLogGroups has no resource-level scoping; it lists names, never content.
    f.require(
        scoped_to_the_prefix(exporter, &["logs:DescribeLogGroups"]),
        || format!("exporter policy resources {resources:?} reach beyond {LOG_GROUP_SCOPE}*"),
    );
    let (read, read_resources) = allowed(reader, &mut f);
    f.require(read == set(&READER_ACTIONS), || {
        format!("reader policy allows {read:?}, not exactly {READER_ACTIONS:?}")
    });
    f.require(read.is_disjoint(&set(&WRITE_ACTIONS)), || {
        "reader policy allows writes".into()
    });
    // Only the two read actions that have no resource-level scoping may name more than the prefix.
    f.require(
        scoped_to_the_prefix(reader, &["logs:DescribeLogGroups", "logs:GetQueryResults"]),
        || format!("reader policy reads log groups beyond {LOG_GROUP_SCOPE}*: {read_resources:?}"),
    );
    f
}

/// The CloudWatch Logs calls the exporter's sink makes, read from its source: every
/// `client.operation()` in `sink-cloudwatch/src/service.rs`, as IAM names them.
fn calls_of_the_cloudwatch_sink() -> BTreeSet<String> {
    let path = repo_root().join("sink-cloudwatch/src/service.rs");
    let source = std::fs::read_to_string(&path).expect("sink-cloudwatch/src/service.rs reads");
    let mut calls = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find("client") {
        rest = &rest[at + "client".len()..];
        let after = rest.trim_start();
        let Some(call) = after.strip_prefix('.') else {
            continue;
        };
        let name: String = call
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() && call[name.len()..].starts_with("()") {
            let camel: String = name
                .split('_')
                .map(|w| {
                    let mut chars = w.chars();
                    chars.next().map_or_else(String::new, |c| {
                        c.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect();
            calls.insert(format!("logs:{camel}"));
        }
    }
    calls
}

#[test]
fn the_exporter_policy_allows_every_call_the_cloudwatch_sink_makes() {
    let calls = calls_of_the_cloudwatch_sink();
    assert!(
        calls.contains("logs:PutLogEvents") && calls.contains("logs:DescribeLogGroups"),
        "the scan found the sink's calls: {calls:?}"
    );
    let (actions, _) = allowed(&load_json("iam-policy.json"), &mut Findings::default());
    let missing: Vec<&String> = calls.difference(&actions).collect();
    assert!(
        missing.is_empty(),
        "deploy/iam-policy.json lacks {missing:?}, which sink-cloudwatch calls"
    );
}

#[test]
fn the_checkpoint_store_and_the_lease_never_patch() {
    // The Role grants get, create and update only: a patch would be refused in a cluster.
    for file in [
        "event-core/src/checkpoint/configmap.rs",
        "event-leader/src/lock.rs",
    ] {
        let source = std::fs::read_to_string(repo_root().join(file)).expect("source reads");
        assert!(
            !source.contains(".patch(") && !source.contains("Patch::"),
            "{file} patches; grant it in the Role or replace instead"
        );
    }
}

#[test]
fn every_manifest_parses_as_kubernetes_objects() {
    let m = Manifests::plain();
    let kinds: BTreeSet<&str> = m
        .objects
        .iter()
        .filter_map(|o| str_at(o, &["kind"]))
        .collect();
    let wanted = [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
    ];
    for kind in wanted {
        assert!(kinds.contains(kind), "deploy/kubernetes has no {kind}");
    }
    for o in &m.objects {
        let kind = str_at(o, &["kind"]).unwrap_or_default();
        let namespaced = !matches!(kind, "Namespace" | "ClusterRole" | "ClusterRoleBinding");
        assert_eq!(
            str_at(o, &["metadata", "namespace"]).filter(|_| namespaced),
            namespaced.then_some("event-keeper"),
            "{kind} {:?} is not in namespace event-keeper",
            str_at(o, &["metadata", "name"])
        );
    }
}

#[test]
fn pods_run_as_non_root_with_a_read_only_root_and_no_privileges() {
    check_security(&Manifests::plain()).assert_clean("deploy/kubernetes");
}

#[test]
fn probes_hit_healthz_and_readyz_on_the_server_port() {
    check_probes(&Manifests::plain()).assert_clean("deploy/kubernetes");
}

#[test]
fn deployment_runs_two_replicas_with_the_downward_api_and_a_disruption_budget() {
    let m = Manifests::plain();
    check_deployment(&m).assert_clean("deploy/kubernetes");
    assert_eq!(
        at(m.one("Deployment"), &["spec", "replicas"]).and_then(Value::as_i64),
        Some(2)
    );
}

#[test]
fn cluster_role_only_reads_events_and_the_configured_objects() {
    check_cluster_role(&Manifests::plain()).assert_clean("deploy/kubernetes");
}

#[test]
fn role_is_confined_to_its_namespace_and_the_lease_and_checkpoint_names() {
    check_role(&Manifests::plain()).assert_clean("deploy/kubernetes");
}

#[test]
fn service_account_carries_the_irsa_role_annotation() {
    check_service_account(&Manifests::plain()).assert_clean("deploy/kubernetes");
}

#[test]
fn config_yaml_has_every_documented_key_and_no_other() {
    check_config(&Manifests::plain()).assert_clean("deploy/kubernetes");
}

#[test]
fn namespace_enforces_the_restricted_pod_security_standard() {
    let m = Manifests::plain();
    let ns = m.one("Namespace");
    assert_eq!(str_at(ns, &["metadata", "name"]), Some("event-keeper"));
    assert_eq!(
        str_at(
            ns,
            &["metadata", "labels", "pod-security.kubernetes.io/enforce"]
        ),
        Some("restricted")
    );
}

#[test]
fn iam_policies_grant_exactly_the_listed_actions_on_event_keeper_log_groups() {
    check_iam_policies(
        &load_json("iam-policy.json"),
        &load_json("iam-policy-reader.json"),
    )
    .assert_clean("deploy/*.json");
}

#[test]
fn trust_policy_admits_only_the_exporters_service_account() {
    let trust = load_json("irsa-trust-policy.json");
    let statements = seq(trust.get("Statement"));
    assert_eq!(statements.len(), 1, "one statement");
    let s = &statements[0];
    assert_eq!(
        str_at(s, &["Action"]),
        Some("sts:AssumeRoleWithWebIdentity")
    );
    assert!(str_at(s, &["Principal", "Federated"]).is_some_and(|p| p.contains(":oidc-provider/")));
    let equals = at(s, &["Condition", "StringEquals"])
        .and_then(Value::as_mapping)
        .expect("StringEquals condition");
    let value = |suffix: &str| {
        equals
            .iter()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.ends_with(suffix)))
            .and_then(|(_, v)| v.as_str())
    };
    let (namespace, name) = subject(&Manifests::plain());
    assert_eq!(
        value(":sub"),
        Some(format!("system:serviceaccount:{namespace}:{name}").as_str())
    );
    assert_eq!(value(":aud"), Some("sts.amazonaws.com"));
}

#[test]
fn placeholders_are_the_ones_the_deploy_guide_explains() {
    let guide =
        std::fs::read_to_string(repo_root().join("deploy/README.md")).expect("deploy/README.md");
    for entry in
        std::fs::read_dir(repo_root().join("deploy/kubernetes")).expect("deploy/kubernetes")
    {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable manifest");
        let mut rest = text.as_str();
        while let Some(start) = rest.find('<') {
            let candidate = &rest[start..];
            let end = candidate.find('>').map_or(candidate.len(), |e| e + 1);
            let token = &candidate[..end];
            if token.len() > 2
                && token[1..end - 1]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_')
            {
                assert!(
                    PLACEHOLDERS.contains(&token),
                    "{}: unknown placeholder {token}",
                    path.display()
                );
                assert!(
                    guide.contains(token),
                    "deploy/README.md does not explain {token}"
                );
            }
            rest = &candidate[1..];
        }
    }
}

#[test]
fn helm_chart_exposes_every_knob_with_safe_defaults() {
    let chart_dir = repo_root().join("deploy/helm/event-keeper");
    let chart: Value = yaml_serde::from_str(
        &std::fs::read_to_string(chart_dir.join("Chart.yaml")).expect("Chart.yaml"),
    )
    .expect("Chart.yaml parses");
    assert_eq!(str_at(&chart, &["apiVersion"]), Some("v2"));
    let values: Value = yaml_serde::from_str(
        &std::fs::read_to_string(chart_dir.join("values.yaml")).expect("values.yaml"),
    )
    .expect("values.yaml parses");
    for path in [
        &["image", "repository"][..],
        &["image", "tag"],
        &["replicaCount"],
        &["clusterName"],
        &["serviceAccount", "annotations"],
        &["serviceAccount", "roleArn"],
        &["config"],
        &["objects"],
        &["resources"],
        &["securityContext"],
        &["podSecurityContext"],
        &["leaderElection", "enabled"],
        &["podDisruptionBudget"],
        &["nodeSelector"],
        &["tolerations"],
        &["affinity"],
        &["serviceMonitor", "enabled"],
    ] {
        assert!(
            at(&values, path).is_some(),
            "values.yaml has no {}",
            path.join(".")
        );
    }
    assert_eq!(
        at(&values, &["replicaCount"]).and_then(Value::as_i64),
        Some(2)
    );
    assert!(
        seq(at(&values, &["objects"])).is_empty(),
        "no optional watch (nor its RBAC) by default"
    );
    let sc = at(&values, &["securityContext"]).expect("securityContext");
    assert_eq!(
        at(sc, &["readOnlyRootFilesystem"]).and_then(Value::as_bool),
        Some(true)
    );
    assert_eq!(
        at(sc, &["allowPrivilegeEscalation"]).and_then(Value::as_bool),
        Some(false)
    );
    assert_eq!(
        at(sc, &["runAsUser"]).and_then(Value::as_i64),
        Some(NONROOT_UID)
    );
    assert!(strings(at(sc, &["capabilities", "drop"])).contains("ALL"));
}

/// Renderings of the Helm chart, one directory each (`scripts/check-deploy.sh` makes them).
#[test]
#[ignore = "needs Helm renderings: run scripts/check-deploy.sh"]
fn helm_renderings_pass_the_same_checks() {
    let dirs = std::env::var("EVENT_KEEPER_RENDERED_DIRS")
        .expect("EVENT_KEEPER_RENDERED_DIRS names the rendered chart directories, ':'-separated");
    let dirs: Vec<&str> = dirs.split(':').filter(|d| !d.is_empty()).collect();
    assert!(!dirs.is_empty(), "no rendered directories");
    for dir in dirs {
        let m = Manifests::load(Path::new(dir));
        let mut all = Findings::default();
        for check in [
            check_security,
            check_probes,
            check_deployment,
            check_cluster_role,
            check_role,
            check_service_account,
            check_config,
        ] {
            all.0.extend(check(&m).0);
        }
        all.assert_clean(dir);
    }
}

// Each check must be able to fail: break one rule in the real manifests and watch it caught.

#[test]
fn security_check_rejects_a_writable_root_file_system_and_root() {
    let mut m = Manifests::plain();
    let container = &mut at_mut(
        m.one_mut("Deployment"),
        &["spec", "template", "spec", "containers"],
    )[0];
    *at_mut(container, &["securityContext", "readOnlyRootFilesystem"]) = Value::Bool(false);
    *at_mut(container, &["securityContext", "runAsUser"]) = Value::Number(0.into());
    let f = check_security(&m);
    assert!(
        f.mentions("readOnlyRootFilesystem") && f.mentions("runAsUser"),
        "{f:?}"
    );
}

#[test]
fn probe_check_rejects_a_probe_on_another_port() {
    let mut m = Manifests::plain();
    let container = &mut at_mut(
        m.one_mut("Deployment"),
        &["spec", "template", "spec", "containers"],
    )[0];
    *at_mut(container, &["readinessProbe", "httpGet", "port"]) = Value::Number(9090.into());
    assert!(check_probes(&m).mentions("readinessProbe is not on port 8080"));
}

#[test]
fn cluster_role_check_rejects_write_verbs_and_unwatched_objects() {
    let mut m = Manifests::plain();
    let rules = at_mut(m.one_mut("ClusterRole"), &["rules"])
        .as_sequence_mut()
        .expect("rules");
    let extra: Value = yaml_serde::from_str(
        "{apiGroups: [''], resources: [pods, secrets], verbs: [get, list, watch, delete]}",
    )
    .expect("rule");
    rules.push(extra);
    let f = check_cluster_role(&m);
    assert!(
        f.mentions("beyond get/list/watch") && f.mentions("secrets") && f.mentions("pods"),
        "{f:?}"
    );
}

#[test]
fn role_check_rejects_an_unnamed_update_and_other_resources() {
    let mut m = Manifests::plain();
    let rules = at_mut(m.one_mut("Role"), &["rules"])
        .as_sequence_mut()
        .expect("rules");
    rules.push(
        yaml_serde::from_str("{apiGroups: [''], resources: [configmaps], verbs: [update]}")
            .expect("rule"),
    );
    rules.push(
        yaml_serde::from_str("{apiGroups: [''], resources: [secrets], verbs: [get]}")
            .expect("rule"),
    );
    let f = check_role(&m);
    assert!(
        f.mentions("update on configmaps beyond the name") && f.mentions("\"secrets\""),
        "{f:?}"
    );
}

#[test]
fn config_check_rejects_unknown_and_missing_keys() {
    let mut m = Manifests::plain();
    let text = str_at(m.one("ConfigMap"), &["data", "config.yaml"])
        .expect("config.yaml")
        .replace("  lease_name: event-keeper\n", "  lease: event-keeper\n");
    *at_mut(m.one_mut("ConfigMap"), &["data", "config.yaml"]) = Value::String(text);
    let f = check_config(&m);
    assert!(
        f.mentions("leader_election lacks [\"lease_name\"]")
            && f.mentions("unknown keys [\"lease\"]"),
        "{f:?}"
    );
}

#[test]
fn iam_check_rejects_an_extra_action_and_a_wildcard_resource() {
    let mut exporter = load_json("iam-policy.json");
    let statement = &mut at_mut(&mut exporter, &["Statement"])
        .as_sequence_mut()
        .expect("statements")[0];
    at_mut(statement, &["Action"])
        .as_sequence_mut()
        .expect("actions")
        .push(Value::String("logs:DeleteLogGroup".into()));
    *at_mut(statement, &["Resource"]) = Value::String("*".into());
    let f = check_iam_policies(&exporter, &load_json("iam-policy-reader.json"));
    assert!(
        f.mentions("logs:DeleteLogGroup") && f.mentions("reach beyond"),
        "{f:?}"
    );
}

#[test]
fn document_splitting_keeps_every_document() {
    let docs = parse_documents(
        "# lead comment\n---\na: 1\n--- {b: 2}\n---\n\n---\nc: |\n  x\n  ---y\n",
        "inline",
    );
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!(str_at(&docs[2], &["c"]), Some("x\n---y\n"));
}
