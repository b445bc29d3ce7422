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
MODELS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data/models" && pwd)  # the committed test models
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# img.py size FILE...        WxH of each PNG or JPEG, from its header
# img.py mask FILE...        for 8-bit gray PNGs holding only 0 and 255: the count of 255s per file;
#                            anything else: "bad: why" and exit status 1
# img.py report FILE K=V...  checks a report.json: stage items (stage:NAME=N) and totals (KEY=N)
# img.py embedder VIEW...    the class embedder.onnx scores highest on each view (an RGB PNG)
# img.py text DIR            checks the text detector's masks of text_panorama.jpg's four views
# img.py segmenter T BGR (VIEW MASK)...
#                            recomputes tests/data/models/segmenter.onnx's mask of each view (an RGB
#                            PNG) with pipeline360's default preprocessing (BGR=1: channels swapped)
#                            and threshold T, and compares it with MASK: "ok SET" (mask pixels set)
#                            or "bad: why" and exit status 1
cat >img.py <<'EOF'
import json, math, struct, sys, zlib

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

def pixels(path, colour_type=0):
    """The rows of an 8-bit PNG of this colour type (0 gray, 2 RGB), unfiltered, channels interleaved."""
    chunks = list(png_chunks(open(path, "rb").read()))
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if (depth, colour, interlace) != (8, colour_type, 0):
        raise ValueError(f"depth {depth}, colour type {colour}, interlace {interlace}: not 8-bit colour type {colour_type}")
    bpp = 3 if colour_type == 2 else 1
    n = w * bpp
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    rows, prev = [], bytearray(n)
    for y in range(h):
        f, line = raw[y * (n + 1)], bytearray(raw[y * (n + 1) + 1:(y + 1) * (n + 1)])
        for x in range(n):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return rows

def gray_pixels(path):
    return pixels(path, 0)

def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]

def taps(dst, src, dst_size):
    """The two source taps and the second's weight of a bilinear resize (half-pixel centres, edges replicated)."""
    at = ((2 * dst + 1) * src - dst_size) / (2 * dst_size)
    first = math.floor(at)
    weight = at - first
    if first < 0: first, weight = 0, 0.0
    if first >= src - 1: first, weight = src - 1, 0.0
    return first, min(first + 1, src - 1), weight

# The test models (tests/data/models/make_models.py) take 16x16 inputs; their weights are
# sin(0.7 i + offset) * scale as float32.
SIZE = 16

def weights(count, offset, scale):
    return [f32(math.sin(0.7 * i + offset) * scale) for i in range(count)]

def network_input(view, bgr):
    """pipeline360's default preprocessing: the view stretched to 16x16 (bilinear), ImageNet's mean
    and std on [0, 1] values; input[k][y][x]."""
    h, w = len(view), len(view[0]) // 3
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    xs = [taps(x, w, SIZE) for x in range(SIZE)]
    ys = [taps(y, h, SIZE) for y in range(SIZE)]
    planes = []
    for k in range(3):
        ch = 2 - k if bgr else k
        planes.append([[((view[y0][3 * x0 + ch] * (1 - ax) + view[y0][3 * x1 + ch] * ax) * (1 - ay) +
                         (view[y1][3 * x0 + ch] * (1 - ax) + view[y1][3 * x1 + ch] * ax) * ay) / 255 / std[k] - mean[k] / std[k]
                        for x0, x1, ax in xs] for y0, y1, ay in ys])
    return planes

