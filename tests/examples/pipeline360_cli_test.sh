#!/usr/bin/env bash
# Command-line tests of examples/05_pipeline360: pipeline360_cli_test.sh PATH/TO/pipeline360 WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. Images are read by a small python3 helper written below (PNG and
# JPEG headers, PNG pixels with zlib), so nothing beyond python3's standard library is needed.
# Sizes are small (1024x512 frames, 320x240 views) so that the whole script takes seconds.
set -euo pipefail

TOOL=${1:?usage: pipeline360_cli_test.sh PATH/TO/pipeline360 WORK_DIR}
W=${2:?usage: pipeline360_cli_test.sh PATH/TO/pipeline360 WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# img.py size FILE...        WxH of each PNG or JPEG, from its header
# img.py mask FILE...        for 8-bit gray PNGs holding only 0 and 255: the count of 255s per file;
#                            anything else: "bad: why" and exit status 1
# img.py report FILE K=V...  checks a report.json: stage items (stage:NAME=N) and totals (KEY=N)
cat >img.py <<'EOF'
import json, struct, sys, zlib

def png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    p = 8
    while p < len(data):
        n, kind = struct.unpack(">I4s", data[p:p + 8])
        yield kind, data[p + 8:p + 8 + n]
        p += 12 + n

def size(path):
    data = open(path, "rb").read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        w, h = struct.unpack(">II", data[16:24])
        return f"{w}x{h}"
    p = 2  # JPEG: walk the marker segments to the start of frame
    while p + 9 < len(data) and data[p] == 0xFF:
        marker, length = data[p + 1], struct.unpack(">H", data[p + 2:p + 4])[0]
        if 0xC0 <= marker <= 0xC3:
            h, w = struct.unpack(">HH", data[p + 5:p + 9])
            return f"{w}x{h}"
        p += 2 + length
    return "unreadable"

def gray_pixels(path):
    chunks = list(png_chunks(open(path, "rb").read()))
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if (depth, colour, interlace) != (8, 0, 0):
        raise ValueError(f"depth {depth}, colour type {colour}, interlace {interlace}: not 8-bit single-channel")
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    rows, prev = [], bytearray(w)
    for y in range(h):
        f, line = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a = line[x - 1] if x else 0
            b, c = prev[x], (prev[x - 1] if x else 0)
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return rows

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "size":
    print("\n".join(size(f) for f in args))
elif cmd == "mask":
    for f in args:
        try:
            rows = gray_pixels(f)
        except Exception as e:
            print(f"bad: {f}: {e}"); sys.exit(1)
        values = set().union(*(set(r) for r in rows))
        if not values <= {0, 255}:
            print(f"bad: {f} holds values other than 0 and 255: {sorted(values)[:8]}"); sys.exit(1)
        print(sum(r.count(255) for r in rows))
elif cmd == "report":
    r = json.load(open(args[0]))
    stages = {s["name"]: s for s in r["stages"]}
    for want in ["load", "map", "remap", "segment", "dilate", "save", "encode", "write"]:
        s = stages.get(want)
        if s is None or s["kind"] not in ("io", "compute") or s["busy_seconds"] < 0 or s["waiting_seconds"] < 0:
            print(f"bad: stage {want}: {s}"); sys.exit(1)
    for kv in args[1:]:
        key, value = kv.split("=")
        got = stages[key[6:]]["items"] if key.startswith("stage:") else r[key]
        if got != int(value):
            print(f"bad: {key} is {got}, expected {value}"); sys.exit(1)
    if not (r["views_per_second"] > 0 and r["seconds_per_view"] > 0 and r["peak_rss_bytes"] > 0 and 0 <= r["io_share"] <= 1):
        print("bad: totals: " + json.dumps({k: r[k] for k in ["views_per_second", "seconds_per_view", "peak_rss_bytes", "io_share"]}))
        sys.exit(1)
    print("ok")
EOF

# expect_sizes NAME WxH FILE... : every file is a WxH image.
# (Replaces the harness's expect_sizes: sizes are read by img.py.)
expect_sizes() {
  local name=$1 want=$2 got
  shift 2
  got=$(python3 img.py size "$@" | sort -u | tr '\n' ' ')
  if [[ $got == "$want " ]]; then ok "$name"; else bad "$name: sizes [$got], expected $want"; fi
}

# mask_pixels FILE... : the number of 255 pixels over the files (fails unless every one is a 0/255 gray PNG).
mask_pixels() { python3 img.py mask "$@" | awk '/^bad/ { print; exit 1 } { n += $1 } END { print n + 0 }'; }

start=$SECONDS
small=(--demo-size 1024x512 --size 320x240)

# ---- help and version ------------------------------------------------------------------------
run_ok "--help exits 0" --help
if grep -q -- "--segmenter" run.out && grep -q "Examples:" run.out; then ok "--help lists options and examples"; else bad "--help: $(head -c 300 run.out)"; fi
run_ok "--version exits 0" --version
if grep -qE "^pipeline360 \(vbatch\) [0-9]+\.[0-9]+\.[0-9]+$" run.out; then ok "--version prints the vbatch version"; else bad "--version: $(cat run.out)"; fi

# ---- the demo: 3 frames in batches of 2 -> 24 views and masks, the report --------------------
names=(frame_0000{0..2}_cam_0{0..7})
run_ok "--demo 3 runs" --demo 3 -o demo "${small[@]}" --batch 2 --threads 2
expect_files "--demo writes views/, masks/, demo_frames/ and the report" demo demo_frames masks report.json report.svg views
expect_files "24 views, named by frame and camera" demo/views "${names[@]/%/.jpg}"
expect_files "24 masks, named like the views" demo/masks "${names[@]/%/.png}"
expect_files "3 demo frames" demo/demo_frames frame_0000{0..2}.jpg
expect_sizes "views are 320x240" 320x240 demo/views/*.jpg
expect_sizes "masks are 320x240" 320x240 demo/masks/*.png
expect_sizes "demo frames are 1024x512" 1024x512 demo/demo_frames/*.jpg
if n=$(mask_pixels demo/masks/*.png) && [[ $n -gt 0 ]]; then ok "masks are 0/255 gray PNGs, and the posts are found ($n pixels)"; else bad "masks: $n"; fi
missing=""
for word in stage busy "wait s" share load remap segment dilate save write "views/s" "s/view" "peak RSS" "I/O" report.json; do
  grep -qF -- "$word" run.out || missing+=" '$word'"
done
if [[ -z $missing ]]; then ok "the summary shows the table and the figures"; else bad "the summary lacks$missing: $(cat run.out)"; fi
if [[ $(wc -l <run.out) -le 20 ]]; then ok "the summary is short ($(wc -l <run.out) lines)"; else bad "the summary has $(wc -l <run.out) lines"; fi
if r=$(python3 img.py report demo/report.json frames=3 views=24 masks=24 batches=2 stage:load=3 stage:map=1 stage:remap=2 \
  stage:segment=2 stage:dilate=2 stage:save=2 stage:encode=48 stage:write=48); then ok "report.json: every stage, with its item count"; else bad "report.json: $r"; fi
if grep -q "<svg" demo/report.svg && grep -q "segment (compute)" demo/report.svg && grep -q "</svg>" demo/report.svg; then
  ok "report.svg is a chart of the stages"
else
  bad "report.svg: $(head -c 200 demo/report.svg)"
fi
run_ok "--quiet" --demo 1 -o quiet "${small[@]}" --rig ring:2 --quiet
if [[ ! -s run.out && ! -s run.err ]]; then ok "--quiet prints nothing"; else bad "--quiet printed: $(cat run.out run.err)"; fi

# ---- the segmenter and the dilation ----------------------------------------------------------
# The red post stands at yaw 0: in frame 0 it is in camera 0 (yaw 0), not in camera 4 (yaw 180).
red=(--demo 1 "${small[@]}" --segmenter colour:230,40,40,40 --quiet)
run_ok "colour segmenter, no dilation" "${red[@]}" -o red0 --dilate 0
run_ok "colour segmenter, --dilate 15" "${red[@]}" -o red15 --dilate 15
if n0=$(mask_pixels red0/masks/frame_00000_cam_00.png) && [[ $n0 -gt 0 ]]; then ok "the red post is marked in camera 0 ($n0 pixels)"; else bad "camera 0 mask: $n0"; fi
if n4=$(mask_pixels red0/masks/frame_00000_cam_04.png) && [[ $n4 -eq 0 ]]; then ok "nothing is marked in camera 4"; else bad "camera 4 mask: $n4"; fi
if n15=$(mask_pixels red15/masks/frame_00000_cam_00.png) && [[ $n15 -gt $n0 ]]; then ok "--dilate 15 grows the mask ($n0 -> $n15)"; else bad "dilation: $n0 -> $n15"; fi
if cmp -s red0/views/frame_00000_cam_00.jpg red15/views/frame_00000_cam_00.jpg; then ok "dilation leaves the views alone"; else bad "views differ with --dilate"; fi

# ---- results do not depend on threads or batch sizes -----------------------------------------
common=(--demo 3 "${small[@]}" --rig ring:4 --format png --quiet)
run_ok "1 thread, batch 1, model batch 1" "${common[@]}" -o t1 --threads 1 --batch 1 --model-batch 1
run_ok "2 threads, batch 3, model batch 5" "${common[@]}" -o t2 --threads 2 --batch 3 --model-batch 5 --decode-workers 2 --encode-workers 2
if diff -r t1/masks t2/masks >/dev/null; then ok "identical masks for any threads and batch"; else bad "masks differ between settings"; fi
if diff -r t1/views t2/views >/dev/null; then ok "identical views for any threads and batch"; else bad "views differ between settings"; fi

# ---- real input files ------------------------------------------------------------------------
mkdir -p src
cp demo/demo_frames/frame_00000.jpg src/pano_0007.jpg
cp demo/demo_frames/frame_00002.jpg src/pano_12.jpg
mkdir -p reports
run_ok "a directory of frames" src -o real --rig ring:4 --size 160x120 --format png --json reports/r.json --chart reports/r.svg
expect_files "frame ids from file names (7, 12)" real/views frame_000{07,12}_cam_0{0..3}.png
expect_files "a mask per view" real/masks frame_000{07,12}_cam_0{0..3}.png
expect_sizes "views have --size" 160x120 real/views/*.png
if r=$(python3 img.py report reports/r.json frames=2 views=8 stage:load=2 stage:remap=1 stage:write=16); then ok "--json and --chart paths"; else bad "--json: $r"; fi
if [[ -s reports/r.svg && ! -e real/report.json ]]; then ok "the report goes where --json/--chart say"; else bad "report paths"; fi
run_ok "files as inputs, --rig cube" src/pano_12.jpg src/pano_0007.jpg -o cube --rig cube --size 64x64 --dilate 0
expect_files "six faces per frame" cube/views frame_000{07,12}_cam_0{0..5}.jpg

# ---- errors: the message names the culprit, and nothing is written ---------------------------
echo "not an image" >bad_0001.jpg
head -c 2000 src/pano_0007.jpg >trunc_0003.jpg
cp src/pano_0007.jpg dup_7.jpg
mkdir -p emptydir
echo x >not_a_dir

expect_error "no inputs, no --demo" 2 "no inputs" out -o out
expect_error "--demo with inputs" 2 "--demo" out src --demo -o out
expect_error "--demo 0" 2 "--demo" out --demo 0 -o out
expect_error "no -o" 2 "--output" out --demo
expect_error "bad --size" 2 "--size '0x240'" out --demo -o out --size 0x240
expect_error "bad --size syntax" 2 "--size '320by240'" out --demo -o out --size 320by240
expect_error "bad --demo-size" 2 "--demo-size 'big'" out --demo -o out --demo-size big
expect_error "unknown rig" 2 "--rig 'star:8'" out --demo -o out --rig star:8
expect_error "non-square cube" 2 "--size '320x240'" out --demo -o out --rig cube --size 320x240
expect_error "--fov 180" 2 "--fov 180" out --demo -o out --fov 180
expect_error "unknown segmenter" 2 "--segmenter 'unet'" out --demo -o out --segmenter unet
expect_error "colour out of range" 2 "--segmenter 'colour:300,0,0'" out --demo -o out --segmenter colour:300,0,0
expect_error "saturation out of range" 2 "--segmenter 'saturation:2'" out --demo -o out --segmenter saturation:2
expect_error "--dilate -1" 2 "--dilate" out --demo -o out --dilate -1
expect_error "--format webp" 2 "--format" out --demo -o out --format webp
expect_error "--quality 0" 2 "--quality" out --demo -o out --quality 0
expect_error "--batch 0" 2 "--batch" out --demo -o out --batch 0
expect_error "--threads x" 2 "--threads" out --demo -o out --threads x
expect_error "unknown option" 2 "--frobnicate" out --demo -o out --frobnicate
expect_error "missing input" 1 "missing_0001.jpg" out missing_0001.jpg -o out
expect_error "not an image" 1 "bad_0001.jpg" out bad_0001.jpg -o out
expect_error "a bad frame after good ones" 1 "bad_0001.jpg" out src bad_0001.jpg -o out
expect_error "empty directory" 1 "emptydir" out emptydir -o out
expect_error "two frames with one id" 1 "dup_7.jpg" out src dup_7.jpg -o out
expect_error "output under a regular file" 1 "not_a_dir/out" not_a_dir/out --demo 1 "${small[@]}" -o not_a_dir/out
expect_error "output under /proc" 1 "/proc/pipeline360_cli_test" out --demo 1 "${small[@]}" -o /proc/pipeline360_cli_test
expect_error "--json in a missing directory" 1 "nodir" jsonout --demo 1 "${small[@]}" -o jsonout --json nodir/r.json
if [[ ! -e jsonout ]] || [[ -z $(find jsonout -type f) ]]; then ok "--json in a missing directory: no file written"; else bad "files written: $(find jsonout -type f | head -3)"; fi
if [[ $(id -u) -ne 0 ]]; then
  mkdir -p locked && chmod 555 locked
  expect_error "output directory not writable" 1 "locked" locked --demo 1 "${small[@]}" -o locked
  chmod 755 locked
else
  echo "skip output directory not writable (running as root, permissions do not apply)"
fi
# A frame whose header is fine but whose data is cut fails while decoding: exit 1, naming it.
expect_error "truncated frame" 1 "trunc_0003.jpg" /nonexistent trunc_0003.jpg -o trunc --size 64x48

echo "($((SECONDS - start)) s)"
finish
