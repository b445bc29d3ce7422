#!/usr/bin/env bash
# Command-line tests of examples/06_frames: frames_cli_test.sh PATH/TO/frames WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. The inputs are made here: 60 flat frames whose colour says which
# frame they are (python3 writes them), as a directory of PNGs and, with ffmpeg, as a lossless
# FFV1 clip and a lossy H.264 clip with B-frames. Extracted PNGs are decoded by python3 itself,
# JPEGs by ffmpeg, and each file's colour must be its frame's. Without ffmpeg the video checks
# are skipped (CI installs it); the image-sequence checks always run.
set -euo pipefail

TOOL=${1:?usage: frames_cli_test.sh PATH/TO/frames WORK_DIR}
W=${2:?usage: frames_cli_test.sh PATH/TO/frames WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
excerpt=400  # failed checks quote more of frames' stderr
TOOL=$(cd "$(dirname "$TOOL")" && pwd)/$(basename "$TOOL")  # the script works in $W
rm -rf "$W" && mkdir -p "$W"
cd "$W"

have_ffmpeg=0
if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then have_ffmpeg=1; fi

# ---- helpers --------------------------------------------------------------------------------------

# frames.py make DIR N W H: DIR/img_1.png .. img_N.png (not zero-padded: natural order matters),
# file img_{k+1} being frame k, flat colour colour(k).
# frames.py check TOL FILE:FRAME... : each file is W x H (64x48) and its mean colour is within TOL
# of its frame's; prints the first mismatch and exits 1.
# Colours: R and G step by 24 with the frame number, so two frames differ by 24 or more in R or G
# and a codec's rounding (a few levels) cannot turn one frame into another.
cat >frames.py <<'EOF'
import struct, subprocess, sys, zlib

W, H = 64, 48

def colour(k):
    return (40 + (k % 8) * 24, 40 + (k // 8) * 24, 128)

def write_png(path, w, h, rgb):
    row = b"\0" + bytes(rgb) * w
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(row * h)) + chunk(b"IEND", b""))

def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"PNG type {ctype} depth {depth} interlace {interlace}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, pixels = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filters
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += [line[x * bpp:x * bpp + 3] for x in range(w)]
        prev = line
    return w, h, pixels

def read_jpeg(path):
    out = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    if len(out) != W * H * 3:
        raise ValueError(f"{len(out)} bytes decoded, not {W}x{H}x3")
    return W, H, [out[i:i + 3] for i in range(0, len(out), 3)]

if sys.argv[1] == "make":
    d, n = sys.argv[2], int(sys.argv[3])
    for k in range(n):
        write_png(f"{d}/img_{k + 1}.png", W, H, colour(k))
elif sys.argv[1] == "check":
    tol = float(sys.argv[2])
    for spec in sys.argv[3:]:
        path, frame = spec.rsplit(":", 1)
        try:
            w, h, px = read_png(path) if path.endswith(".png") else read_jpeg(path)
        except Exception as e:
            sys.exit(f"{path}: {e}")
        if (w, h) != (W, H):
            sys.exit(f"{path}: {w}x{h}, expected {W}x{H}")
        mean = [sum(p[c] for p in px) / len(px) for c in range(3)]
        want = colour(int(frame))
        if max(abs(m - x) for m, x in zip(mean, want)) > tol:
            sys.exit(f"{path}: mean colour {[round(m, 1) for m in mean]}, frame {frame} is {list(want)}")
EOF

# run_status NAME STATUS ARGS... : frames exits with STATUS.
run_status() {
  local name=$1 want=$2 rc=0
  shift 2
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -eq $want ]]; then ok "$name"; else bad "$name: exit $rc, expected $want: $(head -c 400 run.err)"; fi
}

