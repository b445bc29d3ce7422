#!/usr/bin/env bash
# Command-line tests of bench/pipeline/e2p_flow_bench (a timing program, not a test): its own and
# Google Benchmark's flags are parsed, not ignored, so that --help or --benchmark_list_tests does
# not start the whole benchmark (minutes of 8K frames) and a misspelt flag is an error.
#   e2p_flow_bench_cli_test.sh PATH/TO/e2p_flow_bench WORK_DIR
set -euo pipefail

TOOL=${1:?usage: e2p_flow_bench_cli_test.sh PATH/TO/e2p_flow_bench WORK_DIR}
W=${2:?usage: e2p_flow_bench_cli_test.sh PATH/TO/e2p_flow_bench WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# run_quick NAME STATUS ARGS... : exits with STATUS within 20 s (a benchmark run takes minutes)
# and generates no frames (--dir is ./bench, which must stay absent).
run_quick() {
  local name=$1 want=$2 rc=0
  shift 2
  timeout 20 "$TOOL" --dir bench "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -eq 124 ]]; then
    bad "$name: still running after 20 s (the benchmark ran)"
  elif [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c 300 run.err)"
  elif [[ -e bench ]]; then
    bad "$name: frames were generated in bench/"
  else
    ok "$name"
  fi
  rm -rf bench
}
expect_out() {  # expect_out NAME FILE TEXT : FILE contains TEXT
  if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in: $(head -c 300 "$2")"; fi
}

run_quick "--help exits 0" 0 --help
expect_out "--help prints the usage" run.out "usage: e2p_flow_bench"
run_quick "-h exits 0" 0 -h
run_quick "--benchmark_list_tests lists and exits 0" 0 --benchmark_list_tests
expect_out "--benchmark_list_tests names the variants" run.out "loop, serial"
run_quick "--benchmark_list_tests=true" 0 --benchmark_list_tests=true
run_quick "--benchmark_filter with --benchmark_list_tests" 0 --benchmark_filter=serial --benchmark_list_tests
if [[ $(cat run.out) == "loop, serial" ]]; then ok "--benchmark_filter selects variants"; else bad "--benchmark_filter=serial listed: $(cat run.out)"; fi
run_quick "unknown flag" 2 --frobnicate 3
expect_out "unknown flag named" run.err "--frobnicate: unknown option"
run_quick "unknown flag alone" 2 --frobnicate
run_quick "unsupported Google Benchmark flag" 2 --benchmark_min_time=1
expect_out "unsupported Google Benchmark flag named" run.err "--benchmark_min_time: a Google Benchmark flag this timing program does not support"
run_quick "a flag without its value" 2 --frames
run_quick "a bad count" 2 --frames x
expect_out "a bad count named" run.err "--frames 'x'"
run_quick "a filter matching nothing" 2 --benchmark_filter=nothing_matches
run_quick "a bad regex" 2 --benchmark_filter='('

finish
