# shellcheck shell=bash
# Shared helpers of the example tools' command-line tests (NAME_cli_test.sh); not a test itself.
#
# A script sets TOOL (the tool under test) and goes to its scratch directory, then sources this
# file:   source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# and ends with `finish`. Every check prints one line (ok/FAIL); finish prints "N passed, M failed"
# and fails when a check failed. A script may redefine a helper whose meaning differs for its tool.

# Check counts and the two ways a check ends.
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# A setup step that fails (set -e) still ends with the summary line, counted as one failure.
finished=0
trap 'if [[ $finished -eq 0 ]]; then echo "FAIL a setup step failed; stopping"; echo "$passed passed, $((failed + 1)) failed"; fi' EXIT

# The summary line; the script's exit status is non-zero when a check failed.
finish() {
  finished=1
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# How much of the tool's stderr a failed check quotes.
excerpt=300

# run_ok NAME ARGS... : TOOL exits 0 (its output goes to run.out / run.err).
run_ok() {
  local name=$1 rc=0
  shift
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -eq 0 ]]; then ok "$name"; else bad "$name: exit $rc: $(head -c "$excerpt" run.err)"; fi
}

# expect_error NAME STATUS TEXT OUTDIR ARGS... : TOOL ARGS exits with STATUS, its stderr names
# TEXT (the culprit), and OUTDIR is absent or empty afterwards (not even a temporary file).
expect_error() {
  local name=$1 want=$2 text=$3 out=$4 rc=0
  shift 4
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c "$excerpt" run.err)"
  elif ! grep -qF -- "$text" run.err; then
    bad "$name: the message does not name '$text': $(head -c "$excerpt" run.err)"
  elif [[ -d $out && -n $(ls -A "$out") ]]; then
    bad "$name: left files in $out: $(ls -A "$out" | head -5 | tr '\n' ' ')"
  else
    ok "$name"
  fi
}

# expect_files NAME DIR FILE... : DIR holds exactly these files (no temporaries, no extras).
expect_files() {
  local name=$1 dir=$2
  shift 2
  local want got
  want=$(printf '%s\n' "$@" | sort)
  got=$(ls -A "$dir" 2>/dev/null | sort)
  if [[ $want == "$got" ]]; then ok "$name"; else bad "$name: expected [${want//$'\n'/ }], got [${got//$'\n'/ }]"; fi
}

# WxH from a PNG's IHDR chunk (bytes 16..23, big-endian).
png_size() {
  local b
  read -r -a b < <(od -An -v -tu1 -j16 -N8 "$1")
  echo "$(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]))x$(((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]))"
}
# WxH from a JPEG's start-of-frame segment, walking the marker segments from the start.
jpeg_size() {
  od -An -v -tu1 -N65536 "$1" | awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
    END { p = 2
          while (p + 8 < n) {
            if (b[p] != 255) exit 1
            m = b[p + 1]; len = b[p + 2] * 256 + b[p + 3]
            if (m >= 192 && m <= 195) { printf "%dx%d\n", b[p + 7] * 256 + b[p + 8], b[p + 5] * 256 + b[p + 6]; exit 0 }
            p += 2 + len
          }
          exit 1 }'
}
# WxH of a PNG (by its extension) or JPEG, from its header: coreutils and awk only.
image_size() {
  case $1 in
    *.png) png_size "$1" ;;
    *) jpeg_size "$1" ;;
  esac
}

# expect_sizes NAME WxH FILE... : every file is a WxH image.
expect_sizes() {
  local name=$1 want=$2 f got
  shift 2
  for f in "$@"; do
    got=$(image_size "$f" || echo "unreadable")
    if [[ $got != "$want" ]]; then
      bad "$name: $f is $got, expected $want"
      return
    fi
  done
  ok "$name"
}

# json_get FILE EXPR : prints the Python expression EXPR evaluated on the JSON in FILE (as `j`).
json_get() { python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# check_shards NAME REF ITEMS "N..." ARGS... : for each N, runs TOOL ARGS with --shard i/N (0 <= i
# < N), each into shards_N/i with --report shards_N/i.json; checks that no output file is written
# by two shards, that together they write exactly REF's files byte for byte (reports and charts
# aside), and that the reports' run.items add up to ITEMS. VBATCH_SHARD_COUNTS, where set,
# replaces the counts (the sanitizer run takes "1 2 3": the same code under ASan, fewer runs;
# some tests read shards_1, shards_2 or shards_3 afterwards).
check_shards() {
  local name=$1 ref=$2 items=$3 counts=${VBATCH_SHARD_COUNTS:-$4} n i f rc sum problems=""
  shift 4
  for n in $counts; do
    rm -rf "shards_$n"
    mkdir -p "shards_$n/union"
    sum=0
    for ((i = 0; i < n; i++)); do
      rc=0
      "$TOOL" "$@" -o "shards_$n/$i" --shard "$i/$n" --report "shards_$n/$i.json" -q >run.out 2>run.err || rc=$?
      if [[ $rc -ne 0 ]]; then
        problems+=" shard $i/$n: exit $rc: $(head -c 200 run.err);"
        continue
      fi
      sum=$((sum + $(json_get "shards_$n/$i.json" 'j["run"]["items"]')))
      while IFS= read -r f; do
        [[ -e shards_$n/union/$f ]] && problems+=" $f written by two shards of $n;"
        mkdir -p "$(dirname "shards_$n/union/$f")"
        cp "shards_$n/$i/$f" "shards_$n/union/$f"
      done < <(cd "shards_$n/$i" && find . -type f ! -name '*.json' ! -name '*.svg')
    done
    [[ $sum -eq $items ]] || problems+=" $n shards: reports add up to $sum items, not $items;"
    diff -r -x '*.json' -x '*.svg' "$ref" "shards_$n/union" >/dev/null || problems+=" $n shards: outputs differ from $ref;"
  done
  if [[ -z $problems ]]; then ok "$name"; else bad "$name:$problems"; fi
}

# on_terminal OUT ARGS... : runs TOOL ARGS with a terminal as stdout and stderr (util-linux
# `script`), its output in OUT, for the progress lines only a terminal gets.
on_terminal() {
  local out=$1 cmd
  shift
  printf -v cmd '%q ' "$TOOL" "$@"
  script -qfec "$cmd" /dev/null >"$out" 2>&1 </dev/null
}