# expect_error NAME STATUS TEXT OUTDIR ARGS... : frames ARGS exits with STATUS, its stderr
# contains TEXT, and OUTDIR does not exist afterwards (the checks come before any output).
# (Replaces the harness's expect_error: OUTDIR must not even be created.)
expect_error() {
  local name=$1 want=$2 text=$3 out=$4 rc=0
  shift 4
  rm -rf "$out"
  "$TOOL" "$@" >run.out 2>run.err || rc=$?
  if [[ $rc -ne $want ]]; then
    bad "$name: exit $rc, expected $want: $(head -c 400 run.err)"
  elif ! grep -qF -- "$text" run.err; then
    bad "$name: the message does not say '$text': $(head -c 400 run.err)"
  elif [[ -e $out ]]; then
    bad "$name: $out was created: $(ls -A "$out" | tr '\n' ' ')"
  else
    ok "$name"
  fi
}

# expect_frames NAME TOL DIR FILE:FRAME... : each file shows its frame.
expect_frames() {
  local name=$1 tol=$2 dir=$3 msg
  shift 3
  if msg=$(cd "$dir" && python3 "$W/frames.py" check "$tol" "$@" 2>&1); then ok "$name"; else bad "$name: $msg"; fi
}

expect_out() {  # expect_out NAME FILE TEXT : FILE (run.out or run.err) contains TEXT
  if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in: $(head -c 400 "$2")"; fi
}

# same_files NAME DIR_A DIR_B : the two directories hold the same files (failures.json aside), byte for byte.
same_files() {
  if diff -r -x failures.json "$2" "$3" >/dev/null; then ok "$1"; else bad "$1: $(ls "$2" | tr '\n' ' ') vs $(ls "$3" | tr '\n' ' ')"; fi
}
# failure_is NAME DIR FILE STAGE TEXT : DIR/failures.json lists exactly one failure: FILE at STAGE, TEXT in its reason.
failure_is() {
  if python3 - "$2/failures.json" "$3" "$4" "$5" <<'PY'; then ok "$1"; else bad "$1: $(cat "$2/failures.json" 2>&1 | head -c 400)"; fi
import json, sys
j = json.load(open(sys.argv[1]))
f = j["failures"]
assert j["tool"] == "frames" and j["failed"] == len(f) == 1, f
assert (f[0]["file"], f[0]["stage"]) == (sys.argv[2], sys.argv[3]) and sys.argv[4] in f[0]["reason"], f
PY
}
# report_is NAME FILE ITEMS FAILED OUTPUTS : the --report JSON parses and its run block says so.
report_is() {
  if python3 - "$2" "$3" "$4" "$5" <<'PY'; then ok "$1"; else bad "$1: $(head -c 400 "$2" 2>&1)"; fi
import json, sys
r = json.load(open(sys.argv[1]))["run"]
assert r["tool"] == "frames" and r["unit"] == "frames", r
assert [r["items"], r["failed"], r["outputs"]] == [int(x) for x in sys.argv[2:5]], r
PY
}

start=$SECONDS

# ---- inputs -----------------------------------------------------------------------------------------
mkdir seq
python3 frames.py make seq 60

# Scattered, unordered, repeated: frame 41 under two names, frame 7 under a default and a chosen
# name, frame 0 twice under one name (one file); comments, blank lines, a CRLF line, a name without
# extension (gets --format's), a CSV line.
{
  printf '# picks for the test\n'
  printf '41 a.png\n'
  printf '\n'
  printf '7\n'
  printf '   # an indented comment\n'
  printf '0 first.png\r\n'
  printf '59 last\n'
  printf '41  again.png\n'
  printf '0 first.png\n'
  printf '7 seven.jpg\n'
  printf '13,thirteen.png\n'
} >list.txt
list_files=(a.png frame_000007.png first.png last.png again.png seven.jpg thirteen.png)
list_frames=(a.png:41 frame_000007.png:7 first.png:0 last.png:59 again.png:41 thirteen.png:13)

# ---- help and version ---------------------------------------------------------------------------------
run_ok "--help exits 0" --help
if grep -q -- "--requests" run.out && grep -q -- "--every" run.out && grep -q -- "--max-frames" run.out &&
  grep -q "exit status is 1" run.out; then ok "--help lists the options and the out-of-range rule"; else bad "--help: $(head -c 300 run.out)"; fi
