//! What a process uses, read from `/proc`: resident memory now and at its peak, CPU time, and a
//! sampler that follows another process's memory while it runs.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now, in KiB.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident size so far, in KiB.
    pub peak_kib: u64,
}

/// Which process to read: this one or another by pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pid {
    /// `/proc/self`.
    Current,
    /// `/proc/PID`.
    Of(u32),
}

impl Pid {
    fn dir(self) -> PathBuf {
        match self {
            Pid::Current => PathBuf::from("/proc/self"),
            Pid::Of(pid) => PathBuf::from(format!("/proc/{pid}")),
        }
    }
}

/// Reads `VmRSS` and `VmHWM` of `pid`.
///
/// # Errors
///
/// The error of reading `/proc/PID/status` (the process is gone, or this is not Linux), or
/// `InvalidData` when the fields are missing.
pub fn memory(pid: Pid) -> io::Result<Memory> {
    let status = std::fs::read_to_string(pid.dir().join("status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss_kib), Some(peak_kib)) => Ok(Memory { rss_kib, peak_kib }),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no VmRSS/VmHWM in /proc status",
        )),
    }
}

/// User plus system CPU time `pid` has used, in seconds.
///
/// # Errors
///
/// The error of reading `/proc/PID/stat`, or `InvalidData` when it cannot be parsed.
pub fn cpu_seconds(pid: Pid) -> io::Result<f64> {
    let stat = std::fs::read_to_string(pid.dir().join("stat"))?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime); `after` starts at field 3.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok((user + system) as f64 / clock_ticks() as f64),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no utime/stime in /proc stat",
        )),
    }
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once; 100 (Linux's USER_HZ) if that fails.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// One reading of a [`Sampler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Time since the sampler started.
    pub at: Duration,
    /// The process's memory then.
    pub memory: Memory,
}

/// Reads another process's memory every `every` on a thread of its own until stopped or the
/// process is gone.
#[derive(Debug)]
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                match memory(Pid::Of(pid)) {
                    Ok(memory) => samples.push(Sample {
                        at: start.elapsed(),
                        memory,
                    }),
                    Err(_) => break,
                }
                std::thread::sleep(every);
            }
            samples
        });
        Sampler { stop, thread }
    }

    /// Stops and returns every sample taken, oldest first.
    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_resident_memory_and_a_peak_at_least_as_high() {
        let m = memory(Pid::Current).unwrap();
        assert!(m.rss_kib > 0);
        assert!(m.peak_kib >= m.rss_kib);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = cpu_seconds(Pid::Current).unwrap();
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(cpu_seconds(Pid::Current).unwrap() > before);
    }

    #[test]
    fn the_sampler_reads_until_stopped() {
        let sampler = Sampler::start(std::process::id(), Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(40));
        let samples = sampler.finish();
        assert!(samples.len() >= 2, "{samples:?}");
        assert!(samples.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn a_missing_process_is_an_error() {
        assert!(memory(Pid::Of(u32::MAX)).is_err());
    }
}
