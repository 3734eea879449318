#!/usr/bin/env bash
# neuralrig bench at blocks 64, 128 and 256 for a pass-through rig and the default
# (classic) rig, side by side in one run. Usage: benchmarks/blocks.sh [SECONDS]
set -euo pipefail
seconds=${1:-10}
for block in 64 128 256; do
  for rig in "--model identity" ""; do
    printf 'block %-4s %-16s ' "$block" "${rig:---config default}"
    neuralrig bench $rig --block "$block" --seconds "$seconds" --json
  done
done