run_ok "--version exits 0" --version
if grep -qE "^frames \(vbatch\) [0-9]+\.[0-9]+\.[0-9]+$" run.out; then ok "--version prints the vbatch version"; else bad "--version: $(cat run.out)"; fi

# ---- an image sequence (no ffmpeg needed) --------------------------------------------------------------
run_ok "sequence: request list" seq --requests list.txt -o out_seq --format png
expect_files "sequence: exactly the requested files" out_seq "${list_files[@]}"
expect_frames "sequence: each file is its frame (natural order: img_10 after img_9)" 0 out_seq "${list_frames[@]}"
expect_out "sequence: summary counts requests and distinct frames" run.out "8 requests, 5 distinct frames"
expect_out "sequence: each distinct frame decoded once" run.out "5 frames decoded and extracted, 55 skipped"
expect_out "sequence: one file per distinct name" run.out "7 files written"
expect_out "sequence: frames/s in the summary" run.out "frames/s"

printf 'frame,time,name\n12,0.48,twelve.png\n3,0.12,\n' >header.csv
run_ok "sequence: a CSV with a header" seq --requests header.csv -o out_csv --format png
expect_files "CSV: the named and the default-named file" out_csv twelve.png frame_000003.png
expect_frames "CSV: each file is its frame" 0 out_csv twelve.png:12 frame_000003.png:3

printf '5 five.png\n60 sixty.png\n75\n1000\n' >range.txt
run_status "sequence: out-of-range frames exit 1" 1 seq --requests range.txt -o out_range_seq
expect_out "sequence: every missing frame named with the frame count" run.err "frames 60, 75, 1000 requested but seq has 60 frames (0..59)"
expect_files "sequence: the frame that exists is still written" out_range_seq five.png
expect_frames "sequence: and it is the right one" 0 out_range_seq five.png:5

run_ok "sequence: --every 25" seq --every 25 -o out_every_seq --format png -q
expect_files "sequence: --every 25 gives frames 0, 25, 50" out_every_seq frame_000000.png frame_000025.png frame_000050.png
expect_frames "sequence: --every frames are right" 0 out_every_seq frame_000000.png:0 frame_000025.png:25 frame_000050.png:50
if [[ ! -s run.out && ! -s run.err ]]; then ok "-q prints nothing"; else bad "-q printed: $(cat run.out run.err)"; fi

run_status "sequence: --max-frames caps the pass" 1 seq --frame 3 --frame 30 --max-frames 20 -o out_cap_seq --format png
expect_out "--max-frames: the unread frame is named" run.err "frame 30 not read: past --max-frames 20"
expect_files "--max-frames: the frame before the cap is written" out_cap_seq frame_000003.png

# Existing outputs are replaced (atomically), unrelated files are left alone.
mkdir -p out_again && echo old >out_again/frame_000002.png && echo mine >out_again/notes.txt
run_ok "--frame into an existing directory" seq --frame 2 -o out_again --format png
expect_files "existing directory: replaced and kept files" out_again frame_000002.png notes.txt
expect_frames "existing directory: the old file was replaced" 0 out_again frame_000002.png:2

