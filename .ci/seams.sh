#!/usr/bin/env bash
# The image module must compile against the store's public API only, as any strategy author
# outside the crate would (docs/design/layers.md). Checked by building a copy of the crate in
# which every crate-visible item of `src/store/` is narrowed to the store itself: if image (or
# anything outside the store but the `testing` feature) used one, the copy fails to compile.
set -euo pipefail
cd "$(dirname "$0")/.."
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
tar --exclude=./target --exclude=./fuzz --exclude=./.git -cf - . | tar -xf - -C "$copy"
sed -i 's/pub(crate)/pub(in crate::store)/g' "$copy"/src/store/*.rs
# Crate-visible helpers of the error and status modules the image module must not use either.
if grep -rnE '\b(for_list|non_empty|qualified)\(|\.(named|render)\(' "$copy"/src/image; then
  echo "src/image uses crate-internal helpers of error/status" >&2
  exit 1
fi
CARGO_TARGET_DIR="$PWD/target" cargo check --quiet --lib --manifest-path "$copy/Cargo.toml"
echo "image uses the store's public API only"
