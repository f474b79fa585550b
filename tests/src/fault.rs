//! Shared parts of the fault suite (`tests/tests/fault_*.rs`): background churn on a simulated
//! cluster that records every occurrence it makes, and the accounting of what a sink stored
//! against it: lost, duplicated, coalesced, with the figures printed for the reliability notes.
//!
//! Each fault test prints one `figures` line (`cargo test -- --nocapture` shows it); with
//! `EVENT_KEEPER_FIGURES=PATH` set, the line is also appended to that file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_core::OccurrenceKey;
use testkit::{EventRef, NewEvent, SimCluster};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::key;

/// Events created and bumped in the background, every occurrence recorded.
///
/// Every `every`, the churn creates one event and bumps one or two live ones (a bump is a new
/// occurrence: count + 1, new resourceVersion). It writes straight into the cluster's store, so
/// it goes on while the API server is stopped or unavailable, as the kubelet and controllers
/// go on recording events while an exporter is down.
pub struct Churn {
    log: Arc<Mutex<Vec<EventRef>>>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Churn {
    /// Starts churning on `cluster`; names of the events start with `tag`.
    pub fn start(cluster: Arc<SimCluster>, tag: &str, every: Duration) -> Churn {
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(churn(
            cluster,
            tag.to_owned(),
            every,
            log.clone(),
            stop.clone(),
        ));
        Churn {
            log,
            stop,
            task: Some(task),
        }
    }

    /// How many occurrences were made so far.
    pub fn made(&self) -> usize {
        self.log.lock().expect("churn log").len()
    }

    /// Every occurrence made so far, in order; the churn goes on.
    pub fn snapshot(&self) -> Vec<EventRef> {
        self.log.lock().expect("churn log").clone()
    }

    /// Stops the churn and returns every occurrence it made, in order.
    pub async fn stop(mut self) -> Vec<EventRef> {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("churn task");
        }
        self.log.lock().expect("churn log").clone()
    }
}

impl Drop for Churn {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn churn(
    cluster: Arc<SimCluster>,
    tag: String,
    every: Duration,
    log: Arc<Mutex<Vec<EventRef>>>,
    stop: CancellationToken,
) {
    let namespaces = ["payments", "billing", "search", "kube-system"];
    let reasons = ["BackOff", "FailedScheduling", "Unhealthy", "OOMKilling"];
    let mut live: Vec<EventRef> = Vec::new();
    let mut n = 0usize;
    let mut ticker = tokio::time::interval(every);
    while !stop.is_cancelled() {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let created = cluster.create_event(
            NewEvent::new(namespaces[n % namespaces.len()], reasons[n % reasons.len()])
                .regarding("Pod", format!("{tag}-{n}"))
                .message(format!("occurrence {n} of the churn {tag}")),
        );
        let mut made = vec![created.clone()];
        live.push(created);
        for _ in 0..(1 + n % 2) {
            // Spread bumps over old and new events without a random source.
            let at = (n * 7919 + made.len() * 104_729) % live.len();
            if let Some(bumped) = cluster.bump_event(&live[at]) {
                made.push(bumped.clone());
                live[at] = bumped;
            }
        }
        log.lock().expect("churn log").extend(made);
        n += 1;
    }
}

/// The newest occurrence of each event among `made` (resourceVersions are numeric).
pub fn latest_per_uid(made: &[OccurrenceKey]) -> Vec<OccurrenceKey> {
    let mut latest: BTreeMap<&str, &OccurrenceKey> = BTreeMap::new();
    for k in made {
        let newer = latest.get(k.uid.as_str()).is_none_or(|cur| rv(k) > rv(cur));
        if newer {
            latest.insert(&k.uid, k);
        }
    }
    latest.into_values().cloned().collect()
}

fn rv(k: &OccurrenceKey) -> u64 {
    k.resource_version.parse().unwrap_or(0)
}

/// What a sink holds compared with what the cluster made.
#[derive(Debug, Clone)]
pub struct Figures {
    /// The test, as printed.
    pub name: String,
    /// Occurrences the cluster made.
    pub occurrences: usize,
    /// Distinct occurrences the sink holds.
    pub stored: usize,
    /// Occurrences missing from the sink, intermediate updates of coalesced events excluded
    /// when coalescing is allowed (see [`Figures::count_coalescing`]).
    pub lost: Vec<OccurrenceKey>,
    /// Copies beyond the first, summed over every occurrence.
    pub duplicated: usize,
    /// Intermediate occurrences not stored because a later state of the same event was (only
    /// with [`Figures::count_coalescing`]).
    pub coalesced_updates: usize,
    /// Events with such coalesced updates.
    pub coalesced_events: usize,
    /// Stored occurrences the cluster never made.
    pub unexpected: usize,
    /// Further figures of the test (kills, retries, already-stored skips, ...).
    pub extra: Vec<(String, u64)>,
}

impl Figures {
    /// Strict accounting: every occurrence in `made` must be stored once.
    pub fn count(name: &str, stored: &[OccurrenceKey], made: &[OccurrenceKey]) -> Figures {
        Figures::tally(name, stored, made, false)
    }

    /// Accounting across a gap the watch could not replay (410 Gone): the latest occurrence of
    /// every event must be stored once; an older one that is missing while a newer one of the
    /// same event is stored was coalesced, and counted as such rather than as lost.
    pub fn count_coalescing(
        name: &str,
        stored: &[OccurrenceKey],
        made: &[OccurrenceKey],
    ) -> Figures {
        Figures::tally(name, stored, made, true)
    }