def embedder_class(view):
    """The argmax of embedder.onnx's 8 outputs: 3x3 conv (pad 1) -> relu -> mean -> fully connected."""
    conv_w, conv_b = weights(4 * 3 * 9, 0.0, 0.4), weights(4, 1.0, 0.1)
    fc_w, fc_b = weights(8 * 4, 2.0, 0.8), weights(8, 3.0, 0.2)
    x = network_input(view, False)
    at = lambda k, y, xx: x[k][y][xx] if 0 <= y < SIZE and 0 <= xx < SIZE else 0.0
    pooled = []
    for o in range(4):
        total = 0.0
        for y in range(SIZE):
            for xx in range(SIZE):
                v = conv_b[o] + sum(conv_w[((o * 3 + k) * 3 + i) * 3 + j] * at(k, y + i - 1, xx + j - 1)
                                    for k in range(3) for i in range(3) for j in range(3))
                total += max(v, 0.0)
        pooled.append(total / (SIZE * SIZE))
    scores = [fc_b[c] + sum(fc_w[c * 4 + o] * pooled[o] for o in range(4)) for c in range(8)]
    return max(range(8), key=lambda c: scores[c])

def segmenter_scores(view, bgr):
    """segmenter.onnx's probabilities (1x1 conv -> sigmoid), resized back to the view."""
    h, w, size = len(view), len(view[0]) // 3, SIZE
    conv_w, bias = weights(3, 4.0, 2.0), weights(1, 5.0, 0.5)[0]
    x = network_input(view, bgr)
    net = [[1 / (1 + math.exp(-(bias + sum(conv_w[k] * x[k][y][xx] for k in range(3))))) for xx in range(size)]
           for y in range(size)]
    xs = [taps(x, size, w) for x in range(w)]
    out = []
    for y in range(h):
        y0, y1, ay = taps(y, size, h)
        out.append([(net[y0][x0] * (1 - ax) + net[y0][x1] * ax) * (1 - ay) + (net[y1][x0] * (1 - ax) + net[y1][x1] * ax) * ay
                    for x0, x1, ax in xs])
    return out

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
elif cmd == "segmenter":
    threshold, bgr, pairs = float(args[0]), args[1] == "1", args[2:]
    total = 0
    for view_path, mask_path in zip(pairs[::2], pairs[1::2]):
        scores = segmenter_scores(pixels(view_path, 2), bgr)
        mask = gray_pixels(mask_path)
        if (len(mask), len(mask[0])) != (len(scores), len(scores[0])):
            print(f"bad: {mask_path} is {len(mask[0])}x{len(mask)}, its view {len(scores[0])}x{len(scores)}"); sys.exit(1)
        for y, (srow, mrow) in enumerate(zip(scores, mask)):
            for x, (s, m) in enumerate(zip(srow, mrow)):
                # float32 arithmetic in the tool against float64 here: only scores at the threshold may differ
                if (m == 255) != (s > threshold) and abs(s - threshold) > 1e-4:
                    print(f"bad: {mask_path} ({x},{y}) is {m}, the model scores {s:.6f} (threshold {threshold})"); sys.exit(1)
                total += m == 255
    print(f"ok {total}")
elif cmd == "text":
    # The text detector's masks of the four views of text_panorama.jpg: as many separate bands of
    # marked rows as the sign in view has lines, and (almost) every marked pixel between
    # sign-coloured pixels of its row.
    for cam, want in enumerate([3, 2, 2, 0]):
        view = pixels(f"{args[0]}/views/frame_00000_cam_0{cam}.png", 2)
        mask = gray_pixels(f"{args[0]}/masks/frame_00000_cam_0{cam}.png")
        h, w = len(mask), len(mask[0])
        marked_rows, on_sign, total = [], 0, 0
        for y in range(h):
            sign = [x for x in range(w) if min(view[y][3 * x:3 * x + 3]) >= 225]
            xs = [x for x in range(w) if mask[y][x]]
            total += len(xs)
            on_sign += sum(1 for x in xs if sign and sign[0] < x < sign[-1])
            if xs: marked_rows.append(y)
        lines = sum(1 for i, y in enumerate(marked_rows) if i == 0 or y > marked_rows[i - 1] + 1)
        if lines != want:
            print(f"bad: view {cam}: {lines} bands of text marked, the sign has {want} lines"); sys.exit(1)
        if want and (total < 0.005 * w * h or on_sign < 0.98 * total):
            print(f"bad: view {cam}: {total} pixels marked, {on_sign} of them on the sign"); sys.exit(1)
    print("ok")
