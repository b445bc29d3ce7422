#!/usr/bin/env bash
# Command-line tests of examples/08_merge_reports: merge_reports_cli_test.sh PATH/TO/merge_reports WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. Shard reports are written here by hand, and made by a real sharded
# run of e2p ($VBATCH_E2P, set by CTest) through examples/scale-out's Slurm scripts: the merge of
# its shards' reports must count what one unsharded run counts. python3 reads the JSON (and, with
# its yaml module, the Kubernetes manifests).
set -euo pipefail

TOOL=${1:?usage: merge_reports_cli_test.sh PATH/TO/merge_reports WORK_DIR}
W=${2:?usage: merge_reports_cli_test.sh PATH/TO/merge_reports WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
scale_out=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../examples/scale-out" && pwd)  # the Slurm and Kubernetes examples
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# expect_json NAME FILE EXPR WANT : EXPR on FILE's JSON (harness's json_get), as JSON, is WANT.
expect_json() {
  local name=$1 got
  got=$(json_get "$2" "json.dumps($3)" 2>&1) || true
  if [[ $got == "$4" ]]; then ok "$name"; else bad "$name: $3 is $got, expected $4"; fi
}

# report FILE TOOL INDEX COUNT ITEMS FAILED OUTPUTS SECONDS [FAILED_FILE] : a shard's report as
# the tools write it (INDEX "-" for an unsharded run), with one failure naming FAILED_FILE.
report() {
  local shard='{"index": '$3', "count": '$4'}' failures='[]'
  [[ $3 == - ]] && shard=null
  [[ -n ${9:-} ]] && failures='[{"file": "'$9'", "stage": "decode", "reason": "'$9': truncated JPEG"}]'
  cat >"$1" <<EOF
{"run": {"tool": "$2", "version": "0.1.0", "unit": "frames", "shard": $shard, "items": $5, "resumed": 1,
         "failed": $6, "done": $(($5 - 1 - $6)), "outputs": $7, "seconds": $8, "items_per_second": 1.0,
         "stage_seconds": {"decode": $8, "remap": 1.0}, "stage_shares": {"decode": 0.5, "remap": 0.5}},
 "failures": $failures, "settings": {"rig": "ring:8"}}
EOF
}

# expect_error NAME STATUS TEXT ARGS... : merge_reports ARGS exits with STATUS, its stderr names
# TEXT, and no merged report (out/) is written. (Replaces the harness's: the output is a file.)
expect_error() {
  local name=$1 want=$2 text=$3 rc=0
  shift 3
  rm -rf out
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c 300 run.err)"
  elif ! grep -qF -- "$text" run.err; then
    bad "$name: the message does not name '$text': $(head -c 300 run.err)"
  elif [[ -e out ]]; then
    bad "$name: wrote $(ls -A out | tr '\n' ' ')"
  else
    ok "$name"
  fi
}

start=$SECONDS

# ---- help and version ------------------------------------------------------------------------
run_ok "--help exits 0" --help
if grep -q -- "--output" run.out && grep -q "Exit status" run.out && grep -q "Examples" run.out; then ok "--help: options, examples, exit statuses"; else bad "--help: $(cat run.out)"; fi
run_ok "--version exits 0" --version
if grep -qE "^merge-reports \(vbatch\) [0-9]+\.[0-9]+\.[0-9]+$" run.out; then ok "--version prints the vbatch version"; else bad "--version: $(cat run.out)"; fi

# ---- three shards written by hand ------------------------------------------------------------
report s0.json e2p 0 3 10 0 72 4.5
report s1.json e2p 1 3 11 1 80 6.25 pano_0017.jpg
report s2.json e2p 2 3 9 2 40 5.0 pano_0002.jpg
run_ok "three shards merge" s2.json s0.json s1.json -o out/merged.json
expect_json "items added up" out/merged.json 'j["run"]["items"]' 30
expect_json "failed added up" out/merged.json 'j["run"]["failed"]' 3
expect_json "outputs added up" out/merged.json 'j["run"]["outputs"]' 192
expect_json "resumed added up" out/merged.json 'j["run"]["resumed"]' 3
expect_json "done added up" out/merged.json 'j["run"]["done"]' 24
expect_json "seconds: the longest shard's" out/merged.json 'j["run"]["seconds"]' 6.25
expect_json "items/s over the longest shard" out/merged.json 'round(j["run"]["items_per_second"], 3)' 3.84
expect_json "stage seconds added up" out/merged.json 'j["run"]["stage_seconds"]' '{"decode": 15.75, "remap": 3.0}'
expect_json "stage shares of the sums" out/merged.json 'round(j["run"]["stage_shares"]["remap"], 4)' 0.16
expect_json "the merged run is not a shard" out/merged.json 'j["run"]["shard"]' null
expect_json "each shard's own run" out/merged.json 'sorted(s["shard"]["index"] for s in j["shards"])' '[0, 1, 2]'
expect_json "every shard's failures, in file order" out/merged.json '[f["file"] for f in j["failures"]]' '["pano_0002.jpg", "pano_0017.jpg"]'
expect_json "failures.json beside it" out/failures.json '[j["tool"], j["failed"], j["shards"], [f["file"] for f in j["failures"]]]' '["e2p", 2, 3, ["pano_0002.jpg", "pano_0017.jpg"]]'
if grep -q "3 shards of e2p: 30 frames, 24 done, 3 resumed, 3 failed, 192 outputs; 6.25 s" run.out; then ok "summary line"; else bad "summary: $(cat run.out)"; fi
if grep -qE "^  decode +15\.75 +84\.0%$" run.out && grep -q "out/failures.json" run.out; then ok "stage table and failures file"; else bad "summary: $(cat run.out)"; fi
expect_files "only the merged report and failures.json" out merged.json failures.json
cp out/merged.json merged_in.json
run_ok "any order, -q" s1.json s2.json s0.json -o out/again.json -q
if [[ ! -s run.out && ! -s run.err ]]; then ok "-q prints nothing"; else bad "-q printed: $(cat run.out run.err)"; fi
if [[ $(json_get out/merged.json '[j["run"], j["failures"]]') == "$(json_get out/again.json '[j["run"], j["failures"]]')" ]]; then ok "the order of the reports does not matter"; else bad "the order of the reports changes the merge"; fi

