#!/usr/bin/env bash
# Runs the whole test suite (what CI runs). Installs Fashion-MNIST from Debian when root and missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
log=$(mktemp)
set +e
dotnet test DinoSharp.slnx -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line that any CI log reader understands.
awk '/(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
