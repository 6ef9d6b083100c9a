#!/usr/bin/env bash
# Regenerates docs/reliability-figures.md from the rows the reliability tests wrote into tests/output/reliability/
# (or $DINOSHARP_RELIABILITY_OUT): faults injected per run (by kind), runs resumed, bytes lost, fuzz inputs per format.
#   dotnet test DinoSharp.slnx -c Release --filter "FullyQualifiedName~Reliability|FullyQualifiedName~ShardedEmbedding" && scripts/reliability-figures.sh
# (ShardedEmbeddingTests writes the row of a rank killed under mpirun.)
set -euo pipefail
cd "$(dirname "$0")/.."
in=${DINOSHARP_RELIABILITY_OUT:-tests/output/reliability}
out=docs/reliability-figures.md
ls "$in"/faults-*.md "$in"/fuzz-*.md >/dev/null 2>&1 || { echo "no figures in $in: run the Reliability tests first" >&2; exit 1; }
{
  echo "# Reliability figures"
  echo
  echo "Written by the tests in \`tests/DinoSharp.Tests/Reliability\` (and \`Distributed/ShardedEmbeddingTests\`) on their last run, joined by \`scripts/reliability-figures.sh\`"
  echo "(generated $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) when joined; do not edit by hand)."
  echo "Times depend on the machine's load; counts do not. \"Bytes lost\" is what the test checks: the final files equal an"
  echo "uninterrupted run's byte for byte, and every file written before the fault still verifies."
  echo
  echo "## Faults injected"
  echo
  echo "| Test | Fault (kind) | Injected | Runs resumed | Bytes lost | What happened |"
  echo "|---|---|---:|---:|---:|---|"
  cat "$in"/faults-*.md | sort
  awk -F'|' '{ n += $4; r += $5; b += $6 } END { printf "| **all** | | **%d** | **%d** | **%d** | |\n", n, r, b }' "$in"/faults-*.md
  echo
  echo "## Fuzzing"
  echo
  echo "A fixed number of mutated inputs per format, each format from its own seed (\`DINOSHARP_FUZZ_INPUTS\` runs more)."
  echo
  echo "| Format | Inputs | Slowest input (ms) | Its managed allocation (kB) |"
  echo "|---|---:|---:|---:|"
  cat "$in"/fuzz-*.md | sort
} > "$out"
echo "wrote $out"
