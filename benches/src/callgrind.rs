//! Instruction counts through valgrind's callgrind: on a shared virtual machine timings move by
//! up to 15 % between runs, while the instructions a process executes for the same input barely
//! move, so a change of a few percent shows in them and not in a rate.

use std::path::Path;
use std::process::Command;

/// `program` run under callgrind, writing its profile to `out` (read it with
/// `callgrind_annotate`).
pub fn wrap(program: &Path, out: &Path) -> Command {
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(program);
    command
}

/// The total instructions a callgrind profile recorded (its `totals:` line).
pub fn total_instructions(profile: &str) -> Option<u64> {
    profile
        .lines()
        .find_map(|line| line.strip_prefix("totals:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Whether valgrind is installed.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_the_totals_line() {
        let profile = "version: 1\ncmd: consume\nevents: Ir\nsummary: 6768157946\n\nfn=(1) main\n16 3\ntotals: 6768157946\n";
        assert_eq!(total_instructions(profile), Some(6_768_157_946));
        assert_eq!(total_instructions("events: Ir\n"), None);
        assert_eq!(total_instructions("totals: lots\n"), None);
    }

    #[test]
    fn the_wrapped_command_runs_the_program_under_callgrind() {
        let command = wrap(
            Path::new("/bin/consumer"),
            Path::new("out/consumer-0.callgrind"),
        );
        assert_eq!(command.get_program(), "valgrind");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            [
                "--tool=callgrind",
                "--callgrind-out-file=out/consumer-0.callgrind",
                "/bin/consumer"
            ]
        );
    }
}
