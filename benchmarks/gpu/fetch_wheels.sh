#!/usr/bin/env bash
# Run on a machine with the package registry (not the GPU machine): downloads
# wheels for the GPU image's Python 3.12 / x86-64 into .whl/ (git-ignored).
# Pure-Python packages published only as sources are built into wheels here.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.whl
mkdir -p "$dest"
mkdir -p "$(git rev-parse --git-dir)/info"; exclude="$(git rev-parse --git-dir)/info/exclude"
grep -qx "/$dest/" "$exclude" 2>/dev/null || echo "/$dest/" >> "$exclude"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
         manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
grep -v '^#' benchmarks/gpu/wheels.txt | while read -r req; do
  [ -z "$req" ] && continue
  if ! python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp "${platforms[@]}" -d "$dest" "$req" 2>/dev/null; then
    python3 -m pip wheel -q --no-deps -w "$dest" "$req"   # sdist-only, pure Python
  fi
done
ls "$dest"