    fn tally(
        name: &str,
        stored: &[OccurrenceKey],
        made: &[OccurrenceKey],
        coalescing: bool,
    ) -> Figures {
        let counts = crate::tally(stored);
        let made_set: std::collections::HashSet<&OccurrenceKey> = made.iter().collect();
        let newest_stored: HashMap<&str, u64> = stored.iter().fold(HashMap::new(), |mut m, k| {
            let e = m.entry(k.uid.as_str()).or_insert(0);
            *e = (*e).max(rv(k));
            m
        });
        let mut lost = Vec::new();
        let mut coalesced_updates = 0;
        let mut coalesced_uids = std::collections::HashSet::new();
        let mut distinct = std::collections::HashSet::new();
        for k in made {
            if !distinct.insert(k) {
                continue;
            }
            if counts.contains_key(k) {
                continue;
            }
            let superseded = newest_stored
                .get(k.uid.as_str())
                .is_some_and(|&n| n > rv(k));
            if coalescing && superseded {
                coalesced_updates += 1;
                coalesced_uids.insert(k.uid.clone());
            } else {
                lost.push(k.clone());
            }
        }
        Figures {
            name: name.to_owned(),
            occurrences: distinct.len(),
            stored: counts.len(),
            lost,
            duplicated: counts.values().map(|n| n - 1).sum(),
            coalesced_updates,
            coalesced_events: coalesced_uids.len(),
            unexpected: counts.keys().filter(|k| !made_set.contains(k)).count(),
            extra: Vec::new(),
        }
    }

    /// Adds a figure of the test's own.
    #[must_use]
    pub fn with(mut self, label: &str, value: impl TryInto<u64>) -> Figures {
        self.extra
            .push((label.to_owned(), value.try_into().unwrap_or(u64::MAX)));
        self
    }

    /// The figures on one line: `figures NAME: occurrences=.. lost=.. duplicated=.. ...`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "figures {}: occurrences={} stored={} lost={} duplicated={} unexpected={} coalesced_updates={} coalesced_events={}",
            self.name,
            self.occurrences,
            self.stored,
            self.lost.len(),
            self.duplicated,
            self.unexpected,
            self.coalesced_updates,
            self.coalesced_events,
        );
        for (label, value) in &self.extra {
            line.push_str(&format!(" {label}={value}"));
        }
        line
    }

    /// Prints [`line`](Self::line), and appends it to `$EVENT_KEEPER_FIGURES` when set.
    pub fn print(&self) -> &Figures {
        let line = self.line();
        println!("{line}");
        if let Some(path) = std::env::var_os("EVENT_KEEPER_FIGURES")
            && let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
        self
    }

    /// Fails the test unless nothing was lost, duplicated or invented.
    pub fn assert_clean(&self) {
        assert!(
            self.lost.is_empty(),
            "{}: lost {} occurrences, e.g. {:?}",
            self.line(),
            self.lost.len(),
            &self.lost[..self.lost.len().min(5)]
        );
        assert_eq!(self.duplicated, 0, "{}", self.line());
        assert_eq!(self.unexpected, 0, "{}", self.line());
    }
}

/// Whether a checkpoint (the JSON a file or ConfigMap store holds) has a resume point above 0
/// for the Events watch: a run killed after that resumes its watch instead of listing again.
pub fn has_resume_point(checkpoint_json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(checkpoint_json)
        .is_ok_and(|c| c["resume"]["events@*"].as_u64().is_some_and(|rv| rv > 0))
}

/// The keys of `made`.
pub fn keys(made: &[EventRef]) -> Vec<OccurrenceKey> {
    made.iter().map(key).collect()
}

/// Waits until `stored()` holds the latest occurrence of every event in `made` (and, when
/// `all`, every occurrence), then a little longer to catch duplicates on their way. Returns
/// what it last read; after `timeout` it returns what it has, for the figures to name what is
/// missing.
pub async fn settle<F, Fut>(
    what: &str,
    made: &[OccurrenceKey],
    all: bool,
    timeout: Duration,
    mut stored: F,
) -> Vec<OccurrenceKey>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<OccurrenceKey>>,
{
    let wanted = if all {
        made.to_vec()
    } else {
        latest_per_uid(made)
    };
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let keys = stored().await;
        let held: std::collections::HashSet<&OccurrenceKey> = keys.iter().collect();
        let missing = wanted.iter().filter(|k| !held.contains(k)).count();
        if missing == 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            // The figures that follow name what is missing.
            println!(
                "gave up after {timeout:?} waiting for {what}: {missing} of {} occurrences missing",
                wanted.len()
            );
            return keys;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stored().await
}

/// What a file sink's archive directory holds: the key of every line that parses as an event,
/// and how many lines do not (a line torn by a crash that was not cut back yet). Only plain
/// `.jsonl` files are read; a compressed archive fails the test.
pub fn archive_keys(dir: &std::path::Path) -> (Vec<OccurrenceKey>, usize) {
    let mut keys = Vec::new();
    let mut unreadable = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (keys, 0);
    };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for path in names {
        let name = path.to_string_lossy();
        assert!(
            !name.ends_with(".gz"),
            "compressed archives are not read here: {name}"
        );
        if !name.ends_with(".jsonl") {
            continue;
        }
        let text = std::fs::read(&path).expect("archive file reads");
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<event_core::Event>(line) {
                Ok(event) => keys.push(event.key()),
                Err(_) => unreadable += 1,
            }
        }
    }
    (keys, unreadable)
}

/// A small xorshift generator: a fault test's random moments, replayable from the seed it prints.
#[derive(Debug)]
pub struct Moments(u64);

impl Moments {
    /// A generator seeded from the environment variable `var` when set (to replay a run), else
    /// from the clock. Returns it with its seed, to print with the figures.
    pub fn seeded(var: &str) -> (Moments, u64) {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        (Moments(seed), seed)
    }

    /// The next number below `below`.
    pub fn next_millis(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}
