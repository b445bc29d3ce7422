#!/usr/bin/env bash
# pipeline360 under MPI (docs/scale-out.md):
#   pipeline360_mpi_test.sh PATH/TO/pipeline360_mpi PATH/TO/pipeline360 MPIEXEC WORK_DIR
#
# `mpirun -np 2` and `-np 3 --oversubscribe` of the MPI build against one process of the build
# without MPI, on small generated frames: the same views and masks byte for byte, one merged
# report counting what the single run counts, one failures.json when a frame is corrupt, and the
# worst exit status on every rank. Every check prints one line (ok/FAIL); the script ends with
# "N passed, M failed" and exits non-zero when a check failed. python3 reads the JSON.
set -euo pipefail

usage="usage: pipeline360_mpi_test.sh PATH/TO/pipeline360_mpi PATH/TO/pipeline360 MPIEXEC WORK_DIR"
MPI_TOOL=${1:?$usage}
TOOL=${2:?$usage}
MPIEXEC=${3:?$usage}
W=${4:?$usage}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# Open MPI refuses root without these (containers, CI), and stays on loopback: no network needed.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=("$MPIEXEC" --bind-to none --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)

# ranks N OUT ARGS... : mpirun -np N of the MPI build, its output in OUT.log, each rank's exit
# status in OUT.status.RANK. By default mpirun kills the other ranks once one has exited non-zero
# (after MPI_Finalize: their work is done); to see every rank's status it waits for them here,
# and then exits 0 itself (its own status is checked apart, below).
ranks() {
  local n=$1 out=$2
  shift 2
  local extra=(--mca orte_abort_on_non_zero_status 0)
  ((n > 2)) && extra+=(--oversubscribe)
  local rc=0
  rm -f "$out".status.*
  "${mpirun[@]}" -np "$n" "${extra[@]}" bash -c '"$@"; s=$?; echo $s >"'"$out"'.status.$OMPI_COMM_WORLD_RANK"; exit $s' \
    rank "$MPI_TOOL" "$@" >"$out.log" 2>&1 || rc=$?
}

# statuses OUT : the ranks' exit statuses, in rank order.
statuses() { cat "$1".status.* 2>/dev/null | tr '\n' ' '; }

# same_outputs NAME REF DIR : DIR's views and masks are REF's, byte for byte.
same_outputs() {
  if diff -r "$2/views" "$3/views" >/dev/null && diff -r "$2/masks" "$3/masks" >/dev/null; then
    ok "$1"
  else
    bad "$1: $(diff -rq "$2" "$3" 2>&1 | grep -v 'report\.\|failures\.json' | head -3)"
  fi
}

start=$SECONDS
settings=(--rig ring:4 --size 64x48 --dilate 3 --batch 1 --threads 1 -q)

