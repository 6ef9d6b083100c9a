#!/usr/bin/env bash
# Kill-and-resume check of `dino embed` at full size (docs/reliability.md): embeds a dataset once uninterrupted, then
# again with SIGKILL at three random moments, each time started again with the same command, and compares the two
# stores: the tensor files must be byte-identical and the sidecars equal apart from their creation time.
#   scripts/embed-kill-resume.sh [dataset] [extra dino embed options…]
# Default: fashion-mnist:train (60,000 images) with an untrained ViT-pico at 28 px. Needs a built dino (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-fashion-mnist:train}
shift || true
dino=src/DinoSharp.Cli/bin/Release/net10.0/linux-x64/dino
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(embed --model random:vit_pico_p4 --image-size 28 --data "$data" --quiet "$@")

start=$(date +%s.%N)
"$dino" "${args[@]}" --out "$work/whole"
whole=$(echo "$(date +%s.%N) - $start" | bc)
echo "uninterrupted: ${whole} s"

start=$(date +%s.%N)
for kill in 1 2 3; do
  "$dino" "${args[@]}" --out "$work/killed" &
  pid=$!
  # A random moment within the run's remaining time (at least 0.5 s, so the model has loaded).
  delay=$(awk -v w="$whole" -v r="$RANDOM" 'BEGIN { srand(r); printf "%.2f", 0.5 + rand() * w * 0.6 }')
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  chunks=$(ls -d "$work/killed.partial"/chunk-* 2>/dev/null | wc -l)
  echo "kill $kill after ${delay} s: $chunks chunks complete"
done
"$dino" "${args[@]}" --out "$work/killed"
resumed=$(echo "$(date +%s.%N) - $start" | bc)
echo "killed three times and resumed: ${resumed} s in all"

cmp "$work/whole.safetensors" "$work/killed.safetensors"
diff <(grep -v '"createdUtc"' "$work/whole.json") <(grep -v '"createdUtc"' "$work/killed.json")
echo "byte-identical: $(stat -c %s "$work/killed.safetensors") bytes; sidecars equal apart from createdUtc"