# ---- request-list errors: exit 1, file:line named, nothing decoded or written ----------------------------
printf '1 a.jpg\n\n2 b.jpg extra\n' >bad_fields.txt
printf '# ok\nx\n' >bad_frame.txt
printf '4\n-3\n' >bad_negative.txt
printf '4 sub/dir.jpg\n' >bad_slash.txt
printf '4 anim.gif\n' >bad_ext.txt
printf '4 .hidden.jpg\n' >bad_hidden.txt
printf '4 same.jpg\n5 other.jpg\n6 same.jpg\n' >bad_conflict.txt
printf '4 frame_000005.png\n5\n' >bad_default_conflict.txt
printf '# nothing here\n\n' >bad_empty.txt
printf '\x00\x01binary' >bad_binary.txt
printf 'frame,name\n1\n' >bad_header.csv
mkdir -p a_dir
expect_error "no input, no -o: the input first" 2 "frames: no input: give a video file" out_err
expect_error "a misspelt flag gets a suggestion" 2 "frames: --requsts: unknown option; did you mean --requests?" out_err seq --requsts list.txt -o out_err
expect_error "too many fields" 1 "bad_fields.txt:3: 3 fields" out_err seq --requests bad_fields.txt -o out_err
expect_error "not a number" 1 "bad_frame.txt:2: frame 'x'" out_err seq --requests bad_frame.txt -o out_err
expect_error "negative frame" 1 "bad_negative.txt:2: frame '-3'" out_err seq --requests bad_negative.txt -o out_err
expect_error "name with a slash" 1 "bad_slash.txt:1: name 'sub/dir.jpg'" out_err seq --requests bad_slash.txt -o out_err
expect_error "unknown extension" 1 "bad_ext.txt:1: name 'anim.gif' has extension '.gif'" out_err seq --requests bad_ext.txt -o out_err
expect_error "hidden name" 1 "bad_hidden.txt:1: name '.hidden.jpg'" out_err seq --requests bad_hidden.txt -o out_err
expect_error "one name, two frames" 1 "bad_conflict.txt:3: same.jpg is already the name of frame 4 (bad_conflict.txt:1)" out_err seq --requests bad_conflict.txt -o out_err
expect_error "a name that is another frame's default" 1 "bad_default_conflict.txt:2: frame_000005.png is already the name of frame 4" out_err seq --requests bad_default_conflict.txt -o out_err --format png
expect_error "no requests in the list" 1 "bad_empty.txt: no requests" out_err seq --requests bad_empty.txt -o out_err
expect_error "binary list" 1 "bad_binary.txt:1:" out_err seq --requests bad_binary.txt -o out_err
expect_error "row shorter than its header" 1 "bad_header.csv:2: 1 fields" out_err seq --requests bad_header.csv -o out_err
expect_error "missing list" 1 "nolist.txt: cannot open the request list" out_err seq --requests nolist.txt -o out_err
expect_error "list is a directory" 1 "a_dir: is a directory" out_err seq --requests a_dir -o out_err
# A bad line after good ones in a second list still stops everything before decoding.
expect_error "second list bad" 1 "bad_frame.txt:2:" out_err seq --requests list.txt --requests bad_frame.txt -o out_err

# ---- input and output errors: exit 1 ---------------------------------------------------------------
expect_error "missing input" 1 "nothing_here: no such file or directory" out_err nothing_here --frame 1 -o out_err
expect_error "directory without images" 1 "a_dir: no .jpg, .jpeg or .png files" out_err a_dir --frame 1 -o out_err
echo file >a_file
rc=0
"$TOOL" seq --frame 1 -o a_file/out >run.out 2>run.err || rc=$?
if [[ $rc -eq 1 ]] && grep -qF "a_file/out: cannot create the output directory" run.err; then ok "unusable output directory"; else bad "unusable output directory: exit $rc: $(cat run.err)"; fi

# ---- usage errors: exit 2 -------------------------------------------------------------------------
expect_error "nothing requested" 2 "nothing to extract" out_err seq -o out_err
expect_error "no input" 2 "no input" out_err --frame 1 -o out_err
expect_error "missing -o" 2 "--output" out_err seq --frame 1
expect_error "--frame -1" 2 "--frame -1" out_err seq --frame=-1 -o out_err
expect_error "--frame x" 2 "--frame" out_err seq --frame x -o out_err
expect_error "--every 0" 2 "--every" out_err seq --every 0 -o out_err
expect_error "--every with --frame" 2 "--every" out_err seq --every 5 --frame 3 -o out_err
expect_error "--format gif" 2 "--format" out_err seq --frame 1 --format gif -o out_err
expect_error "--quality 0" 2 "--quality" out_err seq --frame 1 --quality 0 -o out_err
expect_error "--demo with an input" 2 "--demo" out_err seq --demo -o out_err
expect_error "unknown option" 2 "--frobnicate" out_err seq --frame 1 -o out_err --frobnicate

