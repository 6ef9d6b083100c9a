#!/usr/bin/env bash
# The main job: from a fresh clone to a trained DINOv2 model on Fashion-MNIST and a report.
#   bash scripts/demo.sh [--minutes M] [--out DIR] [--limit N] [--config FILE] [--set KEY=VALUE]...
# (--limit N evaluates on the first N training and N test images only: a quick check, not the README's numbers.
#  --config and --set are passed to `dino train`: e.g. --config configs/fashion_mnist_dinov3_cpu.json --set gram.use_loss=false)
# Installs Fashion-MNIST (Debian package) when run as root, builds in Release, trains the default config for the time
# budget, evaluates it (kNN and linear probe, beside the raw-pixel and untrained-network baselines) and writes the report.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
limit=
out="runs/demo-$(date +%Y%m%d-%H%M%S)"
train_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    --config|--set) train_args+=("$1" "$2"); shift 2 ;;
    *) echo "usage: bash scripts/demo.sh [--minutes M] [--out DIR] [--limit N] [--config FILE] [--set KEY=VALUE]..." >&2; exit 1 ;;
  esac
done
source scripts/ensure-deps.sh
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST is missing: sudo apt-get install -y dataset-fashion-mnist" >&2
  exit 1
fi
echo "Building (Release)..."
dotnet build src/DinoSharp.Cli -c Release -nologo -v quiet
dino="src/DinoSharp.Cli/bin/Release/net10.0/linux-x64/dino"

"$dino" train --minutes "$minutes" --out "$out" "${train_args[@]}"
eval_dir="$out/eval"
mkdir -p "$eval_dir"
common=(--train fashion-mnist:train --test fashion-mnist:test)
if [ -n "$limit" ]; then
  common+=(--limit-train "$limit" --limit-test "$limit")
  echo "Evaluating the trained teacher and the baselines on the first $limit training and test images..."
else
  echo "Evaluating the trained teacher and the baselines on the full test split..."
fi
"$dino" knn --model "$out" "${common[@]}" --json "$eval_dir/knn_trained.json" --quiet
"$dino" knn --model "$out" --features avgpatch "${common[@]}" --json "$eval_dir/knn_trained_avgpatch.json" --quiet
"$dino" knn --model raw "${common[@]}" --json "$eval_dir/knn_raw.json" --quiet
"$dino" knn --model "random:$out/config.json" "${common[@]}" --json "$eval_dir/knn_random.json" --quiet
"$dino" knn --model "random:$out/config.json" --features avgpatch "${common[@]}" --json "$eval_dir/knn_random_avgpatch.json" --quiet
"$dino" linear --model "$out" --features cls+avgpatch "${common[@]}" --json "$eval_dir/linear_trained.json" --quiet
"$dino" linear --model raw "${common[@]}" --json "$eval_dir/linear_raw.json" --quiet
"$dino" report "$out"
echo "To check the page in headless Chromium (images, overflow) and get a screenshot: bash scripts/check-report.sh $out/report.html"
