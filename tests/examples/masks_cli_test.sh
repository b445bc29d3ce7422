#!/usr/bin/env bash
# Command-line tests of examples/02_masks: masks_cli_test.sh PATH/TO/masks WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. Input masks are made here from the tool's own --demo output;
# image sizes are read from the PNG/JPEG headers with od and awk, so nothing beyond coreutils is
# needed.
set -euo pipefail

TOOL=${1:?usage: masks_cli_test.sh PATH/TO/masks WORK_DIR}
W=${2:?usage: masks_cli_test.sh PATH/TO/masks WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# expect_files NAME DIR FILE... : DIR holds exactly these files, searched recursively (no
# temporaries, no extras).
# (Replaces the harness's expect_files: masks writes subdirectories.)
expect_files() {
  local name=$1 dir=$2
  shift 2
  local want got
  want=$(printf '%s\n' "$@" | sort)
  got=$(cd "$dir" 2>/dev/null && find . -type f | sed 's|^\./||' | sort)
  if [[ $want == "$got" ]]; then ok "$name"; else bad "$name: expected [${want//$'\n'/ }], got [${got//$'\n'/ }]"; fi
}

# expect_error NAME STATUS TEXT OUTDIR ARGS... : masks ARGS exits with STATUS, its stderr contains
# TEXT (the culprit), and OUTDIR is absent or empty afterwards (not even a temporary file).
# (Replaces the harness's expect_error: empty subdirectories may stay, files may not.)
expect_error() {
  local name=$1 want=$2 text=$3 out=$4 rc=0
  shift 4
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c 300 run.err)"
  elif ! grep -qF -- "$text" run.err; then
    bad "$name: the message does not name '$text': $(head -c 300 run.err)"
  elif [[ -d $out && -n $(find "$out" -type f | head -1) ]]; then
    bad "$name: left files in $out: $(find "$out" -type f | head -5 | tr '\n' ' ')"
  else
    ok "$name"
  fi
}

# percent FIELD : the "before"/"after" percentage from the summary in run.out.
percent() { sed -nE "s/^pixels set: ([0-9.]+)% before, ([0-9.]+)% after.*/\\$1/p" run.out; }

start=$SECONDS

# ---- help and version ------------------------------------------------------------------------
run_ok "--help exits 0" --help
if grep -q -- "--shape" run.out && grep -q -- "--compare" run.out; then ok "--help lists the options"; else bad "--help lists the options"; fi
run_ok "--version exits 0" --version
if grep -qE "^masks \(vbatch\) [0-9]+\.[0-9]+\.[0-9]+$" run.out; then ok "--version prints the vbatch version"; else bad "--version: $(cat run.out)"; fi

