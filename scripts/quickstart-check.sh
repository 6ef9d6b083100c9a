#!/usr/bin/env bash
# Runs the README quick start's commands as written, with short budgets (--steps 20 / --minutes 1, small evaluation
# limits), in a temporary folder, and checks that every one exits 0. Prints each command's time and a summary line.
#   bash scripts/quickstart-check.sh [--keep]      (--keep leaves the outputs in the folder it prints)
# Steps that need what a machine may lack (headless Chromium for check-report.sh, the photos of ensure-photos.sh) are
# reported as skipped with the reason, never as passed.
set -uo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
source scripts/ensure-deps.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/dino-quickstart-XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
dino="src/DinoSharp.Cli/bin/Release/net10.0/linux-x64/dino"
passed=0 failed=0 skipped=0
start_all=$SECONDS

step() {   # step <description> <command…>: runs it, logs its output, counts it
  local what=$1; shift
  local t0=$SECONDS log="$work/step-$((passed + failed + 1)).log"
  if "$@" > "$log" 2>&1; then
    passed=$((passed + 1)); printf 'ok    %4ds  %s\n' "$((SECONDS - t0))" "$what"
  else
    local code=$?
    failed=$((failed + 1)); printf 'FAIL  %4ds  %s (exit %d)\n' "$((SECONDS - t0))" "$what" "$code"
    tail -n 5 "$log" | sed 's/^/        /'
  fi
}

skip() { skipped=$((skipped + 1)); printf 'skip        %s (%s)\n' "$1" "$2"; }

run="$work/runs/fmnist"
step "bash scripts/demo.sh --minutes 1 --limit 500" bash scripts/demo.sh --minutes 1 --limit 500 --out "$work/runs/demo"
step "dotnet build src/DinoSharp.Cli -c Release" dotnet build src/DinoSharp.Cli -c Release -nologo -v quiet
step "dino train --steps 20 --out runs/fmnist" "$dino" train --steps 20 --out "$run"
step "dino knn --model runs/fmnist … --json knn.json" "$dino" knn --model "$run" --train fashion-mnist:train --test fashion-mnist:test \
  --limit-train 2000 --limit-test 500 --json "$work/knn.json"
step "dino linear --model runs/fmnist --features cls+avgpatch …" "$dino" linear --model "$run" --features cls+avgpatch \
  --train fashion-mnist:train --test fashion-mnist:test --limit-train 2000 --limit-test 500 --epochs 2
step "dino report runs/fmnist" "$dino" report "$run"
step "dino train --out runs/fmnist --resume (a finished run says so)" "$dino" train --out "$run" --resume

serve_check() {   # dino serve on the installed photos: starts, embeds, answers the gallery and a search, stops on SIGTERM
  "$dino" serve --model random:photos_cpu --data "folder:$1" --store "$work/serve-store" --port 18765 &
  local pid=$! ok=1
  for _ in $(seq 1 240); do
    if curl -fsS http://127.0.0.1:18765/api/status 2> /dev/null | grep '"phase":"ready"' > /dev/null; then ok=0; break; fi
    sleep 0.5
  done
  [ "$ok" = 0 ] && curl -fsS 'http://127.0.0.1:18765/api/items?offset=0&limit=5' > /dev/null && curl -fsS 'http://127.0.0.1:18765/api/search?index=0&k=3' > /dev/null || ok=1
  kill -TERM "$pid"; wait "$pid" || ok=1
  return "$ok"
}
photos=${DINOSHARP_PHOTOS:-/var/cache/dinosharp/photos}
if [ -f "$photos/astronaut.png" ] && command -v curl > /dev/null; then
  step "dino serve --model random:photos_cpu --data folder:$photos" serve_check "$photos"
else
  skip "dino serve --model random:photos_cpu --data folder:$photos" "needs the photos of scripts/ensure-deps.sh (as root) and curl"
fi
if command -v chromium > /dev/null || command -v chromium-browser > /dev/null; then
  step "bash scripts/check-report.sh runs/fmnist/report.html" bash scripts/check-report.sh "$run/report.html"
else
  skip "bash scripts/check-report.sh runs/fmnist/report.html" "no headless Chromium on this machine"
fi
source scripts/ensure-photos.sh > /dev/null 2>&1 || true
if [ -n "${photos_all:-}" ] && [ -d "$photos_all" ]; then
  step "bash scripts/photos-demo.sh --steps 20" bash scripts/photos-demo.sh --steps 20 --out "$work/runs/photos"
else
  skip "bash scripts/photos-demo.sh --steps 20" "the photos are missing: sudo bash scripts/ensure-photos.sh"
fi

echo "Quick start: $passed passed, $failed failed, $skipped skipped in $((SECONDS - start_all)) s"
[ "$keep" = 1 ] && echo "Outputs: $work"
[ "$failed" = 0 ]
