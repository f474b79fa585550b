"""What the Python benches report about their own process, read as the Rust side reads it."""

import os
import resource


def memory_kib():
    """(VmRSS, VmHWM) of this process in KiB, from /proc/self/status."""
    rss = peak = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return rss, peak


def cpu_seconds():
    """User plus system CPU time of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pin_to_one_core():
    """Runs on one core, as the Rust side does, so that rates compare per core."""
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
