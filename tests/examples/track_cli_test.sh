#!/usr/bin/env bash
# Command-line tests of examples/03_track: track_cli_test.sh PATH/TO/track WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. Inputs are written here, plus the real MOT15 detections from
# $VBATCH_SHARED_DATA_DIR/mot15 when that directory exists; only coreutils and awk are needed.
set -euo pipefail

TOOL=${1:?usage: track_cli_test.sh PATH/TO/track WORK_DIR}
W=${2:?usage: track_cli_test.sh PATH/TO/track WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)  # committed reference outputs
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# expect_error NAME STATUS TEXT ARGS... : track ARGS exits with STATUS, its stderr contains TEXT,
# and neither out.txt nor any temporary file appears in the working directory.
# (Replaces the harness's expect_error: track writes a file, not a directory.)
expect_error() {
  local name=$1 want=$2 text=$3 rc=0
  shift 3
  local before
  before=$(ls -A | grep -v '^run\.' | sort)
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  local after
  after=$(ls -A | grep -v '^run\.' | sort)
  if [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c 300 run.err)"
  elif ! grep -qF -- "$text" run.err; then
    bad "$name: the message does not name '$text': $(head -c 300 run.err)"
  elif [[ $before != "$after" ]]; then
    bad "$name: files appeared: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
  else
    ok "$name"
  fi
}