# ---- videos -------------------------------------------------------------------------------------------
if [[ $have_ffmpeg -eq 1 ]]; then
  # Lossless: FFV1 in RGB, so PNG outputs match exactly and JPEGs within JPEG's rounding.
  ffmpeg -nostdin -loglevel error -y -framerate 25 -i seq/img_%d.png -c:v ffv1 -pix_fmt bgr0 clip.mkv
  run_ok "video: request list" clip.mkv --requests list.txt -o out_mkv --format png --encode-workers 2
  expect_files "video: exactly the requested files" out_mkv "${list_files[@]}"
  expect_frames "video: each PNG is exactly its frame" 0 out_mkv "${list_frames[@]}"
  expect_frames "video: the JPEG is its frame" 4 out_mkv seven.jpg:7
  expect_out "video: each distinct frame decoded once" run.out "5 frames decoded and extracted, 55 skipped; 7 files written"

  run_ok "video: --frame, unordered, JPEG by default" clip.mkv --frame 30 --frame 2 --frame 30 -o out_frame --quality 95
  expect_files "video: --frame files" out_frame frame_000002.jpg frame_000030.jpg
  expect_frames "video: --frame files are their frames" 4 out_frame frame_000002.jpg:2 frame_000030.jpg:30

  run_status "video: out-of-range frames exit 1" 1 clip.mkv --requests range.txt -o out_range
  expect_out "video: every missing frame named with the frame count" run.err "frames 60, 75, 1000 requested but clip.mkv has 60 frames (0..59)"
  expect_out "video: says the others were written" run.err "3 of 4 requested frames missing (the 1 found were written)"
  expect_files "video: the frame that exists is written" out_range five.png
  expect_frames "video: and it is the right one" 0 out_range five.png:5

  # Frame 400 of a 60-frame clip: only the frames that exist count as skipped (5 before frame 5,
  # 54 after it), not the 394 the reader passed over past the end; the summary names the missing.
  run_status "video: a frame past the end" 1 clip.mkv --frame 5 --frame 400 -o out_past --format png
  expect_out "video: past the end, skipped counts only existing frames" run.out "1 frames decoded and extracted, 59 skipped; 1 files written; 1 requested frames missing (out of range)"
  expect_out "video: past the end, named with the frame count" run.err "frame 400 requested but clip.mkv has 60 frames (0..59)"
  rate=$(sed -n 's/.*s for the pass (\([0-9.]*\) frames\/s.*/\1/p' run.out)
  secs=$(sed -n 's/^\([0-9.]*\) s for the pass.*/\1/p' run.out)
  if python3 -c "import sys; r, s = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if s == 0 or r <= 60 / max(s - 0.005, 1e-9) * 1.01 else 1)" "$rate" "$secs"; then
    ok "video: past the end, the rate counts the 60 frames that exist"
  else
    bad "video: past the end, rate $rate frames/s over $secs s for a 60-frame clip"
  fi

  run_status "video: --max-frames" 1 clip.mkv --frame 10 --frame 50 --max-frames 40 -o out_cap --format png
  expect_out "video: --max-frames names the frame not read" run.err "frame 50 not read: past --max-frames 40"
  expect_files "video: --max-frames writes the frame under it" out_cap frame_000010.png

  run_ok "video: --every 20" clip.mkv --every 20 -o out_every --format png
  expect_files "video: --every 20 gives frames 0, 20, 40" out_every frame_000000.png frame_000020.png frame_000040.png
  expect_frames "video: --every frames are right" 0 out_every frame_000000.png:0 frame_000020.png:20 frame_000040.png:40

  # Lossy H.264 with B-frames: frames are counted in presentation order, not decoding order.
  encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null || true)
  if [[ $encoders == *libx264* ]]; then
    ffmpeg -nostdin -loglevel error -y -framerate 25 -i seq/img_%d.png -c:v libx264 -bf 3 -crf 12 -pix_fmt yuv420p clip.mp4
    run_ok "H.264: scattered frames" clip.mp4 --requests list.txt -o out_mp4 --format png
    expect_files "H.264: exactly the requested files" out_mp4 "${list_files[@]}"
    expect_frames "H.264: each file is its frame (presentation order)" 6 out_mp4 "${list_frames[@]}" seven.jpg:7
  else
    echo "skip H.264 checks: this ffmpeg has no libx264"
  fi

  run_ok "video: -q" clip.mkv --frame 1 -o out_q -q
  if [[ ! -s run.out && ! -s run.err ]]; then ok "video: -q prints nothing"; else bad "video: -q printed: $(cat run.out run.err)"; fi

  printf 'not a video' >junk.mp4
  expect_error "junk video" 1 "junk.mp4" out_err junk.mp4 --frame 1 -o out_err
  # No ffmpeg on PATH: the message says to install it, and nothing is created.
  rc=0
  env PATH=/nonexistent "$TOOL" clip.mkv --frame 1 -o out_noff >run.out 2>run.err || rc=$?
  if [[ $rc -eq 1 ]] && grep -qF "install ffmpeg" run.err && [[ ! -e out_noff ]]; then ok "no ffmpeg: exit 1, says to install it, creates nothing"; else bad "no ffmpeg: exit $rc: $(cat run.err)"; fi


  # A video whose decoder fails mid-way (an ffmpeg that dies after 3 frames of the pipe): the
  # frames before are written as in a clean run, every requested frame after is listed.
  mkdir -p fakebin
  printf '#!/bin/bash\n"%s" "$@" | head -c $((64 * 48 * 3 * 3))\nexit 1\n' "$(command -v ffmpeg)" >fakebin/ffmpeg
  chmod +x fakebin/ffmpeg
  printf '0 first.png\n7\n13,thirteen.png\n' >list_first3.txt
  run_ok "video: a clean run over the first three requested frames" clip.mkv --requests list_first3.txt -o out_vid_good --format png
  rc=0
  env PATH="$W/fakebin:$PATH" "$TOOL" clip.mkv --requests list.txt -o out_vid_broken --format png >run.out 2>run.err || rc=$?
  if [[ $rc -eq 3 ]]; then ok "video failing mid-way (skip): exit status 3"; else bad "video failing mid-way: exit $rc: $(head -c 400 run.err)"; fi
  rm -f out_vid_broken/seven.jpg  # frame 7's JPEG name, not in the clean run's list
  same_files "video failing mid-way (skip): the frames before, identical to a clean run's" out_vid_good out_vid_broken
  if python3 -c 'import json, sys
