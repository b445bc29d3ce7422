#!/usr/bin/env bash
# Command-line tests of examples/04_profile: profile_cli_test.sh PATH/TO/profile WORK_DIR
#
# Every check prints one line (ok/FAIL); the script ends with "N passed, M failed" and exits
# non-zero when a check failed. The JSON is checked with python3's json module.
set -euo pipefail

TOOL=${1:?usage: profile_cli_test.sh PATH/TO/profile WORK_DIR}
W=${2:?usage: profile_cli_test.sh PATH/TO/profile WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# expect_error NAME STATUS TEXT ARGS... : exits with STATUS and stderr names TEXT.
# (Replaces the harness's expect_error: no output directory to check.)
expect_error() {
  local name=$1 want=$2 text=$3 rc=0
  shift 3
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c 300 run.err)"
  elif ! grep -qF -- "$text" run.err; then
    bad "$name: the message does not name '$text': $(head -c 300 run.err)"
  else
    ok "$name"
  fi
}

run_ok "--help exits 0" --help
if grep -q -- "--max-batch" run.out; then ok "--help lists the options"; else bad "--help: $(head -c 200 run.out)"; fi
run_ok "--version exits 0" --version

small=(--demo-size 512x256 --size 64x48 --max-batch 4 --repeats 1)
run_ok "--demo sweeps and writes a report" --demo -o report "${small[@]}" --threads 1,2
for f in report/profile_e2p.json report/profile_e2p.svg; do
  if [[ -s $f ]]; then ok "$f written"; else bad "$f missing"; fi
done
if grep -q "^recommended: --threads [12] --batch [0-9]" run.out; then ok "prints a recommendation"; else bad "no recommendation: $(cat run.out)"; fi
if python3 - report/profile_e2p.json <<'PY'; then ok "the JSON has both sweeps, every size up to 4, and the recommendation"; else bad "JSON content"; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["operation"] == "e2p" and j["views"] == 8 and j["view_w"] == 64
assert [s["threads"] for s in j["sweeps"]] == [1, 2]
for s in j["sweeps"]:
    sizes = [p["batch"] for p in s["points"]]
    assert sizes[0] == 1 and all(b == 2 * a for a, b in zip(sizes, sizes[1:])) and sizes[-1] <= 4, sizes
    assert all(p["frames_per_second"] > 0 and p["peak_bytes"] > 0 for p in s["points"])
    peaks = [p["peak_bytes"] for p in s["points"]]
    assert all(b > a for a, b in zip(peaks, peaks[1:])), peaks  # bigger batches take more memory
r = j["recommended"]
assert r["threads"] in (1, 2) and r["batch"] >= 1 and r["frames_per_second"] > 0
PY
if grep -q "<svg" report/profile_e2p.svg && grep -q "2 threads" report/profile_e2p.svg; then ok "the chart has a line per thread count"; else bad "SVG content"; fi

# The recommendation is printed with its own rate (not the fastest point's), the fastest beside it
# under its own name; both in the JSON (issue 17: "recommends batch 2 and shows batch 4's rate").
if python3 - report/profile_e2p.json run.out <<'PY'; then ok "the recommended point's own rate, the fastest named apart"; else bad "recommended rate: $(grep -E '^(recommended|fastest)' run.out)"; fi
import json, re, sys
j = json.load(open(sys.argv[1]))
out = open(sys.argv[2]).read()
rate = {(s["threads"], p["batch"]): p["frames_per_second"] for s in j["sweeps"] for p in s["points"] if not p["out_of_memory"]}
r, f = j["recommended"], j["fastest"]
assert r["frames_per_second"] == rate[(r["threads"], r["batch"])], (r, rate)
assert f["frames_per_second"] == max(rate.values()) == rate[(f["threads"], f["batch"])], (f, rate)
assert f["frames_per_second"] >= r["frames_per_second"] >= 0.95 * f["frames_per_second"]
m = re.search(r"^recommended: --threads (\d+) --batch (\d+) \(([0-9.]+) frames/s", out, re.M)
assert m and (int(m[1]), int(m[2])) == (r["threads"], r["batch"]) and m[3] == f"{r['frames_per_second']:.2f}", m
m = re.search(r"^fastest: +--threads (\d+) --batch (\d+) \(([0-9.]+) frames/s", out, re.M)
assert m and (int(m[1]), int(m[2])) == (f["threads"], f["batch"]) and m[3] == f"{f['frames_per_second']:.2f}", m
PY

