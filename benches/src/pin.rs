//! CPU pinning through `taskset`, so that a measured process and the server feeding it do not
//! share a core on a small machine.

use std::process::Command;

/// Whether `taskset` is available.
pub fn available() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Pins every thread of this process (and the threads and children it starts later) to `cores`
/// (a `taskset` list such as `0` or `0,1`). Returns false when it could not.
pub fn pin_self(cores: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-c", "-p", cores, &std::process::id().to_string()])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `command` run under `taskset -c cores`, or as is when `taskset` is missing.
pub fn on_cores(cores: &str, command: Command) -> Command {
    if !available() {
        return command;
    }
    let mut pinned = Command::new("taskset");
    pinned.args(["-c", cores]).arg(command.get_program());
    pinned.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => pinned.env(key, value),
            None => pinned.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        pinned.current_dir(dir);
    }
    pinned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_command_runs_the_same_program_with_its_environment() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "echo $BENCH_PIN_TEST"])
            .env("BENCH_PIN_TEST", "pinned");
        let output = on_cores("0", command).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "pinned");
    }
}
