#!/usr/bin/env bash
# Real photos end to end: train a small ViT on one CPU core, then load the exported backbone (Meta's key layout) the way
# Meta's released weights are loaded (weights file + --arch) and draw patch-feature PCA, attention maps and retrieval
# contact sheets, beside the same pictures from the untrained network (and raw pixels for retrieval).
#   bash scripts/photos-demo.sh [--steps N | --minutes M] [--out DIR]
# Photos: scripts/ensure-photos.sh (54 photos from Debian packages; needs root once). Ten of them are second views of a
# scene whose first view is also there (stereo pairs, another exposure, another viewpoint, the object in a cluttered
# scene): they are held out of training and used as queries, so each query has a known right answer it was never
# trained on.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=450
minutes=
out="runs/photos-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; minutes=; shift 2 ;;
    --minutes) minutes="$2"; steps=; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: bash scripts/photos-demo.sh [--steps N | --minutes M] [--out DIR]" >&2; exit 1 ;;
  esac
done
source scripts/ensure-photos.sh
if [ ! -d "$photos_all" ]; then
  echo "The photos are missing ($photos_all): run sudo bash scripts/ensure-photos.sh first." >&2
  exit 1
fi
echo "Building (Release)..."
dotnet build src/DinoSharp.Cli -c Release -nologo -v quiet
dino="src/DinoSharp.Cli/bin/Release/net10.0/linux-x64/dino"

# Query (held out of training) → the photo of the same scene that the search should find.
pairs=(aloeR:aloeL right:left motorcycle_right:motorcycle_left rubberwhale2:rubberwhale1 basketball2:basketball1
  ela_modified:ela_original leuvenB:leuvenA graf3:graf1 aero3:aero1 box_in_scene:box)
mkdir -p "$out"
held_out=$(printf '%s\n' "${pairs[@]}" | cut -d: -f1)
: > "$out/queries.txt"
for name in $held_out; do ls "$photos_all/$name".* >> "$out/queries.txt"; done
find "$photos_all" -maxdepth 1 -type f | sort | grep -v -x -F -f "$out/queries.txt" > "$out/train.txt"
echo "$(wc -l < "$out/train.txt") training photos, $(wc -l < "$out/queries.txt") held-out queries."

budget=(--steps "$steps"); [ -n "$minutes" ] && budget=(--minutes "$minutes")
# One core for libtorch (and one data-loading thread): the run shares the machine.
"$dino" train --config configs/photos_cpu.json --data "list:$out/train.txt" --threads 1 "${budget[@]}" --out "$out/run"

# The exported teacher, opened as a Meta checkpoint is: a backbone file in Meta's key layout and an architecture name.
trained=(--model "$out/run/teacher_backbone.safetensors" --arch vit_pico_p8)
untrained=(--model "random:$out/run/config.json")   # the same network before training (seed 0, LayerScale 1 as trained)
shown=(flower chelsea coffee motorcycle_right)      # motorcycle_right is a held-out photo
pictures() {   # <name> <model options…>: PCA + attention pictures, an embedding store, and the held-out queries' neighbours
  local which=$1 name; shift
  for name in "${shown[@]}"; do   # one image per call: each PCA is fitted on that photo's patches alone
    "$dino" visualize "$@" --threads 1 --image-size 224 --images "$(ls "$photos_all/$name".*)" --out "$out/pictures/$which" --quiet
  done
  "$dino" embed "$@" --threads 1 --data "list:$out/train.txt" --out "$out/stores/$which" --quiet
  "$dino" search "$@" --threads 1 --store "$out/stores/$which" --query "list:$out/queries.txt" --top 4 \
    --sheet "$out/pictures/$which/search.png" --quiet > "$out/search-$which.tsv"
}
pictures trained "${trained[@]}"
pictures untrained "${untrained[@]}"
"$dino" embed --model raw:32 --data "list:$out/train.txt" --out "$out/stores/raw" --quiet
"$dino" search --model raw:32 --store "$out/stores/raw" --query "list:$out/queries.txt" --top 4 \
  --sheet "$out/pictures/raw/search.png" --quiet > "$out/search-raw.tsv"

# Top-1 of each query against its known partner.
echo
echo "Held-out query → nearest training photo (top-1; * = the same scene):"
for which in trained untrained raw; do
  printf '%-10s' "$which"
  hits=0
  while IFS=$'\t' read -r query first _; do
    want=""
    for pair in "${pairs[@]}"; do [ "${pair%%:*}" = "$(basename "${query%.*}")" ] && want=${pair##*:}; done
    got=$(basename "${first%:*}"); got=${got%.*}
    if [ "$got" = "$want" ]; then hits=$((hits + 1)); printf ' %s*' "$got"; else printf ' %s' "$got"; fi
  done < "$out/search-$which.tsv"
  echo "  ($hits/${#pairs[@]})"
done
echo
echo "Pictures: $out/pictures/{trained,untrained}/*.pca.png, *.attention.png, search-<n>.png (raw: $out/pictures/raw)."
