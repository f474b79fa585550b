#!/bin/sh
# Builds the seed corpus of every fuzz target from the recorded real-cluster fixtures and the
# repository's own sample files, into fuzz/corpus/<target>/ (not committed: cargo fuzz grows it).
#
#   fuzz/seed-corpus.sh && cd fuzz && cargo fuzz run watch_line
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fixtures="$root/testkit/fixtures/real-cluster"
corpus="$here/corpus"
mkdir -p "$corpus/watch_line" "$corpus/checkpoint" "$corpus/config" "$corpus/history_record"

# watch_line: every recorded watch line of both APIs, one per file, and the two list pages.
for file in "$fixtures"/watch-*.jsonl; do
    base=$(basename "$file" .jsonl)
    n=0
    while IFS= read -r line; do
        n=$((n + 1))
        printf '%s' "$line" > "$corpus/watch_line/$base-$n"
    done < "$file"
done
cp "$fixtures/list-core-v1.json" "$fixtures/list-events.k8s.io-v1.json" "$corpus/watch_line/"

# checkpoint: the uids and resourceVersions of the recorded core/v1 stream as a saved
# checkpoint, from empty to the whole stream.
uids=$(grep -o '"uid":"[0-9a-f-]*","resourceVersion":"[0-9]*"' "$fixtures/watch-core-v1.jsonl" |
    sed 's/"uid":"\([^"]*\)","resourceVersion":"\([0-9]*\)"/"\1":[\2,1795600000]/')
for count in 0 1 5 1000; do
    events=$(printf '%s\n' "$uids" | head -n "$count" | paste -sd, -)
    rv=$(printf '%s\n' "$uids" | head -n "$count" | tail -n 1 | sed 's/.*\[\([0-9]*\),.*/\1/')
    printf '{"version":1,"savedAt":"2026-11-24T10:02:11Z","resume":{"events@*":%s},"events":{%s},"dispatched":%s}' \
        "${rv:-1}" "$events" "${rv:-null}" > "$corpus/checkpoint/stream-$count"
done
printf '{"version":2,"savedAt":"2026-11-24T10:02:11Z","resume":{},"events":{}}' > "$corpus/checkpoint/newer"

# config: the config.yaml of the plain manifests, and the smallest valid file.
sed -n '/config.yaml: |/,/^[^ ]/p' "$root/deploy/kubernetes/20-configmap.yaml" |
    sed '1d;/^[^ ]/d;s/^    //;s/<CLUSTER_NAME>/prod-eu-1/' > "$corpus/config/manifests.yaml"
printf 'cluster: prod-eu-1\n' > "$corpus/config/minimal.yaml"

# history_record: stored records (one JSON event per line), read plain (first byte even) and
# gzipped (odd).
for file in "$root"/tests/golden/event_history/*.jsonl; do
    base=$(basename "$file" .jsonl)
    { printf '\000'; cat "$file"; } > "$corpus/history_record/$base-plain"
    { printf '\001'; cat "$file"; } > "$corpus/history_record/$base-gz"
done

for target in watch_line checkpoint config history_record; do
    echo "$target: $(ls "$corpus/$target" | wc -l) seeds"
done