# Without failures: no failures.json, and one an earlier merge left is removed.
report c0.json e2p 0 2 5 0 40 1.5
report c1.json e2p 1 2 5 0 40 2.5
run_ok "shards without failures merge" c0.json c1.json -o out/clean.json
expect_files "a stale failures.json removed" out again.json clean.json merged.json
if ! grep -q "failures:" run.out; then ok "no failures line"; else bad "summary names failures: $(cat run.out)"; fi
report whole.json e2p - - 7 0 56 3.0
run_ok "one unsharded report" whole.json -o one/whole.json
expect_json "an unsharded report merges to itself" one/whole.json '[j["run"]["items"], j["run"]["outputs"], len(j["shards"])]' '[7, 56, 1]'

# ---- reports that are not one run's: exit 1, the culprit named, nothing written --------------
expect_error "a shard missing" 1 "not given: 1" s0.json s2.json -o out/m.json
report s1b.json e2p 1 3 11 0 80 6.0
expect_error "a shard twice" 1 "s1.json and s1b.json are both shard 1/3" s0.json s1.json s1b.json s2.json -o out/m.json
expect_error "one file twice" 1 "both shard 0/3" s0.json s0.json s1.json s2.json -o out/m.json
report masks1.json masks 1 3 11 0 80 6.0
expect_error "another tool" 1 "masks1.json: a report of masks, not e2p" s0.json masks1.json s2.json -o out/m.json
report n4.json e2p 1 4 11 0 80 6.0
expect_error "another shard count" 1 "n4.json: shard 1/4" s0.json n4.json s2.json -o out/m.json
report beyond.json e2p 5 3 11 0 80 6.0
expect_error "a shard beyond its count" 1 "beyond.json: shard 5/3" s0.json beyond.json s2.json -o out/m.json
echo '{"tool": "e2p", "frames": 12}' >other.json
expect_error "a JSON file that is not a report" 1 "other.json: not a vbatch tool report" s0.json other.json s2.json -o out/m.json
echo '[1, 2, 3]' >list.json
expect_error "a JSON list" 1 "list.json: not a vbatch tool report" s0.json list.json -o out/m.json
head -c 120 s1.json >cut.json
expect_error "a truncated report" 1 "cut.json: not JSON" s0.json cut.json s2.json -o out/m.json
: >empty.json
expect_error "an empty file" 1 "empty.json: not JSON" s0.json empty.json s2.json -o out/m.json
expect_error "a missing file" 1 "nowhere.json: no such file" s0.json nowhere.json s2.json -o out/m.json
expect_error "a directory" 1 "one: a directory" s0.json one -o out/m.json
expect_error "a merged report" 1 "merged_in.json: already a merged report (of 3 shards)" s0.json merged_in.json -o out/m.json
sed 's/"reason": [^}]*/"why": 1/' s1.json >badfail.json
expect_error "a malformed failure" 1 "badfail.json: a failure that is not" s0.json badfail.json s2.json -o out/m.json

# ---- a bad command line: exit 2 --------------------------------------------------------------
expect_error "no reports" 2 "no reports given" -o out/m.json
expect_error "no --output" 2 "--output is required" s0.json s1.json s2.json
expect_error "a misspelt option" 2 "did you mean --output" s0.json --outptu out/m.json
cp s0.json keep.json
expect_error "the output is an input" 2 "keep.json: the merged report would overwrite this input" keep.json -o keep.json
if cmp -s s0.json keep.json; then ok "the input is left alone"; else bad "the input was overwritten"; fi