# Without --threads the sweep takes 1, 2, 4, ... and the cores this process may use (nproc
# honours the CPU affinity; one core under taskset), not a fixed 1,2.
want_threads() { python3 -c "import sys; n = int(sys.argv[1]); t = [1]
while t[-1] * 2 < n: t.append(t[-1] * 2)
print(t + [n] if t[-1] < n else t)" "$1"; }
run_ok "--demo without --threads" --demo -o auto "${small[@]}"
got=$(python3 -c "import json; print([s['threads'] for s in json.load(open('auto/profile_e2p.json'))['sweeps']])")
if [[ $got == "$(want_threads "$(nproc)")" ]]; then ok "default threads: 1, 2, 4, ... up to the $(nproc) cores ($got)"; else bad "default threads on $(nproc) cores: $got"; fi
if command -v taskset >/dev/null; then
  taskset -c 0 "$TOOL" --demo -o one "${small[@]}" >run.out 2>run.err || true
  got=$(python3 -c "import json; print([s['threads'] for s in json.load(open('one/profile_e2p.json'))['sweeps']])" 2>&1)
  if [[ $got == "[1]" ]]; then ok "default threads on one core (taskset): [1]"; else bad "default threads on one core: $got"; fi
fi

# --help: examples and exit statuses, like the other tools.
run_ok "--help again" --help
if grep -q "^Examples:" run.out && grep -q "profile --demo -o" run.out && grep -q "^Exit status: 0 done; 1 .*; 2 a bad command line" run.out; then
  ok "--help has examples and exit statuses"
else
  bad "--help lacks examples or exit statuses"
fi

# Progress (issue 17): on a terminal a line per thread count and batch size being timed, with the
# rate and ETA; nothing on stderr without a terminal; -q prints nothing at all, and still writes.
on_terminal progress.tty --demo -o progress "${small[@]}" --threads 1,2 || true
if grep -qE "\[2/2 thread counts\] [0-9.]+ thread counts/s, ETA" progress.tty && grep -qE "\[0/2 thread counts\].*1 thread, batch [124]" progress.tty; then
  ok "progress on a terminal: thread counts done, rate, ETA, the point being timed"
else
  bad "progress on a terminal: $(head -c 400 progress.tty)"
fi
run_ok "--demo without a terminal" --demo -o progress2 "${small[@]}" --threads 1
if [[ ! -s run.err ]]; then ok "no progress line without a terminal"; else bad "stderr without a terminal: $(head -c 300 run.err)"; fi
run_ok "-q" --demo -o quiet "${small[@]}" --threads 1 -q
if [[ ! -s run.out && ! -s run.err && -s quiet/profile_e2p.json ]]; then ok "-q: prints nothing, writes the report"; else bad "-q printed: $(head -c 300 run.out run.err)"; fi

# Frames from files.
mkdir -p frames
run_ok "--demo report to reuse its frame" --demo -o unused "${small[@]}" --threads 1
cp /dev/null empty.jpg
expect_error "no inputs" 2 "no inputs" -o r2
expect_error "a misspelt flag gets a suggestion" 2 "--max-bacth: unknown option; did you mean --max-batch?" --demo -o r2 --max-bacth=4
expect_error "bad --threads" 2 "--threads '0'" --demo -o r2 --threads 0
expect_error "bad --threads list" 2 "--threads '1,x'" --demo -o r2 --threads 1,x
expect_error "bad --size" 2 "--size '64by48'" --demo -o r2 --size 64by48
expect_error "bad --rig" 2 "--rig 'star:3'" --demo -o r2 --rig star:3
expect_error "unknown operation" 2 "--op 'nms'" --demo -o r2 --op nms
expect_error "missing input" 1 "missing.jpg" missing.jpg -o r2
expect_error "corrupt input" 1 "empty.jpg" empty.jpg -o r2
expect_error "empty directory" 1 "no .jpg" frames -o r2
touch not_a_dir
expect_error "report directory under a file" 1 "not_a_dir/report" --demo -o not_a_dir/report "${small[@]}"

finish
