"""Decodes recorded watch lines the way the kubernetes client's watch does, on one core.

Usage: python3 decode.py WATCH_LINES_FILE {core-v1|events-v1} SECONDS

Prints one JSON object: events per second for json.loads alone and for
kubernetes.watch.Watch().unmarshal_event (json.loads, then the client's deserialization into
its model classes), and the process's memory.
"""

import json
import sys
import time

import kubernetes
from kubernetes import client, watch

from common import memory_kib, pin_to_one_core



def return_type(w, group):
    """The model class the watch itself would decode into, asked of the client."""
    api = client.CoreV1Api() if group == "core-v1" else client.EventsV1Api()
    return w.get_return_type(api.list_event_for_all_namespaces)


def rate(work, lines, seconds):
    """Runs work over all lines, repeatedly for at least `seconds`; the best pass's rate."""
    best = 0.0
    deadline = time.perf_counter() + seconds
    passes = 0
    while passes < 2 or time.perf_counter() < deadline:
        start = time.perf_counter()
        for line in lines:
            work(line)
        elapsed = time.perf_counter() - start
        best = max(best, len(lines) / elapsed)
        passes += 1
    return best, passes


def main():
    path, group, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pin_to_one_core()
    with open(path) as f:
        lines = [line for line in f.read().split("\n") if line]
    w = watch.Watch()
    model = return_type(w, group)

    def unmarshal(line):
        event = w.unmarshal_event(line, model)
        assert event["object"].metadata.uid

    loads, loads_passes = rate(json.loads, lines, seconds)
    unmarshal_rate, unmarshal_passes = rate(unmarshal, lines, seconds)
    rss, peak = memory_kib()
    print(json.dumps({
        "events": len(lines),
        "json_loads_per_s": loads,
        "json_loads_passes": loads_passes,
        "unmarshal_event_per_s": unmarshal_rate,
        "unmarshal_event_passes": unmarshal_passes,
        "rss_kib": rss,
        "peak_rss_kib": peak,
        "python": sys.version.split()[0],
        "kubernetes": kubernetes.__version__,
    }))


if __name__ == "__main__":
    main()