# ---- a real sharded run: examples/scale-out/e2p-array.sbatch as three Slurm array tasks -------
# The array script run by bash as Slurm would run it (SLURM_ARRAY_TASK_* set, vbatch-e2p on the
# PATH), with small views instead of its 1600x1200 ones; one shared output directory; then the
# merge script. Its merged report must count what one unsharded run counts.
E2P=${VBATCH_E2P:?VBATCH_E2P: the e2p tool (set by CTest)}
mkdir -p bin frames
ln -sf "$E2P" bin/vbatch-e2p
ln -sf "$TOOL" bin/vbatch-merge-reports
"$E2P" --demo -o demo -q
for k in 0 1 2 3 4 5 6 7; do cp "demo/frame_00000_cam_0$k.jpg" "frames/pano_$((k + 1)).jpg"; done
head -c 400 frames/pano_1.jpg >frames/pano_9.jpg  # a truncated frame: one failure
small='--rig ring:2 --size 16x12 --format png'
rc=0
"$E2P" frames -o whole $small --report whole.json -q 2>/dev/null || rc=$?
if [[ $rc -eq 3 ]]; then ok "the unsharded run: done with one failure (exit 3)"; else bad "the unsharded run: exit $rc"; fi
sed "s/--rig rings3:8 --size 1600x1200/$small/" "$scale_out/e2p-array.sbatch" >array.sh
if grep -qF -- "$small" array.sh; then ok "e2p-array.sbatch takes smaller views for the test"; else bad "e2p-array.sbatch: no --rig rings3:8 --size 1600x1200 to replace"; fi
statuses=""
for task in 0 1 2; do
  rc=0
  PATH=$PWD/bin:$PATH FRAMES=frames OUT=shared SLURM_ARRAY_TASK_ID=$task SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 \
    SLURM_ARRAY_TASK_STEP=1 bash array.sh >"task$task.log" 2>&1 || rc=$?
  statuses+="$rc "
done
if [[ $statuses == "0 0 3 " ]]; then ok "array tasks 0..2: exit 0, 0 and 3 (the truncated frame is the last)"; else bad "array tasks exit $statuses: $(head -c 300 task2.log)"; fi
rc=0
PATH=$PWD/bin:$PATH OUT=shared bash "$scale_out/e2p-merge.sbatch" >merge.log 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then ok "e2p-merge.sbatch merges the tasks' reports"; else bad "e2p-merge.sbatch: exit $rc: $(head -c 300 merge.log)"; fi
for key in items failed outputs done; do
  expect_json "merged run.$key = the unsharded run's" shared/merged-report.json "j['run']['$key']" "$(json_get whole.json "json.dumps(j['run']['$key'])")"
done
expect_json "merged failures = the unsharded run's" shared/merged-report.json 'j["failures"]' "$(json_get whole.json 'json.dumps(j["failures"])')"
expect_json "failures.json: the unsharded run's list" shared/failures.json 'j["failures"]' "$(json_get whole/failures.json 'json.dumps(j["failures"])')"
if diff -r -x '*.json' whole shared >/dev/null; then ok "the tasks' views are the unsharded run's, byte for byte"; else bad "views differ: $(diff -rq -x '*.json' whole shared | head -3)"; fi
rm shared/report-1.json
rc=0
PATH=$PWD/bin:$PATH OUT=shared bash "$scale_out/e2p-merge.sbatch" >merge.log 2>&1 || rc=$?
if [[ $rc -eq 1 ]] && grep -q "not given: 1" merge.log; then ok "a task's report missing: the merge job fails naming it"; else bad "merge without task 1: exit $rc: $(cat merge.log)"; fi

# ---- the other scale-out examples: they parse, and the Job's shard count is its completions -----
for script in "$scale_out"/*.sbatch; do
  if bash -n "$script" 2>syntax.err; then ok "bash -n $(basename "$script")"; else bad "bash -n $(basename "$script"): $(cat syntax.err)"; fi
done
if python3 -c 'import yaml' 2>/dev/null; then
  if msg=$(python3 - "$scale_out"/*.yaml <<'PY' 2>&1
import sys, yaml
jobs = {}
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        assert doc["kind"] == "Job", f"{path}: a {doc['kind']}, not a Job"
        jobs[doc["metadata"]["name"]] = doc
indexed = [j for j in jobs.values() if j["spec"].get("completionMode") == "Indexed"]
assert len(indexed) == 1, f"{len(indexed)} Indexed Jobs"
spec = indexed[0]["spec"]
container = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e.get("value") for e in container.get("env", [])}
assert env.get("VBATCH_SHARD_COUNT") == str(spec["completions"]), f"VBATCH_SHARD_COUNT {env.get('VBATCH_SHARD_COUNT')} but completions {spec['completions']}"
args = container["args"]
assert args[args.index("--shard") + 1] == "auto", "no --shard auto"
assert "$(JOB_COMPLETION_INDEX)" in args[args.index("--report") + 1], "the report's name does not hold the index"
merge = [j for j in jobs.values() if j is not indexed[0]]
assert merge and "vbatch-merge-reports" in " ".join(merge[0]["spec"]["template"]["spec"]["containers"][0]["command"])
PY
  ); then ok "the Kubernetes manifests parse; VBATCH_SHARD_COUNT = completions; --shard auto; a report per index"; else bad "Kubernetes manifests: $msg"; fi
else
  echo "skip the Kubernetes manifests' check: python3 has no yaml module (apt-get install python3-yaml)"
fi

echo "($((SECONDS - start)) s)"
finish