elif cmd == "embedder":
    print(" ".join(str(embedder_class(pixels(f, 2))) for f in args))
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
for word in stage busy "wait s" share load remap segment dilate save write "views/s" "s/view" "peak RSS" "I/O" report.json \
  "a stand-in, not a model"; do
  grep -qF -- "$word" run.out || missing+=" '$word'"
done
if [[ -z $missing ]]; then ok "the summary shows the table and the figures"; else bad "the summary lacks$missing: $(cat run.out)"; fi
if [[ $(wc -l <run.out) -le 20 ]]; then ok "the summary is short ($(wc -l <run.out) lines)"; else bad "the summary has $(wc -l <run.out) lines"; fi
if r=$(python3 img.py report demo/report.json frames=3 views=24 masks=24 batches=2 stage:load=3 stage:map=1 stage:remap=2 \
  stage:segment=2 stage:dilate=2 stage:save=2 stage:encode=48 stage:write=48); then ok "report.json: every stage, with its item count"; else bad "report.json: $r"; fi
# peak_memory_bytes: the views' and masks' batch buffers (a batch of 2 frames: 16 views of
# 320x240x3, 16 masks of 320x240), at least one batch's and at most the pools' 4 plus a last one.
if python3 - demo/report.json <<'PY'; then ok "report.json: peak_memory_bytes has the views' and masks' buffers"; else bad "report.json: peak_memory_bytes: $(grep -A3 peak_memory demo/report.json | tr -d '\n ')"; fi
import json, sys
p = json.load(open(sys.argv[1]))["peak_memory_bytes"]
views, masks = 16 * 320 * 240 * 3, 16 * 320 * 240
assert sorted(p) == ["masks", "views"], p
assert views <= p["views"] <= 5 * views and masks <= p["masks"] <= 5 * masks, p
PY
if grep -qE "peak RSS [0-9]+ MiB, views buffers [0-9]+ MiB, masks buffers [0-9]+ MiB" run.out; then ok "the summary gives the buffers' peaks"; else bad "summary: no buffer peaks: $(grep "peak" run.out)"; fi
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
# Shards (issue 18): disjoint parts that together write the unsharded views and masks.
mkdir -p src3 && cp demo/demo_frames/frame_0000{0,1,2}.jpg src3/
"$TOOL" src3 -o ref3 --rig ring:4 --size 64x48 --format png --threads 1 --quiet
check_shards "--shard i/n, n = 1..4 and 7: disjoint, together the unsharded views and masks" ref3 3 "1 2 3 4 7" \
  src3 --rig ring:4 --size 64x48 --format png --threads 1
if [[ $(json_get shards_1/0.json '"%(items)d %(failed)d %(done)d %(outputs)d" % j["run"]') == "3 0 3 24" ]]; then
  ok "report.json's run block: 3 frames done, 24 files"
else bad "report.json run block: $(json_get shards_1/0.json 'j["run"]')"; fi
on_terminal term.out --demo 2 -o term "${small[@]}" --rig ring:2
if grep -q "\[2/2 frames\] [0-9.]* frames/s, ETA [0-9:]*  4 views" term.out; then ok "progress line with rate and ETA on a terminal"; else bad "progress on a terminal: $(tr '\r' '\n' <term.out | head -5)"; fi
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
expect_error "no inputs, no -o: the inputs first" 2 "pipeline360: no inputs: give frames" out
expect_error "a misspelt flag gets a suggestion" 2 "pipeline360: --dilat: unknown option; did you mean --dilate?" out --demo -o out --dilat=5
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
expect_error "not an image" 1 "bad_0001.jpg" out bad_0001.jpg -o out --on-error stop
expect_error "a bad frame after good ones" 1 "bad_0001.jpg" out src bad_0001.jpg -o out --on-error stop
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
expect_error "truncated frame" 1 "trunc_0003.jpg" /nonexistent trunc_0003.jpg -o trunc --size 64x48 --on-error stop

