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
