//! Helpers shared by the unit tests: a clock moved by hand and file-system faults on command.

use std::io;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

use crate::fs::{FaultHook, Op};
use event_core::clock::Clock;

/// A clock that only moves when told to.
#[derive(Clone)]
pub(crate) struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub(crate) fn at(start: &str) -> Self {
        ManualClock(Arc::new(Mutex::new(start.parse().unwrap())))
    }

    pub(crate) fn set(&self, now: &str) {
        *self.0.lock().unwrap() = now.parse().unwrap();
    }

    pub(crate) fn advance(&self, by: SignedDuration) {
        let mut now = self.0.lock().unwrap();
        *now = now.checked_add(by).unwrap();
    }

    pub(crate) fn clock(&self) -> Clock {
        let inner = self.0.clone();
        Clock::from_fn(move || *inner.lock().unwrap())
    }
}

struct Rule {
    op: Op,
    path_contains: String,
    remaining: usize,
    kind: io::ErrorKind,
    stored: Option<usize>,
}

/// File-system faults injected on command, and a log of every operation.
#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<(Op, String)>>,
    gate: Mutex<Option<(Op, mpsc::Receiver<()>)>>,
}

impl Faults {
    /// Fails the next `times` operations `op` on a path containing `path_contains`.
    pub(crate) fn fail(&self, op: Op, path_contains: &str, kind: io::ErrorKind, times: usize) {
        self.rules.lock().unwrap().push(Rule {
            op,
            path_contains: path_contains.to_owned(),
            remaining: times,
            kind,
            stored: None,
        });
    }

    /// Lets the next write to a matching path store `stored` bytes, then fail with a full disk.
    pub(crate) fn fail_write_partway(&self, path_contains: &str, stored: usize) {
        self.rules.lock().unwrap().push(Rule {
            op: Op::Write,
            path_contains: path_contains.to_owned(),
            remaining: 1,
            kind: io::ErrorKind::StorageFull,
            stored: Some(stored),
        });
    }

    /// Makes the next operation `op` wait until the returned sender sends (or is dropped).
    pub(crate) fn block_next(&self, op: Op) -> mpsc::Sender<()> {
        let (release, wait) = mpsc::channel();
        *self.gate.lock().unwrap() = Some((op, wait));
        release
    }

    /// How many operations `op` ran (or were attempted) on a path containing `path_contains`.
    pub(crate) fn count(&self, op: Op, path_contains: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, p)| *o == op && p.contains(path_contains))
            .count()
    }
}

impl FaultHook for Faults {
    fn before(&self, op: Op, path: &Path) -> io::Result<Option<usize>> {
        let path = path.to_string_lossy().into_owned();
        self.log.lock().unwrap().push((op, path.clone()));
        let gate = {
            let mut gate = self.gate.lock().unwrap();
            match gate.as_ref() {
                Some((gated, _)) if *gated == op => gate.take(),
                _ => None,
            }
        };
        if let Some((_, wait)) = gate {
            let _ = wait.recv();
        }
        let mut rules = self.rules.lock().unwrap();
        let hit = rules
            .iter_mut()
            .find(|r| r.op == op && r.remaining > 0 && path.contains(&r.path_contains));
        match hit {
            None => Ok(None),
            Some(rule) => {
                rule.remaining -= 1;
                match rule.stored {
                    Some(stored) => Ok(Some(stored)),
                    None => Err(io::Error::from(rule.kind)),
                }
            }
        }
    }
}