# ---- --on-error skip (the default): bad frames are listed, every good frame's files are written --
mkdir -p mixed && cp src/* mixed/ && cp trunc_0003.jpg bad_0001.jpg mixed/
"$TOOL" src -o clean --size 64x48 --rig ring:4 --quiet
for args in "--threads 1 --batch 1" "--threads 2 --batch 3"; do
  out="skip_${args// /_}"
  rc=0
  # shellcheck disable=SC2086
  "$TOOL" mixed -o "$out" --size 64x48 --rig ring:4 $args >run.out 2>run.err || rc=$?
  if [[ $rc -eq 3 ]]; then ok "mixed frames ($args): exit status 3"; else bad "mixed frames ($args): exit $rc: $(head -c 300 run.err)"; fi
  if [[ $(json_get "$out/report.json" '"%(items)d %(failed)d %(done)d" % j["run"]') == "4 2 2" &&
    $(json_get "$out/report.json" 'len(j["failures"])') == 2 ]]; then ok "mixed frames ($args): report.json counts 4 frames, 2 failed"
  else bad "mixed frames ($args): report.json run: $(json_get "$out/report.json" 'j["run"]')"; fi
  if diff -r clean/views "$out/views" >/dev/null && diff -r clean/masks "$out/masks" >/dev/null; then
    ok "mixed frames ($args): every good frame's views and masks, identical to a clean run's"
  else
    bad "mixed frames ($args): views or masks differ from a clean run's"
  fi
  if python3 - "$out/failures.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = {(x["file"], x["stage"]): x["reason"] for x in j["failures"]}
assert j["failed"] == 2 and len(f) == 2, j
assert "truncated" in f[("mixed/trunc_0003.jpg", "decode")], f
assert "not a readable image" in f[("mixed/bad_0001.jpg", "read")], f
PY
  then ok "mixed frames ($args): failures.json names both frames and why"; else bad "mixed frames ($args): $(cat "$out/failures.json")"; fi
done

# ---- a video straight in (issue 14): decoded once by ffmpeg, no intermediate images --------------
if grep -q -- "--every" <("$TOOL" --help); then ok "--help lists the video's frame selection"; else bad "--help: no --every"; fi
if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
  # A lossless 10 fps clip of 7 frames (FFV1, RGB) and the same frames written by ffmpeg as PNGs:
  # the views and masks from the video must be those from the images, byte for byte.
  mkdir -p vid/png vid/every3 vid/time
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=128x64:rate=10 -frames:v 7 -c:v ffv1 -pix_fmt bgr0 vid/clip.mkv
  ffmpeg -nostdin -loglevel error -y -i vid/clip.mkv -start_number 0 vid/png/frame_%d.png
  cp vid/png/frame_{0,3,6}.png vid/every3/ && cp vid/png/frame_{3,4,5}.png vid/time/
  vid=(--size 24x16 --rig ring:2 --format png --dilate 3 --segmenter saturation:0.3)
  vnames=(frame_0000{0,3,6}_cam_0{0,1}.png)
  same() { diff -r -x '*.json' -x '*.svg' "$1" "$2" >/dev/null; }
  "$TOOL" vid/every3 -o vid_ref3 "${vid[@]}" --quiet
  "$TOOL" vid/time -o vid_reft "${vid[@]}" --quiet
  run_ok "a video: --every 3" vid/clip.mkv -o vid_every --every 3 "${vid[@]}" --threads 2 --batch 2
  expect_files "a video, --every 3: frames 0, 3, 6, two views each" vid_every/views "${vnames[@]}"
  if same vid_ref3 vid_every && n=$(mask_pixels vid_every/masks/*.png) && [[ $n -gt 0 ]]; then
    ok "a video, --every 3: views and masks identical to those of the frames as PNGs ($n mask pixels set)"
  else bad "a video, --every 3: outputs differ from the PNGs' ($(ls vid_every/views | tr '\n' ' '))"; fi
  if r=$(python3 img.py report vid_every/report.json stage:load=3 stage:map=1 frames=3 views=6) &&
    [[ $(json_get vid_every/report.json '"%(items)d %(failed)d %(done)d %(outputs)d" % j["run"]') == "3 0 3 12" ]]; then
    ok "a video: the report counts 3 frames loaded, one map, 12 files"
  else bad "a video: report: $r $(json_get vid_every/report.json 'j["run"]')"; fi
  run_ok "a video: --frame 6 --frame 0 --frame 3" vid/clip.mkv -o vid_frames --frame 6 --frame 0 --frame 3 "${vid[@]}" --threads 1 --batch 1
  if same vid_ref3 vid_frames; then ok "a video, --frame: the frames named, identical views and masks"; else bad "a video, --frame: $(ls vid_frames/views | tr '\n' ' ')"; fi
  run_ok "a video: --time 0.3:0.6" vid/clip.mkv -o vid_time --time 0.3:0.6 "${vid[@]}"
  if same vid_reft vid_time; then ok "a video, --time 0.3:0.6 at 10 fps: frames 3, 4, 5"; else bad "a video, --time: $(ls vid_time/views | tr '\n' ' ')"; fi
  check_shards "a video, --shard i/n: disjoint, together the unsharded views and masks" vid_ref3 3 "1 2 3" \
    vid/clip.mkv --every 3 "${vid[@]}"
  expect_error "a video: a frame past the end" 1 "vid/clip.mkv: frame 9 is past the end of the video (7 frames: 0 to 6)" out vid/clip.mkv -o out --frame 9
  expect_error "a video: a time range past the end" 1 "no frames selected" out vid/clip.mkv -o out --time 5:6
  expect_error "a video: bad --time" 2 "--time 0.6:0.3" out vid/clip.mkv -o out --time 0.6:0.3
  expect_error "a video and an image" 2 "a video must be pipeline360's only input" out vid/clip.mkv src/pano_0007.jpg -o out
  expect_error "--every on images" 2 "select frames of a video" out src -o out --every 2
  expect_error "--every on the demo" 2 "select frames of a video" out --demo 1 -o out --every 2
  echo "not a video" >vid/junk.mp4
  expect_error "a file that is neither image nor video" 1 "vid/junk.mp4" out vid/junk.mp4 -o out
  # A decoder that dies after 3 frames: under skip, the frames never delivered are listed one by
  # one (stage decode) and the others' views and masks are written, exit 3; under stop, exit 1
  # naming the decoder. With --batch 2 the failure cuts the batch of frames 2 and 3 short: frame 2
  # arrives alone.
  mkdir -p fakebin
  printf '#!/bin/bash\n"%s" "$@" | head -c $((128 * 64 * 3 * 3))\nexit 1\n' "$(command -v ffmpeg)" >fakebin/ffmpeg
  chmod +x fakebin/ffmpeg
  rc=0
  env PATH="$PWD/fakebin:$PATH" "$TOOL" vid/clip.mkv -o vid_broken "${vid[@]}" --batch 2 >run.out 2>run.err || rc=$?
  if [[ $rc -eq 3 ]] && python3 - vid_broken/failures.json vid_broken/report.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
files = sorted(f["file"] for f in j["failures"])
assert files == ["vid/clip.mkv frame %d" % i for i in range(3, 7)], files
assert all(f["stage"] == "decode" and "ffmpeg" in f["reason"] for f in j["failures"]), j
run = json.load(open(sys.argv[2]))["run"]
assert (run["items"], run["failed"], run["done"], run["outputs"]) == (7, 4, 3, 12), run
PY
  then ok "a video failing mid-way (skip): frames 3 to 6 listed, exit 3"; else bad "a video failing mid-way: exit $rc: $(head -c 400 vid_broken/failures.json 2>/dev/null) $(head -c 300 run.err)"; fi
  expect_files "a video failing mid-way (skip): the delivered frames' views, no others" vid_broken/views frame_0000{0,1,2}_cam_0{0,1}.png
  if cmp -s vid_broken/views/frame_00000_cam_00.png vid_ref3/views/frame_00000_cam_00.png &&
    cmp -s vid_broken/masks/frame_00000_cam_01.png vid_ref3/masks/frame_00000_cam_01.png; then
    ok "a video failing mid-way (skip): the delivered frames' views and masks are the PNGs'"
  else bad "a video failing mid-way (skip): frame 0's outputs differ"; fi
  rc=0
  env PATH="$PWD/fakebin:$PATH" "$TOOL" vid/clip.mkv -o vid_stop "${vid[@]}" --on-error stop >run.out 2>run.err || rc=$?
  if [[ $rc -eq 1 ]] && grep -qF "ffmpeg" run.err; then ok "a video failing mid-way (stop): exit 1, names the decoder"; else bad "a video failing mid-way (stop): exit $rc: $(head -c 300 run.err)"; fi
else
  echo "skip video checks: ffmpeg/ffprobe not installed (Debian: apt-get install ffmpeg)"
fi

# ---- an ONNX model instead of the stand-in (--model onnx:) ------------------------------------
# tests/data/models/segmenter.onnx: (N,3,16,16) -> 1x1 conv -> sigmoid (N,1,16,16); it marks dark
# pixels. embedder.onnx: (N,3,16,16) -> (N,8), an 8-class model whose score maps are 1x1.
seg=(--model "onnx:$MODELS/segmenter.onnx" --model-input 3x16x16)
mdemo=(--demo 2 --demo-size 1024x512 --size 96x64 --rig ring:4 --format png --dilate 0)
"$TOOL" "${mdemo[@]}" -q -o probe "${seg[@]}" >run.out 2>run.err || true
dnn=1
if grep -q "built without OpenCV's dnn module" run.err; then
  dnn=0
  # A build without OpenCV: --model onnx: says so, and nothing else of this section applies.
  expect_error "--model onnx: without OpenCV dnn says so" 1 "built without OpenCV's dnn module" nodnn "${mdemo[@]}" -o nodnn "${seg[@]}"
  echo "skip the model runs (this pipeline360 was built without OpenCV's dnn module)"
else
  mviews=(frame_0000{0,1}_cam_0{0..3}.png)
  pairs() { for f in "${mviews[@]}"; do echo "$1/views/$f" "$1/masks/$f"; done; }
  run_ok "--model onnx: prints what ran" "${mdemo[@]}" -o m3 "${seg[@]}" --model-batch 3
  if grep -qF "masks (onnx model $MODELS/segmenter.onnx" run.out && ! grep -q "stand-in" run.out; then
    ok "the summary names the model, not the stand-in"
  else
    bad "summary: $(head -c 400 run.out)"
  fi
  expect_files "a mask per view" m3/masks "${mviews[@]}"
  expect_sizes "masks have the view's size, not the network's" 96x64 m3/masks/*.png
  # shellcheck disable=SC2046
  if r=$(python3 img.py segmenter 0.5 0 $(pairs m3)) && n=${r#ok } && [[ $n -gt 0 && $n -lt $((8 * 96 * 64)) ]]; then
    ok "masks are what segmenter.onnx computes on each view, resized to the view ($n pixels set)"
  else
    bad "masks against the model: $r"
  fi
  if python3 -c 'import json, sys
text = json.load(open(sys.argv[1]))["settings"]["segmenter"]
sys.exit(0 if sys.argv[2] in text and "input 3x16x16" in text and "channel 0 probability > 0.5" in text else 1)' \
    m3/report.json "$MODELS/segmenter.onnx"; then
    ok "report.json names the model file, its input and the mask rule"
  else
    bad "report.json segmenter: $(grep '"segmenter":' m3/report.json)"
  fi
  run_ok "--model onnx: model batch 1, 1 thread" "${mdemo[@]}" -q -o m1 "${seg[@]}" --model-batch 1 --threads 1
  if diff -r m1/masks m3/masks >/dev/null; then ok "model masks do not depend on the model batch or threads"; else bad "model masks differ between model batches"; fi
  # The threshold, the channel order and logits reach the mask.
  run_ok "--model-mask prob:0,0.9" "${mdemo[@]}" -q -o m90 "${seg[@]}" --model-mask prob:0,0.9
  # shellcheck disable=SC2046
  if r=$(python3 img.py segmenter 0.9 0 $(pairs m90)) && [[ ${r#ok } -lt $n ]]; then ok "prob:0,0.9 keeps scores above 0.9 (${r#ok } pixels)"; else bad "prob:0,0.9: $r"; fi
  run_ok "--model-bgr" "${mdemo[@]}" -q -o mbgr "${seg[@]}" --model-bgr
  # shellcheck disable=SC2046
  if r=$(python3 img.py segmenter 0.5 1 $(pairs mbgr)) && ! diff -r mbgr/masks m3/masks >/dev/null; then
    ok "--model-bgr swaps the channels the model sees"
  else
    bad "--model-bgr: $r"
  fi
  run_ok "--model-mask logit:0,0.5" "${mdemo[@]}" -q -o mlogit "${seg[@]}" --model-mask logit:0,0.5
  if diff -r mlogit/masks m3/masks >/dev/null; then ok "logit:0,0.5 thresholds the same map as prob:0,0.5"; else bad "logit:0,0.5 differs from prob:0,0.5"; fi
  # argmax over embedder.onnx's 8 classes: every view is all foreground for its one winning class,
  # and the cube's faces (sky, floor, sides) do not all win the same class.
  for k in {0..7}; do
    "$TOOL" --demo 1 --demo-size 1024x512 --size 32x32 --rig cube --format png --dilate 0 --quiet -o "arg$k" \
      --model "onnx:$MODELS/embedder.onnx" --model-input 3x16x16 --model-mask "argmax:$k" >run.out 2>run.err ||
      bad "argmax:$k: $(head -c "$excerpt" run.err)"
  done
  argmax_ok=1 classes=""
  expected=" $(python3 img.py embedder arg0/views/frame_00000_cam_0{0..5}.png)"
  for cam in 0{0..5}; do
    wins=0
    for k in {0..7}; do
      set_pixels=$(mask_pixels "arg$k/masks/frame_00000_cam_$cam.png") || set_pixels=-1
      case $set_pixels in
        0) ;;
        $((32 * 32))) wins=$((wins + 1)) classes+=" $k" ;;
        *) argmax_ok=0 ;;
      esac
    done
    [[ $wins -eq 1 ]] || argmax_ok=0
  done
  if [[ $argmax_ok -eq 1 && $classes == "$expected" && $(tr ' ' '\n' <<<"$classes" | grep . | sort -u | wc -l) -ge 2 ]]; then
    ok "argmax:K: each face is all foreground for the class embedder.onnx scores highest (classes:$classes)"
  else
    bad "argmax masks: classes [$classes], expected [$expected], one per face and not all the same"
  fi

  # Errors: named, exit 2 for the command line and 1 for the file, and nothing written.
  echo "not a model" >broken.onnx
  expect_error "--model without onnx:" 2 "--model 'seg.onnx'" mout "${mdemo[@]}" -o mout --model seg.onnx --model-input 3x16x16
  expect_error "--model onnx: without a path" 2 "--model 'onnx:'" mout "${mdemo[@]}" -o mout --model onnx: --model-input 3x16x16
  expect_error "--model without --model-input" 2 "--model-input" mout "${mdemo[@]}" -o mout --model "onnx:$MODELS/segmenter.onnx"
  expect_error "--model-input 3x16" 2 "--model-input '3x16'" mout "${mdemo[@]}" -o mout --model "onnx:$MODELS/segmenter.onnx" --model-input 3x16
  expect_error "--model-input 1x16x16" 2 "--model-input '1x16x16'" mout "${mdemo[@]}" -o mout --model "onnx:$MODELS/segmenter.onnx" --model-input 1x16x16
  expect_error "--model-input 3x0x16" 2 "--model-input '3x0x16'" mout "${mdemo[@]}" -o mout --model "onnx:$MODELS/segmenter.onnx" --model-input 3x0x16
  expect_error "--model-mean with two numbers" 2 "--model-mean '0.5,0.5'" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-mean 0.5,0.5
  expect_error "--model-std 0" 2 "--model-std '0,1,1'" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-std 0,1,1
  expect_error "--model-scale 0" 2 "--model-scale 0" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-scale 0
  expect_error "--model-mask prob:0,2" 2 "--model-mask 'prob:0,2'" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-mask prob:0,2
  expect_error "--model-mask soft:0" 2 "--model-mask 'soft:0'" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-mask soft:0
  expect_error "--model-mask argmax:1.5" 2 "--model-mask 'argmax:1.5'" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-mask argmax:1.5
  expect_error "a channel the model does not have" 2 "--model-mask: channel 1" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-mask prob:1
  expect_error "argmax of a one-channel model" 2 "--model-mask argmax:0" mout "${mdemo[@]}" -o mout "${seg[@]}" --model-mask argmax:0
  expect_error "--model with --segmenter" 2 "--segmenter" mout "${mdemo[@]}" -o mout "${seg[@]}" --segmenter saturation:0.5
  expect_error "--model-mask without --model" 2 "--model" mout "${mdemo[@]}" -o mout --model-mask prob:0
  expect_error "missing model file" 1 "missing.onnx" mout "${mdemo[@]}" -o mout --model onnx:missing.onnx --model-input 3x16x16
  expect_error "corrupt model file" 1 "broken.onnx" mout "${mdemo[@]}" -o mout --model onnx:broken.onnx --model-input 3x16x16
fi

# ---- a real pretrained model: PaddleOCR's text detector on a panorama with signs ---------------
# $VBATCH_TEXT_MODEL (scripts/setup.sh; PP-OCRv4's detector rewritten for OpenCV 4.6) on
# tests/data/images/text_panorama.jpg: signs with 3, 2 and 2 lines of text ahead, to the right and
# behind (across the seam), shapes and bars but no text to the left. Four 90-degree views.
if [[ $dnn -eq 1 && -n ${VBATCH_TEXT_MODEL:-} && -f ${VBATCH_TEXT_MODEL:-} ]]; then
  mkdir -p pano && cp "$MODELS/../images/text_panorama.jpg" pano/
  text=(pano --rig ring:4 --size 640x480 --format png --dilate 0 --model "onnx:$VBATCH_TEXT_MODEL" --model-input 3x480x640
        --model-mean 0.5,0.5,0.5 --model-std 0.5,0.5,0.5 --model-bgr --model-mask prob:0,0.3)
  run_ok "text detector: a real model on a real flow" "${text[@]}" -q -o text4 --model-batch 4
  if r=$(python3 img.py text text4); then
    ok "text detector: every line of text marked in each view, only on the signs, none in the view without text"
  else
    bad "text detector masks: $r"
  fi
  run_ok "text detector: model batch 1" "${text[@]}" -q -o text1 --model-batch 1
  if diff -r text1/masks text4/masks >/dev/null; then ok "text detector: masks do not depend on the model batch"; else bad "text detector: masks differ between model batches 1 and 4"; fi
else
  echo "note: no text detector model (scripts/setup.sh puts it in place): the real-model checks do not apply"
fi

echo "($((SECONDS - start)) s)"
finish