# ---- inputs: 7 small frames, and the same with a truncated one --------------------------------
"$TOOL" --demo 7 --demo-size 512x256 --size 16x16 -o gen -q
mkdir -p clean corrupt
cp gen/demo_frames/*.jpg clean/
cp gen/demo_frames/*.jpg corrupt/
head -c 600 clean/frame_00003.jpg >corrupt/frame_00003.jpg

# ---- one process of the build without MPI: the reference --------------------------------------
rc=0
"$TOOL" clean -o single "${settings[@]}" || rc=$?
if [[ $rc -eq 0 ]]; then ok "single run: exit 0"; else bad "single run: exit $rc"; fi
rc=0
"$TOOL" corrupt -o single_bad "${settings[@]}" 2>/dev/null || rc=$?
if [[ $rc -eq 3 ]]; then ok "single run with a truncated frame: exit 3"; else bad "single run with a truncated frame: exit $rc"; fi

# ---- 2 and 3 ranks ----------------------------------------------------------------------------
for n in 2 3; do
  ranks "$n" "np$n" clean -o "np$n" "${settings[@]}"
  if [[ $(statuses "np$n") == "$(printf '0 %.0s' $(seq "$n"))" ]]; then ok "-np $n: every rank exits 0"; else bad "-np $n: ranks $(statuses "np$n"): $(head -c 400 "np$n.log")"; fi
  same_outputs "-np $n: the single run's views and masks, byte for byte" single "np$n"
  expect_files "-np $n: one merged report, no failures.json, no chart" "np$n" masks report.json views
  for key in items failed outputs done; do
    if [[ $(json_get "np$n/report.json" "j['run']['$key']") == "$(json_get single/report.json "j['run']['$key']")" ]]; then ok "-np $n: merged run.$key = the single run's"
    else bad "-np $n: run.$key $(json_get "np$n/report.json" "j['run']['$key']"), single $(json_get single/report.json "j['run']['$key']")"; fi
  done
  if [[ $(json_get "np$n/report.json" 'sorted(s["shard"]["index"] for s in j["shards"])') == "$(seq -s ', ' 0 $((n - 1)) | sed 's/.*/[&]/')" ]]; then ok "-np $n: a shard per rank in the merged report"
  else bad "-np $n: shards $(json_get "np$n/report.json" '[s["shard"] for s in j["shards"]]')"; fi

  ranks "$n" "bad$n" corrupt -o "bad$n" "${settings[@]}"
  if [[ $(statuses "bad$n") == "$(printf '3 %.0s' $(seq "$n"))" ]]; then ok "-np $n, a truncated frame: every rank exits 3"; else bad "-np $n, a truncated frame: ranks $(statuses "bad$n"): $(head -c 400 "bad$n.log")"; fi
  same_outputs "-np $n, a truncated frame: the single run's views and masks" single_bad "bad$n"
  if [[ $(json_get "bad$n/failures.json" 'j["failures"]') == "$(json_get single_bad/failures.json 'j["failures"]')" ]]; then ok "-np $n: one failures.json, the single run's list"
  else bad "-np $n: failures.json $(head -c 300 "bad$n/failures.json" 2>&1)"; fi
  if [[ $(json_get "bad$n/report.json" '[j["run"]["items"], j["run"]["failed"]]') == "$(json_get single_bad/report.json '[j["run"]["items"], j["run"]["failed"]]')" ]]; then ok "-np $n: merged items and failed = the single run's"
  else bad "-np $n: merged $(json_get "bad$n/report.json" '[j["run"]["items"], j["run"]["failed"]]')"; fi
done

# ---- mpirun's status, the summary, --report, a bad command line, no mpirun ---------------------
rc=0
"${mpirun[@]}" -np 2 "$MPI_TOOL" corrupt -o status "${settings[@]}" >status.log 2>&1 || rc=$?
if [[ $rc -eq 3 ]]; then ok "mpirun exits 3 (done with failures)"; else bad "mpirun exits $rc: $(head -c 300 status.log)"; fi
mkdir -p merged
ranks 2 summary clean -o summary --rig ring:4 --size 64x48 --threads 1 --report merged/summary.json
if grep -q "pipeline360 (MPI): 2 shards of pipeline360: 7 frames, 7 done" summary.log && grep -q "merged/summary.json" summary.log; then ok "rank 0 prints the merge's summary"; else bad "summary: $(head -c 600 summary.log)"; fi
if [[ $(grep -c "frames ->" summary.log) -eq 0 ]]; then ok "one summary for the run, not one per rank"; else bad "per-rank summaries: $(head -c 600 summary.log)"; fi
if [[ -f merged/summary.json && ! -e summary/report.json ]]; then ok "--report names the merged report"; else bad "--report: $(ls merged summary)"; fi
ranks 2 demo --demo 3 --demo-size 512x256 -o demo "${settings[@]}"
if [[ $(statuses demo) == "0 0 " && $(json_get demo/report.json '[j["run"]["items"], len(j["shards"])]') == "[3, 2]" ]]; then ok "--demo 3 on 2 ranks: 3 frames in all"; else bad "--demo on 2 ranks: $(statuses demo): $(head -c 300 demo.log)"; fi
ranks 3 demo_few --demo 2 -o demo_few "${settings[@]}"
if [[ $(statuses demo_few) == "2 2 2 " ]] && grep -q "fewer frames than the 3 ranks" demo_few.log; then ok "--demo with fewer frames than ranks: exit 2"; else bad "--demo 2 on 3 ranks: $(statuses demo_few): $(head -c 300 demo_few.log)"; fi
ranks 2 shard clean -o shard --shard 0/2 "${settings[@]}"
if [[ $(statuses shard) == "2 2 " ]] && grep -q -- "--shard" shard.log; then ok "--shard under MPI: a usage error (exit 2) on every rank"; else bad "--shard under MPI: ranks $(statuses shard): $(head -c 300 shard.log)"; fi
rc=0
"$MPI_TOOL" clean -o alone "${settings[@]}" || rc=$?
if [[ $rc -eq 0 ]]; then ok "without mpirun: one rank, exit 0"; else bad "without mpirun: exit $rc"; fi
same_outputs "without mpirun: the single run's views and masks" single alone

echo "($((SECONDS - start)) s)"
finish
