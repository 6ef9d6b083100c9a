#!/usr/bin/env bash
# Runs the whole test suite (what CI runs), then the package check (scripts/check-package.sh) and the quick start
# run as written with short budgets (scripts/quickstart-check.sh). Installs the Debian packages the tests need when
# root and missing (scripts/ensure-deps.sh). Arguments go to `dotnet test` (e.g. --filter Category=Parity); with
# arguments, the two checks are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
log=$(mktemp)
set +e
dotnet test DinoSharp.slnx -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(awk '/(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log")
rm -f "$log"
if [ $# -eq 0 ]; then
  # The library as a package: a consumer outside the repository builds with it alone and runs the README's C# example
  # with the CPU natives (about a minute).
  bash scripts/check-package.sh || status=1
  # The README's quick start, command by command, with short budgets (a few minutes).
  bash scripts/quickstart-check.sh || status=1
fi
# One plain closing line that any CI log reader understands, last.
echo "$summary"
exit "$status"
