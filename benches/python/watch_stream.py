"""Watches Events through the kubernetes client as the original Python exporter does.

Usage: python3 watch_stream.py KUBECONFIG {core-v1|events-v1} EXPECTED_EVENTS

Runs kubernetes.watch.Watch().stream(list_event_for_all_namespaces) against the cluster of
KUBECONFIG until EXPECTED_EVENTS notifications arrived, reading each event's uid, then prints
one JSON object with the wall and CPU time it took and the process's memory.
"""

import json
import sys
import time

import kubernetes
from kubernetes import client, config, watch

from common import cpu_seconds, memory_kib, pin_to_one_core


def main():
    kubeconfig, group, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pin_to_one_core()
    config.load_kube_config(config_file=kubeconfig)
    api = client.CoreV1Api() if group == "core-v1" else client.EventsV1Api()
    w = watch.Watch()
    start_cpu = cpu_seconds()
    start = time.perf_counter()
    seen = 0
    for event in w.stream(api.list_event_for_all_namespaces, timeout_seconds=600):
        if not event["object"].metadata.uid:
            raise SystemExit("an event without a uid")
        seen += 1
        if seen >= expected:
            w.stop()
            break
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - start_cpu
    rss, peak = memory_kib()
    print(json.dumps({
        "events": seen,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "rss_kib": rss,
        "peak_rss_kib": peak,
        "python": sys.version.split()[0],
        "kubernetes": kubernetes.__version__,
    }))


if __name__ == "__main__":
    main()