# ---- the demo --------------------------------------------------------------------------------
demo=(demo_0{0..3}.png)
run_ok "--demo runs" --demo -o demo
expect_files "--demo writes 4 masks and 4 comparisons" demo "${demo[@]}" compare/demo_0{0..3}.jpg
expect_sizes "--demo masks are 640x480" 640x480 "${demo[@]/#/demo/}"
expect_sizes "comparisons are before|after side by side" 1286x480 demo/compare/*.jpg
if grep -q "4 masks: dilate square 15x15" run.out && grep -q "ms/mask" run.out; then ok "summary on stdout"; else bad "summary on stdout: $(cat run.out)"; fi
if ! grep -q "ETA" run.err; then ok "no progress line in a log (stderr not a terminal)"; else bad "progress in a log: $(cat run.err)"; fi
on_terminal term.out --demo -o demo_term
if grep -q "\[4/4 masks\] [0-9.]* masks/s, ETA" term.out; then ok "progress line with rate and ETA on a terminal"; else bad "progress on a terminal: $(tr '\r' '\n' <term.out | head -5)"; fi
before=$(percent 1) after=$(percent 2)
if awk -v b="$before" -v a="$after" 'BEGIN { exit !(a > b && b > 0) }'; then ok "dilation grows the masks ($before% -> $after%)"; else bad "dilation grows the masks: $before% -> $after%"; fi

# Inputs from the demo's masks, in a tree: in/z.png, in/a/x.png, in/b/deep/y.png.
mkdir -p in/a in/b/deep images/a images/b/deep
cp demo/demo_00.png in/z.png
cp demo/demo_01.png in/a/x.png
cp demo/demo_02.png in/b/deep/y.png
# Source images for --compare: any image of the mask's size, under the same relative name.
cp demo/demo_00.png images/z.png
cp demo/demo_01.png images/a/x.png
cp demo/demo_02.png images/b/deep/y.png

# ---- real operations -------------------------------------------------------------------------
tree=(z.png a/x.png b/deep/y.png)
run_ok "a directory tree" in -o grown --op dilate --shape square --size 15
expect_files "same relative names in the output" grown "${tree[@]}"
expect_sizes "outputs keep the input size" 640x480 grown/z.png grown/a/x.png grown/b/deep/y.png
run_ok "erode shrinks" in -o shrunk --op erode --shape disk --size 9
b=$(percent 1) a=$(percent 2)
if awk -v b="$b" -v a="$a" 'BEGIN { exit !(a < b) }'; then ok "erosion shrinks the masks ($b% -> $a%)"; else bad "erosion shrinks: $b% -> $a%"; fi
run_ok "open with an ellipse, 2 iterations" in -o opened --op open --shape ellipse --width 9 --height 5 --iterations 2
expect_files "open writes every mask" opened "${tree[@]}"
run_ok "close with a rect" in -o closed --op close --shape rect --width 7 --height 3
run_ok "gradient with a cross" in -o edges --op gradient --shape cross --size 5
run_ok "a quoted glob ('*' stays in its directory)" 'in/*.png' -o glob --shape disk --size 21
expect_files "the glob takes in/z.png only" glob z.png
run_ok "a glob in a subdirectory" 'in/a/*.png' -o glob2
expect_files "relative to the glob's base" glob2 x.png
run_ok "single files" in/z.png in/a/x.png -o files --quiet
expect_files "files keep their names" files z.png x.png
if [[ ! -s run.out && ! -s run.err ]]; then ok "--quiet prints nothing"; else bad "--quiet printed: $(cat run.out run.err)"; fi

run_ok "--compare with --images" in -o cmp_out --compare cmp --images images --shape disk --size 15
expect_files "a comparison per mask, same relative names" cmp z.jpg a/x.jpg b/deep/y.jpg
expect_sizes "comparisons are 1286x480" 1286x480 cmp/z.jpg cmp/a/x.jpg cmp/b/deep/y.jpg

# Results do not depend on threads, batch size or algorithm.
run_ok "1 thread, batch 1" in -o t1 --threads 1 --batch 1 --shape disk --size 11
run_ok "2 threads, batch 3" in -o t2 --threads 2 --batch 3 --shape disk --size 11
run_ok "the direct algorithm" in -o t3 --threads 2 --shape disk --size 11 --algorithm direct
# Shards (issue 18): disjoint parts that together write the unsharded masks.
check_shards "--shard i/n, n = 1..5 and 7: disjoint, together the unsharded masks" t1 3 "1 2 3 4 5 7" \
  in --threads 1 --batch 1 --shape disk --size 11
rc=0
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 "$TOOL" in -o slurm --threads 1 --batch 1 --shape disk \
  --size 11 --shard auto -q >run.out 2>run.err || rc=$?
if [[ $rc -eq 0 ]] && diff -r shards_3/1 slurm >/dev/null; then ok "--shard auto in a Slurm array task"; else bad "--shard auto: exit $rc $(head -c 300 run.err)"; fi
if cmp -s t1/a/x.png t2/a/x.png && diff -r t1 t2 >/dev/null && diff -r t1 t3 >/dev/null; then
  ok "identical masks for any threads, batch and algorithm"
else
  bad "masks differ between thread/batch/algorithm settings"
fi
run_ok "square 15 through van_herk" in -o vh --shape square --size 15 --algorithm van_herk
if diff -r vh grown >/dev/null; then ok "van_herk = automatic"; else bad "van_herk differs from automatic"; fi

# ---- errors: the message names the culprit, and no output file appears ---------------------
echo "not an image" >bad.png
: >empty.png
mkdir -p emptydir clash1 clash2 sizes/a
cp in/z.png clash1/m.png
cp in/z.png clash2/m.png
cp demo/compare/demo_00.jpg sizes/z.jpg  # 1286x480: not the mask's size
echo 'x' >not_a_dir

expect_error "missing input" 1 "missing.png" out missing.png -o out
expect_error "no inputs, no -o: the inputs first" 2 "masks: no inputs: give mask files" out
expect_error "a misspelt flag gets a suggestion" 2 "masks: --iteration: unknown option; did you mean --iterations?" out --demo -o out --iteration=2
expect_error "corrupt input" 1 "bad.png" out bad.png -o out --on-error stop
expect_error "empty file" 1 "empty.png" out empty.png -o out --on-error stop
expect_error "corrupt input among good ones" 1 "bad.png" out in bad.png -o out --on-error stop
expect_error "empty directory" 1 "emptydir" out emptydir -o out
expect_error "a glob that matches nothing" 1 "in/*.jpeg" out 'in/*.jpeg' -o out
expect_error "no inputs, no --demo" 2 "no inputs" out -o out
expect_error "two inputs with one output name" 1 "clash2/m.png" out clash1 clash2 -o out
expect_error "--size 0" 2 "--size 0" out in -o out --size 0
expect_error "--size -3" 2 "--size -3" out in -o out --size=-3
expect_error "even disk diameter" 2 "--size 14" out in -o out --shape disk --size 14
expect_error "unknown shape" 2 "--shape: hexagon" out in -o out --shape hexagon
expect_error "unknown op" 2 "--op: blur" out in -o out --op blur
expect_error "--width without --height" 2 "--width 9 --height 0" out in -o out --shape rect --width 9
expect_error "--width with a square" 2 "--width/--height" out in -o out --shape square --width 9 --height 9
expect_error "rect without sides" 2 "--shape rect needs" out in -o out --shape rect
expect_error "--iterations 0" 2 "--iterations" out in -o out --iterations 0
expect_error "van_herk with a disk" 2 "--algorithm van_herk" out in -o out --shape disk --algorithm van_herk
expect_error "--images without --compare" 2 "--images images" out in -o out --images images
expect_error "a missing source image" 1 "no source image" out in -o out --compare out/cmp --images emptydir --on-error stop
expect_error "a source image of another size" 1 "sizes/z.jpg" out in/z.png -o out --compare out/cmp --images sizes --on-error stop
expect_error "image over --max-pixels" 1 "exceeds the limit" out in -o out --max-pixels 1000 --on-error stop
expect_error "unknown option" 2 "--frobnicate" out in -o out --frobnicate
expect_error "output directory is a file" 1 "not_a_dir" out in -o not_a_dir
expect_error "output under a regular file" 1 "not_a_dir/masks" not_a_dir/masks in -o not_a_dir/masks
expect_error "output under /proc" 1 "/proc/masks_cli_test" out in -o /proc/masks_cli_test
expect_error "output over the inputs" 2 "would overwrite" in/none in -o in
# ---- --on-error skip (the default): bad masks are listed, every good mask is written ------------
mkdir -p mixed
cp in/z.png mixed/m1.png && cp in/a/x.png mixed/m3.png && cp in/b/deep/y.png mixed/m5.png
head -c 300 in/z.png >mixed/m2.png  # a valid header, cut data: fails while decoding
echo "not an image" >mixed/m4.png   # fails on its header
mkdir -p mixed_good && cp mixed/m{1,3,5}.png mixed_good/
"$TOOL" mixed_good -o skip_clean --shape disk --size 11 --quiet
for args in "--threads 1 --batch 1" "--threads 2 --batch 4"; do
  out="skip_${args// /_}"
  rc=0
  # shellcheck disable=SC2086
  "$TOOL" mixed -o "$out" --shape disk --size 11 $args --report "$out.json" >run.out 2>run.err || rc=$?
  if [[ $(json_get "$out.json" '"%(items)d %(failed)d %(done)d %(outputs)d" % j["run"]') == "5 2 3 3" &&
    $(json_get "$out.json" '[f["file"] for f in j["failures"]]') == "['mixed/m2.png', 'mixed/m4.png']" ]]; then
    ok "mixed masks ($args): --report counts 5 masks, 2 failed, 3 done and written"
  else bad "mixed masks ($args): --report: $(head -c 400 "$out.json")"; fi
  if [[ $rc -eq 3 ]]; then ok "mixed masks ($args): exit status 3"; else bad "mixed masks ($args): exit $rc: $(head -c 300 run.err)"; fi
  if diff -r -x failures.json skip_clean "$out" >/dev/null; then
    ok "mixed masks ($args): every good mask, identical to a clean run's, nothing else"
  else
    bad "mixed masks ($args): $(ls "$out" | tr '\n' ' ')"
  fi
  if python3 - "$out/failures.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = {(x["file"], x["stage"]): x["reason"] for x in j["failures"]}
assert j["failed"] == 2 and len(f) == 2, j
assert "mixed/m2.png" in f[("mixed/m2.png", "decode")], f
assert "not a readable image" in f[("mixed/m4.png", "read")], f
PY
  then ok "mixed masks ($args): failures.json names both masks and why"; else bad "mixed masks ($args): $(cat "$out/failures.json")"; fi
done
rc=0
"$TOOL" mixed -o maxed --max-failures 1 --threads 1 --batch 1 --quiet 2>run.err || rc=$?
if [[ $rc -eq 1 ]] && grep -q "stopped: more than 1 failures" run.err; then ok "--max-failures 1 stops at the second failure"; else bad "--max-failures 1: exit $rc: $(cat run.err)"; fi

if [[ -f in/z.png && $(find in -type f | wc -l) -eq 3 ]]; then ok "the inputs are untouched"; else bad "the inputs changed: $(find in -type f)"; fi

echo "($((SECONDS - start)) s)"
finish