f = json.load(open("out_vid_broken/failures.json"))["failures"]
assert [(x["file"], x["stage"], x["reason"].split(":")[0]) for x in f] == [("clip.mkv", "decode", "frame 41"), ("clip.mkv", "decode", "frame 59")], f
assert "the decoder (ffmpeg) failed" in f[0]["reason"]'; then ok "video failing mid-way (skip): every frame after it listed, with why"; else bad "video failing mid-way: $(head -c 400 out_vid_broken/failures.json)"; fi
  rc=0
  env PATH="$W/fakebin:$PATH" "$TOOL" clip.mkv --requests list.txt -o out_vid_stop --format png --on-error stop >run.out 2>run.err || rc=$?
  if [[ $rc -eq 1 ]] && grep -qF "the decoder (ffmpeg) failed" run.err && [[ ! -e out_vid_stop/failures.json ]]; then ok "video failing mid-way (stop): exit 1, named"; else bad "video failing mid-way (stop): exit $rc: $(head -c 400 run.err)"; fi

  # Video shards split the requested frames by count; the union is the whole run.
  run_ok "video: the whole run, for the shards" clip.mkv --requests list.txt -o out_whole --format png
  check_shards "video --shard 1..5 and 7: disjoint, together the whole run's files" out_whole 5 "1 2 3 4 5 7" clip.mkv --requests list.txt --format png
  expect_error "video --every --shard: no list to split" 2 "--every on a video" out_err clip.mkv --every 5 -o out_err --shard 0/2
  on_terminal progress.tty clip.mkv --every 1 -o out_vid_progress || true
  if grep -q "frames/s, ETA" progress.tty; then ok "video --every: progress with rate and ETA"; else bad "video --every progress: $(head -c 300 progress.tty)"; fi

  run_ok "--demo" --demo -o out_demo
  expect_files "--demo writes its five files" out_demo late.jpg frame_000003.jpg middle.png start.jpg last.jpg
  expect_out "--demo summary" run.out "5 requests, 4 distinct frames"
  if cmp -s out_demo/start.jpg out_demo/frame_000003.jpg; then ok "--demo: one frame, two names, same bytes"; else bad "--demo: start.jpg and frame_000003.jpg differ"; fi
