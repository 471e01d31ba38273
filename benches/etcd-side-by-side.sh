#!/usr/bin/env bash
# The loadgen workloads against a throwaway single-member etcd and against the store's durable
# default (sled + write-ahead log), run alternately on this machine, with each figure's median
# and the ratio. It installs nothing: it needs `etcd` on PATH (Debian: etcd-server) and `protoc`
# (Debian: protobuf-compiler) to build the etcd load generator, and says so when one is missing.
#
#   benches/etcd-side-by-side.sh            # ROUNDS=3 pairs of runs per workload
#   ROUNDS=5 benches/etcd-side-by-side.sh
#
# Each run starts on empty storage on both sides: a fresh store directory, and a fresh etcd
# member (listening on 127.0.0.1 only, its data next to the store's, on the same disk), stopped
# and deleted after the run.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-3}
missing=()
command -v etcd >/dev/null || missing+=("etcd (apt-get install etcd-server)")
command -v protoc >/dev/null || missing+=("protoc (apt-get install protobuf-compiler)")
command -v python3 >/dev/null || missing+=("python3")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 2
fi

echo "== building (release)" >&2
cargo build --release --quiet --example loadgen
cargo build --release --quiet -p etcd-loadgen
loadgen=target/release/examples/loadgen
etcd_loadgen=target/release/etcd-loadgen

work=$(mktemp -d "$PWD/target/side-by-side.XXXXXX")
client_port=${ETCD_CLIENT_PORT:-23790}
peer_port=${ETCD_PEER_PORT:-23800}
endpoint="http://127.0.0.1:$client_port"
# shellcheck source=benches/etcd-member.sh
. benches/etcd-member.sh
etcd_pid=
stop_member() {
  [ -n "$etcd_pid" ] && { kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; }
  etcd_pid=
  rm -rf "$work/etcd" "$work/etcd.log"
}
trap 'stop_member; rm -rf "$work"' EXIT
# A fresh member, answering (one put) before the workload starts.
fresh_member() {
  stop_member
  start_etcd_member side-by-side "$work/etcd" "$client_port" "$peer_port"
  for _ in $(seq 100); do
    if "$etcd_loadgen" --endpoint "$endpoint" put-seq --n 1 >/dev/null 2>&1; then return; fi
    sleep 0.1
  done
}

results="$work/results.jsonl"
run() { # side workload args...
  local side=$1 workload=$2; shift 2
  if [ "$side" = etcd ]; then
    fresh_member
    "$etcd_loadgen" --endpoint "$endpoint" "$workload" "$@"
    stop_member
  else
    local dir="$work/store-$RANDOM$RANDOM"
    "$loadgen" "$workload" --dir "$dir" "$@"
    rm -rf "$dir"
  fi | sed "s/^{/{\"side\":\"$side\",/" | tee -a "$results" >&2
}

workloads=(
  "put-seq --n 3000"
  "put-conc --n 20000 --inflight 64"
  "load --n 100000"
  "get-seq --n 5000 --typed"
  "list --n 100000 --limit 500"
)
for w in "${workloads[@]}"; do
  for round in $(seq "$rounds"); do
    # Alternate which side goes first, so neither always runs on the warmer machine.
    if [ $((round % 2)) -eq 1 ]; then order="etcd apistore"; else order="apistore etcd"; fi
    for side in $order; do
      # shellcheck disable=SC2086
      run "$side" $w
    done
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
def med(side, test, field):
    # etcd has one get pass; the store's second pass is its steady state.
    if side == "etcd" and test == "get-seq-again":
        test = "get-seq"
    xs = [r[field] for r in rows if r["side"] == side and r["test"] == test and field in r]
    return statistics.median(xs) if xs else None
table = [
    ("W1: sequential 1 KiB puts, 1 writer", "put-seq", "ops_per_s", "puts/s", True, "put-seq --n 3000"),
    ("W2@64: 1 KiB puts, 64 in flight", "put-conc", "ops_per_s", "puts/s", True, "put-conc --n 20000 --inflight 64"),
    ("W2@64 p99 latency", "put-conc", "p99_us", "µs", False, "put-conc --n 20000 --inflight 64"),
    ("L: 100,000 keys from 64 writers", "load", "ops_per_s", "puts/s", True, "load --n 100000"),
    ("W5: get of the latest version, 1 reader", "get-seq-again", "ops_per_s", "gets/s", True, "get-seq --n 5000 --typed"),
    ("W3: list 100,000 objects in pages of 500, first pass", "list", "secs", "s", False, "list --n 100000 --limit 500"),
    ("W3: the same list again", "list-again", "secs", "s", False, "list --n 100000 --limit 500"),
]
print("| workload | apistore | etcd | ratio | command (`loadgen` / `etcd-loadgen`) |")
print("|---|---|---|---|---|")
for name, test, field, unit, higher, command in table:
    a, e = med("apistore", test, field), med("etcd", test, field)
    if a is None or e is None:
        continue
    ratio = (a / e) if higher else (e / a)
    fmt = (lambda x: f"{x:,.0f} {unit}") if unit != "s" else (lambda x: f"{x:.3f} s")
    print(f"| {name} | {fmt(a)} | {fmt(e)} | {ratio:.1f}× | `{command}` |")
PY
