#!/usr/bin/env bash
# Determinism of the tools (issue 16): determinism_test.sh E2P MASKS PIPELINE360 TRACK FRAMES EMBED WORK_DIR
#
# Every tool's --demo, run with several thread counts, batch sizes and worker counts, must write
# the same bytes: per tool, the hashes of all its output files are equal across configurations.
# --threads 1 is the sequential executor (cpu_par with one thread runs every row on the calling
# thread; no tool offers cpu_serial by name). Reports are compared without what measures the run:
# SVG charts are left out, and JSON reports are hashed with their timing, memory and
# configuration fields removed (stages, shares, seconds, rates, peaks, settings, batch counts).
# profile is not here: everything it writes is timings. Demos are run at small sizes (under 60 s
# in all on the project's 2-core VM).
set -euo pipefail

usage="usage: determinism_test.sh E2P MASKS PIPELINE360 TRACK FRAMES EMBED WORK_DIR"
E2P=${1:?$usage} MASKS=${2:?$usage} PIPELINE360=${3:?$usage} TRACK=${4:?$usage} FRAMES=${5:?$usage} EMBED=${6:?$usage}
W=${7:?$usage}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"
start=$SECONDS

# manifest DIR : "PATH SHA256" of every output under DIR, sorted; JSON without its measurements.
manifest() {
  local f
  (cd "$1" && find . -type f ! -name '*.svg' | LC_ALL=C sort) | while read -r f; do
    if [[ $f == *.json ]]; then
      python3 -c 'import json, re, sys
measured = re.compile(r"seconds|per_second|share|stages|peak|rss|memory|settings|batches|retries|threads|wall")
def strip(v):
    if isinstance(v, dict): return {k: strip(x) for k, x in v.items() if not measured.search(k)}
    if isinstance(v, list): return [strip(x) for x in v]
    return v
print(json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True))' "$1/$f" | sha256sum | sed "s|-\$|$f (measurements removed)|"
    else
      (cd "$1" && sha256sum "$f")
    fi
  done | awk '{print $2, $1, $3, $4}'
}

# same NAME TOOL OUT_FLAG OUT_SUFFIX "LABEL:FLAGS"... : runs TOOL "${common[@]}" FLAGS
# OUT_FLAG NAME/LABEL<OUT_SUFFIX> once per configuration, and checks that every configuration's
# manifest equals the first's.
same() {
  local name=$1 tool=$2 out_flag=$3 out_suffix=$4
  shift 4
  local first="" config label flags dir rc
  local -a cfg
  mkdir -p "$name"
  for config in "$@"; do
    label=${config%%:*} flags=${config#*:}
    read -r -a cfg <<<"$flags"
    dir=$name/$label
    mkdir -p "$dir"
    rc=0
    "$tool" "${common[@]}" "${cfg[@]}" "$out_flag" "$dir$out_suffix" >"$dir.out" 2>"$dir.err" || rc=$?
    if [[ $rc -ne 0 ]]; then
      bad "$name ${flags}: exit $rc: $(head -c "$excerpt" "$dir.err")"
      return
    fi
    manifest "$dir" >"$dir.sha256"
    if [[ ! -s $dir.sha256 ]]; then
      bad "$name ${flags}: wrote nothing"
      return
    fi
    if [[ -z $first ]]; then
      first=$dir
    elif ! diff "$first.sha256" "$dir.sha256" >"$dir.diff"; then
      bad "$name: '${flags}' differs from '$(cut -d: -f2- <<<"$1")': $(head -c "$excerpt" "$dir.diff")"
      return
    fi
  done
  ok "$name: $(wc -l <"$first.sha256") files identical across $# configurations ($(printf '%s; ' "${@#*:}" | sed 's/; $//'))"
}

# e2p: the demo (one frame: threads only), then its views as 8 frames (threads and batches).
common=(--demo --size 320x240 --quiet)
same e2p_demo "$E2P" -o "" "t1:--threads 1" "t2:--threads 2" "t3:--threads 3"
mkdir -p e2p_frames_src && cp e2p_demo/t1/frame_00000_cam_0*.jpg e2p_frames_src/
common=(e2p_frames_src --size 96x64 --rig ring:6 --format png --quiet)
same e2p_frames "$E2P" -o "" "t1b1:--threads 1 --batch 1" "t2b3:--threads 2 --batch 3" "t3auto:--threads 3 --batch auto" \
  "t2b8w:--threads 2 --batch 8 --decode-workers 1 --encode-workers 3 --prefetch 1"

common=(--demo --quiet)
same masks "$MASKS" -o "" "t1b1:--threads 1 --batch 1" "t2b3:--threads 2 --batch 3" "t3b8:--threads 3 --batch 8"

common=(--demo 2 --demo-size 1024x512 --size 240x160 --quiet)
same pipeline360 "$PIPELINE360" -o "" "t1:--threads 1 --batch 1 --model-batch 1" "t2:--threads 2 --batch 2 --model-batch 3" \
  "t3:--threads 3 --batch 1 --model-batch 8 --decode-workers 1 --encode-workers 2"

common=(--demo --quiet)
same track "$TRACK" -o /tracks.mot "t1:--threads 1" "t2:--threads 2" "t3:--threads 3"

if command -v ffmpeg >/dev/null; then
  common=(--demo --quiet)
  same frames "$FRAMES" -o "" "w1:--encode-workers 1" "w2:--encode-workers 2" "w3:--encode-workers 3"
else
  echo "note: no ffmpeg: frames --demo does not apply"
fi

P=${VBATCH_FACE_PHOTOS_DIR:-}
if [[ -n $P && -f $P/obama.jpg ]]; then
  # --upsample 0: a quarter of the detector's work (the same 30 faces are embedded).
  common=(--demo --upsample 0 --quiet)
  same embed "$EMBED" -o "" "t1b32:--threads 1 --batch 32" "t2b5:--threads 2 --batch 5" "t3b1:--threads 3 --batch 1"
else
  echo "note: no face photos (scripts/setup.sh puts them in place): embed --demo does not apply"
fi

echo "($((SECONDS - start)) s)"
finish
