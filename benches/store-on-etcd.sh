#!/usr/bin/env bash
# The store on etcd side by side with raw etcd (E1–E4 of BENCHMARKS.md): starts a throwaway
# single-member etcd on 127.0.0.1, runs `examples/etcd_side_by_side.rs` against it, stops it.
#
#   benches/store-on-etcd.sh                       # `etcd` on PATH (Debian: etcd-server, 3.4)
#   ETCD=/path/to/etcd benches/store-on-etcd.sh    # another etcd, e.g. 3.5 (see BENCHMARKS.md)
#   PIN=1 benches/store-on-etcd.sh                 # etcd on CPU 1, the clients on CPU 0
#   RUNS=3 benches/store-on-etcd.sh -- --puts 40000  # flags after `--` go to the program
#
# Needs `protoc` (Debian: protobuf-compiler) to build the etcd client, and `taskset` for PIN.
set -euo pipefail
cd "$(dirname "$0")/.."

etcd=${ETCD:-etcd}
runs=${RUNS:-1}
[ "${1:-}" = "--" ] && shift
command -v "$etcd" >/dev/null || { echo "missing: $etcd (apt-get install etcd-server)" >&2; exit 2; }
command -v protoc >/dev/null || { echo "missing: protoc (apt-get install protobuf-compiler)" >&2; exit 2; }
etcd_cpu=() client_cpu=()
if [ -n "${PIN:-}" ]; then
  etcd_cpu=(taskset -c 1) client_cpu=(taskset -c 0)
fi

echo "== building (release)" >&2
cargo build --release --quiet --features etcd --example etcd_side_by_side
"$etcd" --version | head -1 >&2

work=$(mktemp -d "$PWD/target/store-on-etcd.XXXXXX")
client_port=${ETCD_CLIENT_PORT:-23791}
peer_port=${ETCD_PEER_PORT:-23801}
endpoint="http://127.0.0.1:$client_port"
etcd_pid=
stop() {
  [ -n "$etcd_pid" ] && { kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; }
  etcd_pid=
}
trap 'stop; rm -rf "$work"' EXIT
# shellcheck source=benches/etcd-member.sh
. benches/etcd-member.sh
for run in $(seq "$runs"); do
  # A fresh etcd for every run, so that no run writes into another's leftovers.
  rm -rf "$work/etcd" "$work/etcd.log"
  ETCD=$etcd start_etcd_member store-on-etcd "$work/etcd" "$client_port" "$peer_port" \
    "${etcd_cpu[@]}"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$client_port") 2>/dev/null && break
    sleep 0.1
  done
  sleep 1
  echo "== run $run" >&2
  "${client_cpu[@]}" target/release/examples/etcd_side_by_side --endpoint "$endpoint" "$@"
  stop
done
