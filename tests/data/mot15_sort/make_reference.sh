#!/usr/bin/env bash
# Remakes the SORT reference outputs in this folder: runs the unmodified sort.py of
# github.com/abewley/sort (commit in README.md) once per MOT15 sequence, each in a fresh process
# so that track ids start at 1 (sort.py's id counter is a class attribute shared by sequences).
# Usage: make_reference.sh /path/to/sort-checkout /path/to/shared/data/mot15
set -euo pipefail
sort_dir=$(cd "$1" && pwd) data=$(cd "$2" && pwd) out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# sort.py imports skimage for its --display mode only; a stub module stands in for it.
mkdir -p "$work/stub/skimage" && echo 'io = None' >"$work/stub/skimage/__init__.py"
for seq_dir in "$data"/*/; do
  seq=$(basename "$seq_dir")
  run="$work/run/$seq"
  mkdir -p "$run/data/train/$seq/det"
  cp "$seq_dir/det.txt" "$run/data/train/$seq/det/det.txt"
  (cd "$run" && PYTHONPATH="$work/stub" MPLBACKEND=Agg python3 "$sort_dir/sort.py" --seq_path data --phase train >/dev/null)
  cp "$run/output/$seq.txt" "$out/$seq.txt"
done