# check_tracks NAME DETS TRACKS : every line of TRACKS has 10 fields, ids are positive and unique
# within a frame, and its frame,x,y,w,h,score is a line of DETS (the output boxes are detections).
check_tracks() {
  local name=$1 dets=$2 tracks=$3 msg
  msg=$(awk -F, '
    NR == FNR { det[$1 "," $3 "," $4 "," $5 "," $6 "," $7] = 1; next }
    NF != 10 { print "line " FNR " has " NF " fields"; exit 1 }
    $2 < 1 || $2 != int($2) { print "line " FNR ": id " $2; exit 1 }
    seen[$1 "," $2]++ { print "line " FNR ": id " $2 " twice in frame " $1; exit 1 }
    !(($1 "," $3 "," $4 "," $5 "," $6 "," $7) in det) { print "line " FNR " is not a detection: " $0; exit 1 }
    $8 != -1 || $9 != -1 || $10 != -1 { print "line " FNR ": trailing fields " $8 "," $9 "," $10; exit 1 }
  ' "$dets" "$tracks" 2>&1) && ok "$name" || bad "$name: $msg"
}

start=$SECONDS

# ---- help and version ------------------------------------------------------------------------
run_ok "--help exits 0" --help
if grep -q -- "--max-age" run.out && grep -q -- "--min-hits" run.out && grep -q -- "--iou" run.out; then ok "--help lists the options"; else bad "--help lists the options"; fi
run_ok "--version exits 0" --version
if grep -qE "^track \(vbatch\) [0-9]+\.[0-9]+\.[0-9]+$" run.out; then ok "--version prints the vbatch version"; else bad "--version: $(cat run.out)"; fi

# ---- the demo --------------------------------------------------------------------------------
run_ok "--demo runs" --demo -o demo.txt
if [[ -s demo.txt ]]; then ok "--demo writes tracks"; else bad "--demo wrote nothing"; fi
if grep -q "frames/s" run.out && grep -q "identity switches" run.out && grep -q "tracks" run.out; then ok "summary on stdout"; else bad "summary: $(cat run.out)"; fi
if awk -F, 'NF != 10 { exit 1 }' demo.txt; then ok "demo lines have 10 fields"; else bad "demo lines have 10 fields"; fi
run_ok "--demo --motion velocity --max-age 3" --demo -o demo_v.txt --motion velocity --max-age 3 --quiet
if [[ ! -s run.out && ! -s run.err ]]; then ok "--quiet prints nothing"; else bad "--quiet printed: $(cat run.out run.err)"; fi
run_ok "--demo again" --demo -o demo2.txt -q
if cmp -s demo.txt demo2.txt; then ok "the demo is deterministic"; else bad "two demo runs differ"; fi

# ---- a small hand-made input -----------------------------------------------------------------
# Two objects over 6 frames (object 2 missing in frame 4), unsorted lines, CRLF on one line, a
# blank line, a false positive in frame 5.
cat >dets.txt <<'EOF'
2,-1,102,100,50,80,0.9,-1,-1,-1
1,-1,100,100,50,80,0.95,-1,-1,-1
1,-1,400,100,50,80,0.8,-1,-1,-1
2,-1,404,100,50,80,0.85,-1,-1,-1
3,-1,104,100,50,80,0.9,-1,-1,-1
3,-1,408,100,50,80,0.7,-1,-1,-1

4,-1,106,100,50,80,0.9,-1,-1,-1
5,-1,108,100,50,80,0.9,-1,-1,-1
5,-1,416,100,50,80,0.75,-1,-1,-1
5,-1,900,500,20,20,0.3,-1,-1,-1
6,-1,110,100,50,80,0.9,-1,-1,-1
6,-1,420,100,50,80,0.7,-1,-1,-1
EOF
printf '7,-1,112,100,50,80,0.9,-1,-1,-1\r\n' >>dets.txt
run_ok "hand-made input" dets.txt -o small.txt
check_tracks "hand-made: output boxes are detections, ids unique per frame" dets.txt small.txt
# min_hits 3: frames 3.. for object 1 (id 1); object 2 (id 2) from frame 3, paired again in frame 5
# after one missed frame (max_age 1).
expected='3,1,104,100,50,80,0.9,-1,-1,-1
3,2,408,100,50,80,0.7,-1,-1,-1
4,1,106,100,50,80,0.9,-1,-1,-1
5,1,108,100,50,80,0.9,-1,-1,-1
5,2,416,100,50,80,0.75,-1,-1,-1
6,1,110,100,50,80,0.9,-1,-1,-1
6,2,420,100,50,80,0.7,-1,-1,-1
7,1,112,100,50,80,0.9,-1,-1,-1'
if [[ $(cat small.txt) == "$expected" ]]; then ok "hand-made: the expected tracks"; else bad "hand-made: got $(tr '\n' ' ' <small.txt)"; fi
if grep -q "7 frames, 13 detections -> 2 tracks, 8 track boxes" run.out; then ok "hand-made: summary counts"; else bad "hand-made summary: $(cat run.out)"; fi
run_ok "--min-hits 1" dets.txt -o hits1.txt --min-hits 1
if [[ $(wc -l <hits1.txt) -eq 13 ]]; then ok "--min-hits 1 reports every detection"; else bad "--min-hits 1: $(wc -l <hits1.txt) lines"; fi
run_ok "--max-age 0" dets.txt -o age0.txt --max-age 0 --min-hits 1
before_gap=$(awk -F, '$1 == 3 && $3 == 408 { print $2 }' age0.txt)
after_gap=$(awk -F, '$1 == 5 && $3 == 416 { print $2 }' age0.txt)
if [[ -n $before_gap && -n $after_gap && $before_gap != "$after_gap" ]]; then ok "--max-age 0: object 2 gets a new id after its gap"; else bad "--max-age 0: $(tr '\n' ' ' <age0.txt)"; fi
run_ok "--min-score 0.8 drops the weaker detections" dets.txt -o scored.txt --min-score 0.8 --min-hits 1
if awk -F, '$7 < 0.8 { exit 1 }' scored.txt; then ok "--min-score: no output under 0.8"; else bad "--min-score: $(tr '\n' ' ' <scored.txt)"; fi
run_ok "--assign greedy --motion velocity" dets.txt -o greedy.txt --assign greedy --motion velocity
if cmp -s small.txt greedy.txt; then ok "greedy + velocity agree on an easy scene"; else bad "greedy differs: $(tr '\n' ' ' <greedy.txt)"; fi

# An existing output is replaced atomically on success, and kept on failure.
echo "old" >keep.txt
run_ok "overwrite an existing output" dets.txt -o keep.txt
if cmp -s keep.txt small.txt; then ok "the output was replaced"; else bad "the output was not replaced"; fi
echo "old" >keep.txt

# ---- the real MOT15 detections -----------------------------------------------------------------
MOT=${VBATCH_SHARED_DATA_DIR:-}/mot15
if [[ -n ${VBATCH_SHARED_DATA_DIR:-} && -f $MOT/ETH-Bahnhof/det.txt ]]; then
  for seq in ETH-Bahnhof TUD-Campus; do
    run_ok "MOT15 $seq" "$MOT/$seq/det.txt" -o "$seq.txt"
    check_tracks "MOT15 $seq: output boxes are detections, ids unique per frame" "$MOT/$seq/det.txt" "$seq.txt"
    if grep -qE "^.*: [0-9]+ frames, [0-9]+ detections -> [0-9]+ tracks" run.out; then ok "MOT15 $seq: summary"; else bad "MOT15 $seq summary: $(cat run.out)"; fi
  done
  if grep -q "1000 frames, 6209 detections" <("$TOOL" "$MOT/ETH-Bahnhof/det.txt" -o eth2.txt); then ok "MOT15 ETH-Bahnhof: 1000 frames, 6209 detections"; else bad "MOT15 ETH-Bahnhof counts"; fi
  if cmp -s ETH-Bahnhof.txt eth2.txt; then ok "MOT15: runs are deterministic"; else bad "MOT15: two runs differ"; fi
else
  echo "skip MOT15 checks: no \$VBATCH_SHARED_DATA_DIR/mot15"
fi

# ---- presets, ByteTrack, evaluation, exports, several sequences -------------------------------
run_ok "--preset sort --motion kalman" dets.txt -o sort_small.txt --preset sort
if awk -F, 'NF != 10 { exit 1 }' sort_small.txt && [[ -s sort_small.txt ]]; then ok "--preset sort writes tracks"; else bad "--preset sort: $(tr '\n' ' ' <sort_small.txt)"; fi
run_ok "--motion kalman" dets.txt -o kalman_small.txt --motion kalman
check_tracks "--motion kalman: output boxes are detections" dets.txt kalman_small.txt
# Weak detections (0.3) keep a track alive with --byte but never start one.
run_ok "--byte --high 0.8" dets.txt -o byte_small.txt --byte --high 0.8 --low 0.2 --min-hits 1
if ! grep -q '^5,[0-9]*,900,' byte_small.txt; then ok "--byte: the weak false positive starts no track"; else bad "--byte: $(tr '\n' ' ' <byte_small.txt)"; fi
run_ok "--summary and --top (json, area)" dets.txt -o s.txt --summary summary.json --top 2 --top-by area --top-out best.json
if grep -q '"best_score"' summary.json && grep -q '"rank": 2' best.json; then ok "json exports"; else bad "json exports: $(head -c 300 summary.json best.json)"; fi
run_ok "--summary and --top (csv, score)" dets.txt -o s.txt --summary summary.csv --top 2 --top-out best.csv
if head -1 best.csv | grep -q '^sequence,id,rank,frame,x,y,w,h,score,area$' &&
  awk -F, 'NR > 1 { n[$2]++; if ($3 == 1) s1[$2] = $9; else if ($9 > s1[$2]) exit 1 } END { for (i in n) if (n[i] > 2) exit 1 }' best.csv; then
  ok "--top 2: at most 2 per track, best first"
else bad "--top: $(tr '\n' ' ' <best.csv)"; fi
if [[ $(($(wc -l <summary.csv) - 1)) -eq 2 ]]; then ok "--summary: one line per track"; else bad "--summary: $(tr '\n' ' ' <summary.csv)"; fi
# The hand-made scene scored against itself as ground truth: every reported box is a match.
awk -F, 'NF { printf "%s,%d,%s,%s,%s,%s,1,-1,-1,-1\n", $1, ($3 < 300) ? 1 : 2, $3, $4, $5, $6 }' small.txt >gt_small.txt
run_ok "--eval" dets.txt -o e.txt --eval gt_small.txt --report report.json
if grep -q "MOTA 1.0000  IDF1 1.0000" run.out && python3 -c 'import json; assert json.load(open("report.json"))["sequences"][0]["eval"]["mota"] == 1'; then ok "--eval: a perfect score"; else bad "--eval: $(cat run.out)"; fi
printf '1,1,1,2,3,4,1\n1,1,x,2,3,4,1\n' >bad_gt.txt
expect_error "--eval with a bad line" 1 "bad_gt.txt:2: field 3 (x)" dets.txt -o out.txt --eval bad_gt.txt
expect_error "--eval missing" 1 "no_gt.txt: cannot open" dets.txt -o out.txt --eval no_gt.txt
if [[ -n ${VBATCH_SHARED_DATA_DIR:-} && -f $MOT/TUD-Campus/det.txt ]]; then
  # --preset sort is SORT: its boxes within SORT's two printed decimals, the same ids.
  run_ok "MOT15 TUD-Campus --preset sort" "$MOT/TUD-Campus/det.txt" -o sort_campus.txt --preset sort
  msg=$(awk -F, 'NR == FNR { ref[$1 "," $2] = $3 "," $4 "," $5 "," $6; n++; next }
    { split(ref[$1 "," $2], r, ","); if (!(($1 "," $2) in ref)) { print "extra " $0; exit 1 }
      for (k = 1; k <= 4; k++) { d = $(k + 2) - r[k]; if (d > 0.0101 || d < -0.0101) { print "differs: " $0; exit 1 } } m++ }
    END { if (m != n) { print m " boxes for SORT'"'"'s " n; exit 1 } }' "$DATA/mot15_sort/TUD-Campus.txt" sort_campus.txt 2>&1) &&
    ok "--preset sort reproduces SORT on TUD-Campus" || bad "--preset sort vs SORT: $msg"
  # --eval equals py-motmetrics (tests/data/mot_metrics/reference.txt: MOTA 0.6267409470752089).
  run_ok "MOT15 TUD-Campus --eval" "$MOT/TUD-Campus/det.txt" -o e.txt --preset sort --eval "$DATA/mot_metrics/TUD-Campus.gt.txt" --report r.json
  if grep -q '"mota": 0.62674094707520' r.json && grep -q '"idf1": 0.60645161290322' r.json; then ok "--eval: py-motmetrics' MOTA and IDF1"; else bad "--eval: $(cat r.json)"; fi
  # Several sequences in one call: one output each, the same whatever the thread count.
  run_ok "two sequences, 2 threads" "$MOT/TUD-Campus/det.txt" "$MOT/TUD-Stadtmitte" -o many2 --preset sort --threads 2 --eval "$DATA/mot_metrics" --report many2.json
  run_ok "two sequences, 1 thread" "$MOT/TUD-Campus/det.txt" "$MOT/TUD-Stadtmitte" -o many1 --preset sort --threads 1
  if cmp -s many2/TUD-Campus.txt sort_campus.txt && cmp -s many1/TUD-Stadtmitte.txt many2/TUD-Stadtmitte.txt; then ok "several sequences: outputs independent of threads"; else bad "several sequences differ"; fi
  if [[ $(grep -c '"mota"' many2.json) -eq 2 ]]; then ok "several sequences: one score each in the report"; else bad "report: $(cat many2.json)"; fi
  mkdir -p dup_out
  expect_error "two inputs, one sequence name" 1 "both are sequence TUD-Campus" "$MOT/TUD-Campus/det.txt" "$MOT/TUD-Campus" -o dup_out
fi

# ---- several sequences: bad ones (--on-error, --max-failures), --shard, --report, progress ------
# Five sequences cut from the demo's tracks (MOT lines, read back as detections), of different lengths.
mkdir -p seqs
awk -F, '{ f = $1; s = f <= 20 ? "a" : f <= 90 ? "b" : f <= 130 ? "c" : f <= 250 ? "d" : "e"; print > ("seqs/" s ".txt") }' demo.txt
seqs=(seqs/a.txt seqs/b.txt seqs/c.txt seqs/d.txt seqs/e.txt)
printf '1,-1,1,2,3,4,0.9\n1,-1,5,6,7,8,0.8\n2,-1,x,2,3,4,0.9\n' >malformed.txt
# report_is NAME FILE ITEMS FAILED OUTPUTS : the --report JSON parses and its run block says so.
report_is() {
  if python3 - "$2" "$3" "$4" "$5" <<'PY'; then ok "$1"; else bad "$1: $(head -c 400 "$2" 2>&1)"; fi
import json, sys
j = json.load(open(sys.argv[1]))
r = j["run"]
assert r["tool"] == "track" and r["unit"] == "sequences", r
assert [r["items"], r["failed"], r["outputs"]] == [int(x) for x in sys.argv[2:5]], r
assert j["tool"] == "track" and len(j["sequences"]) == r["items"] - r["failed"], j["sequences"]
PY
}
run_ok "five sequences" "${seqs[@]}" -o out_seqs --report seqs.json -q
report_is "five sequences: --report counts 5 sequences, 5 files" seqs.json 5 0 5

# One malformed file among them: the others' outputs as in a run without it.
run_ok "a clean run over the good sequences" seqs/a.txt seqs/b.txt seqs/e.txt -o out_good -q
rc=0
"$TOOL" seqs/a.txt malformed.txt seqs/b.txt seqs/e.txt -o out_mixed --report mixed.json >run.out 2>run.err || rc=$?
if [[ $rc -eq 3 ]]; then ok "a malformed sequence (skip): exit status 3"; else bad "a malformed sequence (skip): exit $rc: $(head -c 300 run.err)"; fi
if [[ $(ls out_mixed | tr '\n' ' ') == "a.txt b.txt e.txt failures.json " ]] && cmp -s out_good/a.txt out_mixed/a.txt &&
  cmp -s out_good/b.txt out_mixed/b.txt && cmp -s out_good/e.txt out_mixed/e.txt; then
  ok "a malformed sequence (skip): the others' tracks, identical to the clean run's"
else
  bad "a malformed sequence (skip): $(ls out_mixed | tr '\n' ' ')"
fi
if python3 -c 'import json
j = json.load(open("out_mixed/failures.json"))
f = j["failures"]
assert j["tool"] == "track" and len(f) == 1 and (f[0]["file"], f[0]["stage"]) == ("malformed.txt", "read"), f
assert f[0]["reason"].startswith("malformed.txt:3: field 3 (x)"), f'; then ok "a malformed sequence (skip): failures.json names the file, its line and the stage"; else bad "failures.json: $(cat out_mixed/failures.json)"; fi
if grep -qF "track: 1 failed, listed in out_mixed/failures.json" run.err && grep -q "^total: 3 sequences (1 failed)" run.out; then ok "a malformed sequence (skip): stderr and the summary say so"; else bad "a malformed sequence: $(cat run.out run.err)"; fi
report_is "a malformed sequence (skip): --report counts 4 sequences, 1 failed, 3 files" mixed.json 4 1 3
rc=0
"$TOOL" seqs/a.txt malformed.txt seqs/b.txt -o out_stop --on-error stop >run.out 2>run.err || rc=$?
if [[ $rc -eq 1 ]] && grep -qF "malformed.txt:3:" run.err && [[ -z $(ls -A out_stop) ]]; then ok "a malformed sequence (stop): exit 1, named, nothing written"; else bad "a malformed sequence (stop): exit $rc: $(ls -A out_stop) $(head -c 300 run.err)"; fi
rc=0
"$TOOL" seqs/a.txt malformed.txt seqs/b.txt -o out_max0 --max-failures 0 >run.out 2>run.err || rc=$?
if [[ $rc -eq 1 ]] && grep -qF "stopped: more than 0 failures (--max-failures)" run.err && grep -q '"stopped_on_too_many": true' out_max0/failures.json; then ok "--max-failures 0: exit 1, says why"; else bad "--max-failures 0: exit $rc: $(head -c 300 run.err)"; fi
run_ok "a clean run into the same directory removes a stale failures.json" seqs/a.txt seqs/b.txt -o out_max0 -q
if [[ ! -e out_max0/failures.json ]]; then ok "stale failures.json removed"; else bad "stale failures.json kept"; fi
# One input: the run is that sequence; its failure is the run's, and no failures.json appears.
expect_error "one malformed input under skip: exit 1, nothing written" 1 "malformed.txt:3:" malformed.txt -o out.txt --on-error skip

check_shards "--shard 1..5 and 7: disjoint, together the whole run's files, items add up" out_seqs 5 "1 2 3 4 5 7" "${seqs[@]}"
run_ok "a shard with no sequences" seqs/a.txt -o empty.txt --shard 0/2 --report empty.json
if grep -q "shard 0/2 has no sequences to track" run.out && [[ ! -e empty.txt ]]; then ok "a shard with no sequences says so, writes nothing"; else bad "empty shard: $(cat run.out)"; fi
report_is "a shard with no sequences: a report of zero items" empty.json 0 0 0
rm -rf out_auto out_2of3
"$TOOL" "${seqs[@]}" -o out_2of3 --shard 2/3 -q || true
rc=0
env SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=5 "$TOOL" "${seqs[@]}" -o out_auto --shard auto --report auto.json -q >run.out 2>run.err || rc=$?
if [[ $rc -eq 0 ]] && diff -r out_2of3 out_auto >/dev/null && python3 -c 'import json; assert json.load(open("auto.json"))["run"]["shard"] == {"index": 2, "count": 3}'; then
  ok "--shard auto under a Slurm array (task 7 of 5..7): shard 2/3"
else
  bad "--shard auto under Slurm: exit $rc: $(head -c 300 run.err) $(ls out_auto out_2of3 2>&1 | tr '\n' ' ')"
fi
expect_error "--shard 3/3" 2 "--shard '3/3': expected i/n" "${seqs[@]}" -o out_bad_shard --shard 3/3
expect_error "--shard auto without a job array" 2 "shard auto: neither SLURM_ARRAY_TASK_ID" "${seqs[@]}" -o out_bad_shard --shard auto
expect_error "--on-error bad value" 2 "--on-error: retry" dets.txt -o out.txt --on-error retry

# Progress: per frame over all sequences, with the rate and ETA on a terminal; nothing in a pipe.
if command -v script >/dev/null; then
  on_terminal progress.tty "${seqs[@]}" -o out_progress || true
  if grep -qE "\[([0-9]+)/\1 frames\] [0-9.]+ frames/s, ETA" progress.tty; then ok "progress on a terminal: frames over all sequences, rate and ETA"; else bad "progress on a terminal: $(head -c 300 progress.tty)"; fi
fi
"$TOOL" "${seqs[@]}" -o out_progress2 >run.out 2>run.err
if [[ ! -s run.err ]]; then ok "no progress line without a terminal"; else bad "stderr without a terminal: $(head -c 300 run.err)"; fi
if [[ $(tail -1 run.out) == "total: 5 sequences, "*" frames, "* ]]; then ok "the run ends with a one-line summary"; else bad "last line: $(tail -1 run.out)"; fi

# ---- input errors: exit 1, the message names the file and line, nothing written ---------------
printf '1,-1,1,2,3,4,0.9\n1,-1,5,6,7,8,0.8\n2,-1,x,2,3,4,0.9\n' >bad_number.txt
printf '1,-1,1,2,3,4,0.9\n2,-1,1,2,3\n' >few_fields.txt
printf '1,-1,1,2,-3,4,0.9\n' >neg_width.txt
printf '1.5,-1,1,2,3,4,0.9\n' >frac_frame.txt
printf '1,-1,1,2,3,4,nan\n' >nan_score.txt
printf '\x00\x01binary' >binary.txt
mkdir -p a_dir
expect_error "bad number" 1 "bad_number.txt:3: field 3 (x) is 'x'" bad_number.txt -o out.txt
expect_error "too few fields" 1 "few_fields.txt:2: 5 fields" few_fields.txt -o out.txt
expect_error "negative width" 1 "neg_width.txt:1: negative width" neg_width.txt -o out.txt
expect_error "fractional frame" 1 "frac_frame.txt:1: frame 1.5" frac_frame.txt -o out.txt
expect_error "NaN score" 1 "nan_score.txt:1: field 7 (score)" nan_score.txt -o out.txt
expect_error "binary file" 1 "binary.txt:1:" binary.txt -o out.txt
expect_error "missing input" 1 "missing.txt: cannot open" missing.txt -o out.txt
expect_error "input is a directory" 1 "a_dir: is a directory" a_dir -o out.txt
expect_error "output directory missing" 1 "the directory nodir does not exist" dets.txt -o nodir/out.txt
expect_error "output is a directory" 1 "a_dir: is a directory" dets.txt -o a_dir
expect_error "malformed input keeps an existing output" 1 "bad_number.txt:3:" bad_number.txt -o keep.txt
if [[ $(cat keep.txt) == old ]]; then ok "the old output is untouched"; else bad "the old output changed"; fi

# ---- usage errors: exit 2 -----------------------------------------------------------------------
expect_error "no input, no --demo" 2 "no input" -o out.txt
expect_error "missing -o" 2 "--output" dets.txt
expect_error "--iou 0" 2 "--iou 0" dets.txt -o out.txt --iou 0
expect_error "--iou 1.5" 2 "--iou" dets.txt -o out.txt --iou 1.5
expect_error "--min-hits -1" 2 "--min-hits" dets.txt -o out.txt --min-hits -1
expect_error "--max-age x" 2 "--max-age" dets.txt -o out.txt --max-age x
expect_error "--motion warp" 2 "--motion: warp" dets.txt -o out.txt --motion warp
expect_error "--preset deepsort" 2 "--preset: deepsort" dets.txt -o out.txt --preset deepsort
expect_error "--top without --top-out" 2 "--top-out" dets.txt -o out.txt --top 3
expect_error "--top-out without --top" 2 "--top N" dets.txt -o out.txt --top-out best.csv
expect_error "--summary .txt" 2 "must end in .csv or .json" dets.txt -o out.txt --summary s.txt
expect_error "--report .txt" 2 "must end in .json" dets.txt -o out.txt --report r.txt
expect_error "--byte --low above --high" 2 "low_score 0.75 above high_score 0.5" dets.txt -o out.txt --byte --low 0.75 --high 0.5
expect_error "--assign hungarian" 2 "--assign: hungarian" dets.txt -o out.txt --assign hungarian
expect_error "--demo with an input" 2 "--demo" dets.txt --demo -o out.txt
expect_error "unknown option" 2 "--frobnicate" dets.txt -o out.txt --frobnicate

echo "($((SECONDS - start)) s)"
finish
