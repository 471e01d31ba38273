#!/usr/bin/env bash
# Runs every cargo-fuzz target for MINUTES minutes each (or until RUNS executions, if set),
# one at a time, growing the committed corpus in fuzz/corpus/<target>, and prints per target:
# executions, seconds, executions per second, corpus size and crashes found (artifacts in
# fuzz/artifacts/<target>).
#
#   fuzz/campaign.sh 10                                  # every target, 10 minutes each
#   RUNS=10000000 fuzz/campaign.sh 20 label_selector     # one target, 10M runs or 20 minutes
#   SANITIZER=none RUNS=1000000 fuzz/campaign.sh 15 store_operations
#   MAX_LEN=256 RUNS=10000000 fuzz/campaign.sh 20 field_selector   # inputs up to 256 bytes
#
# Targets run under AddressSanitizer (SANITIZER, default address) with a small quarantine: the
# default 256 MiB one made the store-level targets ten times slower. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); a stable toolchain works with RUSTC_BOOTSTRAP=1, which this
# script sets. Afterwards, minimise what it grew with `RUSTC_BOOTSTRAP=1 cargo fuzz cmin
# <target>` before committing the corpus.
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:?usage: fuzz/campaign.sh MINUTES [TARGET...]}
shift
if [ "$minutes" -lt 1 ]; then
  echo "MINUTES must be at least 1" >&2
  exit 2
fi
sanitizer=${SANITIZER:-address}
limits=()
[ -n "${RUNS:-}" ] && limits=(-runs="$RUNS")
[ -n "${MAX_LEN:-}" ] && limits+=(-max_len="$MAX_LEN")
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
if ! command -v cargo-fuzz >/dev/null; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi
export RUSTC_BOOTSTRAP=1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
seconds=$((minutes * 60))
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
printf '%-18s %12s %8s %8s %8s %8s\n' target executions seconds exec/s corpus crashes
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  crashes_before=$(find "artifacts/$target" -type f | wc -l)
  # libFuzzer exits non-zero when it finds a crash; the table reports it.
  started=$(date +%s)
  cargo fuzz run --release -s "$sanitizer" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" "${limits[@]}" -print_final_stats=1 >"$logs/$target" 2>&1 || true
  took=$(( $(date +%s) - started ))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target" | grep -o '[0-9]*$' | tail -1)
  runs=${runs:-0}
  crashes=$(( $(find "artifacts/$target" -type f | wc -l) - crashes_before ))
  corpus=$(find "corpus/$target" -type f | wc -l)
  printf '%-18s %12s %8s %8s %8s %8s\n' "$target" "$runs" "$took" "$((runs / (took > 0 ? took : 1)))" "$corpus" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    grep -m1 -A3 -E 'panicked|ERROR: AddressSanitizer' "$logs/$target" || true
  fi
done