else
  echo "skip video checks: ffmpeg/ffprobe not installed (Debian: apt-get install ffmpeg)"
fi

# ---- bad frames (--on-error, --max-failures), --shard, --report, progress (issues 16, 17, 18) --------

# A sequence with one corrupt frame (img_8.png, frame 7; asked for under two names) against a
# clean run over the other requests: the good frames' files are the same bytes.
mkdir -p mixed && cp seq/*.png mixed/ && echo "not a png" >mixed/img_8.png
grep -vE '^7( |$)' list.txt >list_good.txt
run_ok "clean run over the good requests" seq --requests list_good.txt -o out_good --format png
rc=0
"$TOOL" mixed --requests list.txt -o out_mixed --format png --report mixed.json >run.out 2>run.err || rc=$?
if [[ $rc -eq 3 ]]; then ok "corrupt frame (skip): exit status 3"; else bad "corrupt frame (skip): exit $rc: $(head -c 400 run.err)"; fi
same_files "corrupt frame (skip): every good frame's files, identical to the clean run's" out_good out_mixed
failure_is "corrupt frame (skip): failures.json names the file and the stage" out_mixed mixed/img_8.png decode "frame 7: mixed/img_8.png"
expect_out "corrupt frame (skip): the summary counts it" run.out "4 frames decoded and extracted"
expect_out "corrupt frame (skip): stderr lists it" run.err "frames: 1 failed, listed in out_mixed/failures.json"
report_is "corrupt frame (skip): --report counts 5 frames, 1 failed, 5 files" mixed.json 5 1 5
run_status "corrupt frame (stop): exit 1" 1 mixed --requests list.txt -o out_mixed_stop --format png --on-error stop
expect_out "corrupt frame (stop): the message names the file" run.err "mixed/img_8.png"
if [[ ! -e out_mixed_stop/failures.json && ! -e out_mixed_stop/last.png ]]; then ok "corrupt frame (stop): nothing after it, no failures.json"; else bad "corrupt frame (stop): $(ls out_mixed_stop | tr '\n' ' ')"; fi
run_status "corrupt frame, --max-failures 0: exit 1" 1 mixed --requests list.txt -o out_mixed_max --format png --max-failures 0
expect_out "--max-failures 0: says why it stopped" run.err "stopped: more than 0 failures (--max-failures)"
if grep -q '"stopped_on_too_many": true' out_mixed_max/failures.json; then ok "--max-failures 0: failures.json says so"; else bad "--max-failures 0: $(cat out_mixed_max/failures.json)"; fi
run_ok "a clean run over the same directory removes a stale failures.json" seq --requests list.txt -o out_mixed --format png
if [[ ! -e out_mixed/failures.json ]]; then ok "stale failures.json removed"; else bad "stale failures.json kept"; fi

# A write that fails (a directory stands where a.png goes): that frame is listed, the others written.
mkdir -p out_write/a.png
run_status "failed write (skip): exit status 3" 3 seq --requests list.txt -o out_write --format png
failure_is "failed write (skip): failures.json names the output and the stage" out_write out_write/a.png write "out_write/a.png"
if [[ -f out_write/last.png && -f out_write/thirteen.png ]]; then ok "failed write (skip): the other frames are written"; else bad "failed write: $(ls out_write | tr '\n' ' ')"; fi
rm -rf out_write_stop && mkdir -p out_write_stop/a.png
run_status "failed write (stop): exit 1" 1 seq --requests list.txt -o out_write_stop --format png --on-error stop

run_ok "sequence: the whole run, for the shards" seq --requests list.txt -o out_whole --format png --report whole.json
report_is "--report of a clean run: 5 frames, none failed, 7 files" whole.json 5 0 7
check_shards "sequence --shard 1..5 and 7: disjoint, together the whole run's files" out_whole 5 "1 2 3 4 5 7" seq --requests list.txt --format png
rm -rf out_whole && run_ok "sequence --every: the whole run, for the shards" seq --every 7 -o out_whole --format png
check_shards "sequence --every --shard 2, 5, 7: disjoint, together the whole run's files" out_whole 9 "2 5 7" seq --every 7 --format png
run_ok "a shard with no frames" seq --frame 3 -o out_empty_shard --shard 5/7 --report empty.json
expect_out "a shard with no frames says so" run.out "shard 5/7 has no frames to extract"
report_is "a shard with no frames: a report of zero items" empty.json 0 0 0
if [[ ! -e out_empty_shard ]]; then ok "a shard with no frames writes nothing"; else bad "a shard with no frames: $(ls out_empty_shard)"; fi
rc=0
env SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=10 "$TOOL" seq --requests list.txt -o out_auto --format png --shard auto --report auto.json -q >run.out 2>run.err || rc=$?
"$TOOL" seq --requests list.txt -o out_2of3 --format png --shard 2/3 -q || true
if [[ $rc -eq 0 ]] && python3 -c 'import json; assert json.load(open("auto.json"))["run"]["shard"] == {"index": 2, "count": 3}'; then
  same_files "--shard auto under a Slurm array (task 12 of 10..12): shard 2/3" out_2of3 out_auto
else
  bad "--shard auto under Slurm: exit $rc: $(head -c 400 run.err)"
fi
expect_error "--shard 3/3" 2 "--shard '3/3': expected i/n" out_err seq --frame 1 -o out_err --shard 3/3
expect_error "--shard x" 2 "--shard 'x'" out_err seq --frame 1 -o out_err --shard x
rc=0
env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX "$TOOL" seq --frame 1 -o out_err --shard auto >run.out 2>run.err || rc=$?
if [[ $rc -eq 2 ]] && grep -qF "shard auto: neither SLURM_ARRAY_TASK_ID" run.err && [[ ! -e out_err ]]; then ok "--shard auto without a job array: exit 2, says what is missing"; else bad "--shard auto without env: exit $rc: $(cat run.err)"; fi
expect_error "--on-error bad value" 2 "--on-error: retry" out_err seq --frame 1 -o out_err --on-error retry
expect_error "--max-failures negative" 2 "--max-failures" out_err seq --frame 1 -o out_err --max-failures -1

# Progress: one updating line with the rate and ETA on a terminal (script gives frames a pty), none in a pipe.
if command -v script >/dev/null; then
  on_terminal progress.tty seq --every 1 -o out_progress --format png || true
  if grep -q "frames/s, ETA" progress.tty; then ok "progress on a terminal: rate and ETA"; else bad "progress on a terminal: $(head -c 300 progress.tty)"; fi
else
  echo "skip the progress check: no script (util-linux)"
fi
"$TOOL" seq --every 1 -o out_progress2 --format png >run.out 2>run.err
if [[ ! -s run.err ]]; then ok "no progress line without a terminal"; else bad "stderr without a terminal: $(head -c 300 run.err)"; fi
if [[ $(tail -1 run.out) == *"s in all" ]]; then ok "the run ends with its summary line"; else bad "last line: $(tail -1 run.out)"; fi

# ---- nothing half-written anywhere ---------------------------------------------------------------------
leftovers=$(find . -name '.*.tmp-*' -o -name '.frames-probe-*')
if [[ -z $leftovers ]]; then ok "no temporary files left"; else bad "temporary files left: $leftovers"; fi

echo "($((SECONDS - start)) s)"
finish
