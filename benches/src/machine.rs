//! The machine a figure was taken on, as BENCHMARKS.md reports it.

use std::fmt;

/// Cores, CPU model, memory, load and date, read from `/proc` when a bench starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// Cores this process may use (`nproc`).
    pub cores: usize,
    /// `model name` of the first CPU in `/proc/cpuinfo`.
    pub cpu: String,
    /// `MemTotal` of `/proc/meminfo`, in MiB.
    pub memory_mib: u64,
    /// The 1-minute load average (`uptime`).
    pub load: f64,
    /// When it was read, UTC.
    pub date: jiff::Timestamp,
}

impl Machine {
    /// Reads the machine; fields that cannot be read are left empty or zero.
    pub fn detect() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_default();
        let memory_mib = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024);
        let load = read("/proc/loadavg")
            .split_whitespace()
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            memory_mib,
            load,
            date: jiff::Timestamp::now(),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cores, {}, {} MiB, load {:.2}, {}",
            self.cores,
            self.cpu,
            self.memory_mib,
            self.load,
            self.date.strftime("%Y-%m-%d %H:%M UTC")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_has_cores_and_memory() {
        let machine = Machine::detect();
        assert!(machine.cores >= 1);
        assert!(machine.memory_mib > 0);
        assert!(machine.to_string().contains("cores"));
    }
}
