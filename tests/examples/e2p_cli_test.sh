#!/usr/bin/env bash
# Command-line tests of examples/01_e2p: e2p_cli_test.sh PATH/TO/e2p WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. Inputs are made here from the tool's own --demo output, and image
# sizes are read from the PNG/JPEG headers with od and awk, so nothing beyond coreutils is needed.
set -euo pipefail

TOOL=${1:?usage: e2p_cli_test.sh PATH/TO/e2p WORK_DIR}
W=${2:?usage: e2p_cli_test.sh PATH/TO/e2p WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
hard="$(cd "$(dirname "${BASH_SOURCE[0]}")/../data/py360convert_hard" && pwd)"  # py360convert views (--precision)
rm -rf "$W" && mkdir -p "$W"
cd "$W"

start=$SECONDS

# ---- help and version ------------------------------------------------------------------------
run_ok "--help exits 0" --help
if grep -q -- "--rig" run.out; then ok "--help lists the options"; else bad "--help lists the options"; fi
run_ok "--version exits 0" --version
if grep -qE "^e2p \(vbatch\) [0-9]+\.[0-9]+\.[0-9]+$" run.out; then ok "--version prints the vbatch version"; else bad "--version: $(cat run.out)"; fi

# ---- the demo --------------------------------------------------------------------------------
views=(frame_00000_cam_0{0..7}.jpg)
run_ok "--demo runs" --demo -o demo --size 64x48
expect_files "--demo writes 8 views and the panorama" demo demo_equirect.jpg "${views[@]}"
expect_sizes "--demo views are 64x48" 64x48 "${views[@]/#/demo/}"
expect_sizes "--demo panorama is 4096x2048" 4096x2048 demo/demo_equirect.jpg
if grep -q "8 views" run.out && grep -q "s/view" run.out && grep -q "load" run.out; then ok "summary on stdout"; else bad "summary on stdout: $(cat run.out)"; fi
if ! grep -q "ETA" run.err; then ok "no progress line in a log (stderr not a terminal)"; else bad "progress in a log: $(cat run.err)"; fi
on_terminal term.out --demo -o demo_term --size 64x48
if grep -q "\[1/1 frames\] [0-9.]* frames/s, ETA [0-9:]*  8 views" term.out; then ok "progress line with rate and ETA on a terminal"; else bad "progress on a terminal: $(tr '\r' '\n' <term.out | head -5)"; fi
on_terminal term.out --demo -o demo_term --size 64x48 -q
if ! grep -q "ETA" term.out; then ok "-q: no progress line on a terminal"; else bad "-q shows progress: $(head -c 300 term.out)"; fi

run_ok "--demo --cube --layout dice runs" --demo -o dice --cube --layout dice --size 16 --format png --quiet
expect_files "--cube --layout dice writes one image per frame" dice demo_equirect.jpg frame_00000_cube.png
expect_sizes "dice layout is 4w x 3w" 64x48 dice/frame_00000_cube.png
if [[ ! -s run.out && ! -s run.err ]]; then ok "--quiet prints nothing"; else bad "--quiet printed: $(cat run.out run.err)"; fi

# Small input frames made from the demo's views (any image is a valid equirectangular source).
mkdir -p src
cp demo/frame_00000_cam_00.jpg src/pano_0007.jpg
cp demo/frame_00000_cam_01.jpg src/pano_10.jpg
"$TOOL" --demo -o small --size 32x24 --format png --quiet
cp small/frame_00000_cam_02.png src/pano_9.png  # a different size: its own batch and map
cp src/pano_0007.jpg plain.jpg

# ---- cube faces, cameras, frame ids ----------------------------------------------------------
run_ok "--cube writes six faces" src/pano_0007.jpg -o cube --cube --size 16 --format png
expect_files "--cube faces are cam 00..05" cube frame_00007_cam_0{0..5}.png
expect_sizes "--cube faces are 16x16" 16x16 cube/*.png
run_ok "--cube --layout horizon" src/pano_0007.jpg -o horizon --cube --layout horizon --size 8 --format png
expect_sizes "horizon layout is 6w x w" 48x8 horizon/frame_00007_cube.png

run_ok "--camera (repeatable, negative yaw)" src/pano_0007.jpg -o cams --camera=-90,0,0,90 --camera 90,10,5,60,40 --size 40x30 --format png
expect_files "--camera writes one view per camera" cams frame_00007_cam_00.png frame_00007_cam_01.png
expect_sizes "--camera views have --size" 40x30 cams/*.png

cat >cameras.json <<'EOF'
{"width": 24, "height": 20, "convention": "360toolkit",
 "cameras": [{"yaw": 0, "pitch": 10, "hfov": 90}, {"yaw": 120, "pitch": -10, "roll": 5, "hfov": 100, "vfov": 80},
             {"yaw": 240}]}
EOF
run_ok "--cameras FILE.json" src/pano_0007.jpg -o json --cameras cameras.json --format png
expect_files "--cameras writes one view per camera" json frame_00007_cam_0{0..2}.png
expect_sizes "--cameras takes width/height from the file" 24x20 json/*.png
run_ok "--size overrides the file's size" src/pano_0007.jpg -o json2 --cameras cameras.json --size 12x10 --format png
expect_sizes "--cameras with --size" 12x10 json2/*.png

run_ok "a directory of frames of two sizes" src -o ids --size 16x12 --rig ring:2 --format png --batch 2
expect_files "frame ids from file names (7, 9, 10)" ids frame_000{07,09,10}_cam_0{0,1}.png
expect_sizes "every view has --size" 16x12 ids/*.png
run_ok "a name without digits is frame 0" plain.jpg -o plain --rig ring:1 --size 8x8
expect_files "plain.jpg -> frame_00000" plain frame_00000_cam_00.jpg
run_ok "--rig rings3:2 --interp bicubic --map rays" src/pano_10.jpg -o rings --rig rings3:2 --size 8x8 --interp bicubic --map rays
expect_files "rings3:2 writes 6 views" rings frame_00010_cam_0{0..5}.jpg

# Results do not depend on threads or batch size.
run_ok "1 thread, batch 1" src -o t1 --size 16x12 --format png --threads 1 --batch 1 --map float
run_ok "2 threads, batch 3" src -o t2 --size 16x12 --format png --threads 2 --batch 3 --map float
if diff -r t1 t2 >/dev/null; then ok "identical views for any threads and batch"; else bad "views differ between thread/batch settings"; fi
# Shards (issue 18): for any n, disjoint parts that together write the unsharded views.
check_shards "--shard i/n, n = 1..5 and 7: disjoint, together the unsharded views" t1 3 "1 2 3 4 5 7" \
  src --size 16x12 --format png --threads 1 --batch 1 --map float
# --colmap (issue 14): a COLMAP text model and views.json listing every view, with poses that
# are the rig's rotations (ring:4: yaw 0, 90, 180, 270 about the vertical), the same in every shard.
run_ok "--colmap" src -o colmap --size 16x12 --format png --rig ring:4 --fov 80 --colmap
if python3 - colmap <<'PY' >py.err 2>&1; then ok "--colmap: cameras.txt, images.txt, views.json: every view written, poses = the rig's yaws, intrinsics from --fov"; else bad "--colmap: $(tail -c 400 py.err)"; fi
import json, math, os, sys
d = sys.argv[1]
rows = lambda f: [l.split() for l in open(os.path.join(d, "colmap", f)) if l.strip() and not l.startswith("#")]
cams = rows("cameras.txt")
f = 8 / math.tan(math.radians(40))  # W/2 / tan(hfov/2)
assert len(cams) == 4, cams
for k, c in enumerate(cams):
    assert c[:4] == [str(k + 1), "PINHOLE", "16", "12"], c
    fx, fy, cx, cy = map(float, c[4:])
    assert abs(fx - f) < 1e-9 and abs(fy - f) < 1e-9 and (cx, cy) == (8.0, 6.0), c  # COLMAP: centres at +0.5
images = rows("images.txt")
names = sorted(x for x in os.listdir(d) if x.endswith(".png"))
assert sorted(i[9] for i in images) == names and len(names) == 12, (images, names)
views = json.load(open(os.path.join(d, "views.json")))
assert [v["name"] for v in views["views"]] == [i[9] for i in images]
for i in images:
    k = int(i[8]) - 1
    assert i[9].endswith("_cam_%02d.png" % k) and i[5:8] == ["0", "0", "0"], i
    w, x, y, z = map(float, i[1:5])
    yaw = math.radians(90 * k)  # cam_from_world of a camera turned right by yaw: y-down axis, -yaw
    want = (math.cos(yaw / 2), 0, -math.sin(yaw / 2), 0)
    want = want if want[0] >= 0 else tuple(-v for v in want)
    assert all(abs(a - b) < 1e-12 for a, b in zip((w, x, y, z), want)), (i, want)
    assert views["cameras"][k]["quaternion_wxyz"] == [w, x, y, z]
    assert abs(views["cameras"][k]["cx"] - 7.5) < 1e-12  # views.json: centres at integers
PY
for i in 0 1; do run_ok "--colmap --shard $i/2" src -o "colmap_$i" --size 16x12 --format png --rig ring:4 --fov 80 --colmap --shard "$i/2"; done
if diff -r colmap/colmap colmap_0/colmap >/dev/null && diff -r colmap/colmap colmap_1/colmap >/dev/null && cmp -s colmap/views.json colmap_1/views.json; then
  ok "--colmap under --shard: every shard writes the whole run's model"
else bad "--colmap under --shard: the shards' models differ from the unsharded one"; fi
expect_error "--colmap with a cube layout" 2 "--colmap: poses are per view" out_colmap src -o out_colmap --cube --layout dice --colmap
# --by-camera: COLMAP's rig layout (cam_KK/frame_ID.ext, the same name under every camera), the
# same pixels as the flat names, and a rig_config.json whose rotations take camera 0 into camera k.
run_ok "--by-camera --colmap" src -o by_camera --size 16x12 --format png --rig ring:4 --fov 80 --colmap --by-camera
if python3 - colmap by_camera <<'PY' >py.err 2>&1; then ok "--by-camera: views in cam_KK/, same bytes, images.txt names them, rig_config.json turns camera 0 into each"; else bad "--by-camera: $(tail -c 400 py.err)"; fi
import filecmp, json, math, os, sys
flat, d = sys.argv[1], sys.argv[2]
flat_views = sorted(x for x in os.listdir(flat) if x.endswith(".png"))
for name in flat_views:  # frame_ID_cam_KK.png -> cam_KK/frame_ID.png
    frame, cam = name[:-4].split("_cam_")
    assert filecmp.cmp(os.path.join(flat, name), os.path.join(d, "cam_" + cam, frame + ".png"), shallow=False), name
frames = [sorted(os.listdir(os.path.join(d, "cam_%02d" % k))) for k in range(4)]
assert all(f == frames[0] for f in frames) and len(frames[0]) * 4 == len(flat_views), frames
images = [l.split() for l in open(os.path.join(d, "colmap", "images.txt")) if l.strip() and not l.startswith("#")]
assert all(i[9] == "cam_%02d/%s" % (int(i[8]) - 1, i[9].split("/")[1]) for i in images), images
rig = json.load(open(os.path.join(d, "colmap", "rig_config.json")))
cams = rig[0]["cameras"]
assert [c["image_prefix"] for c in cams] == ["cam_%02d/" % k for k in range(4)], cams
assert cams[0]["ref_sensor"] is True and "cam_from_rig_rotation" not in cams[0]
for k in range(1, 4):  # ring:4: camera k is camera 0 turned right by 90 k degrees about the vertical
    yaw = math.radians(90 * k)
    want = (math.cos(yaw / 2), 0, -math.sin(yaw / 2), 0)
    want = want if want[0] >= 0 else tuple(-v for v in want)
    assert all(abs(a - b) < 1e-12 for a, b in zip(cams[k]["cam_from_rig_rotation"], want)), (k, cams[k])
    assert cams[k]["cam_from_rig_translation"] == [0, 0, 0] and cams[k]["camera_model_name"] == "PINHOLE"
PY
expect_error "--by-camera with a cube layout" 2 "--by-camera: views go to one directory per camera" out_by_camera src -o out_by_camera --cube --layout dice --by-camera
# Balanced by pixels: two 32x24 frames then a 64x48 one (768, 768, 3072 pixels). By count shard
# 0/2 would take the first frame alone; by pixels it takes both small ones, shard 1/2 the large one.
mkdir -p by_cost
cp src/pano_9.png by_cost/pano_1.png
cp src/pano_9.png by_cost/pano_2.png
cp src/pano_0007.jpg by_cost/pano_3.jpg
run_ok "--shard 0/2 of frames of unequal sizes" by_cost -o cost0 --size 16x12 --format png --shard 0/2
run_ok "--shard 1/2 of frames of unequal sizes" by_cost -o cost1 --size 16x12 --format png --shard 1/2
if [[ $(ls cost0 | grep -c 'frame_0000[12]_cam') == 16 && $(ls cost1 | grep -c 'frame_00003_cam') == 8 && $(ls cost0 cost1 | grep -c cam) == 24 ]]; then
  ok "--shard balances by pixels: the two small frames against the large one"
else bad "shards by pixels: 0/2 [$(ls cost0 | tr '\n' ' ')] 1/2 [$(ls cost1 | tr '\n' ' ')]"; fi
rc=0
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=1 "$TOOL" src -o slurm --size 16x12 --format png \
  --threads 1 --batch 1 --map float --shard auto --report slurm.json >run.out 2>run.err || rc=$?
if [[ $rc -eq 0 ]] && diff -r shards_2/1 slurm >/dev/null && [[ $(json_get slurm.json '"%(index)d/%(count)d" % j["run"]["shard"]') == 1/2 ]]; then
  ok "--shard auto in a Slurm array task (ids 1-2) takes shard 1/2"
else bad "--shard auto (Slurm): exit $rc $(head -c 300 run.err) $(ls slurm 2>/dev/null | head -3)"; fi
rc=0
JOB_COMPLETION_INDEX=0 VBATCH_SHARD_COUNT=2 "$TOOL" src -o k8s --size 16x12 --format png --threads 1 --batch 1 --map float \
  --shard auto >run.out 2>run.err || rc=$?
if [[ $rc -eq 0 ]] && diff -r shards_2/0 k8s >/dev/null; then ok "--shard auto in a Kubernetes Indexed Job takes its index"
else bad "--shard auto (Kubernetes): exit $rc $(head -c 300 run.err)"; fi
if [[ $(json_get shards_1/0.json 'j["run"]["outputs"]') == 24 && $(json_get shards_1/0.json 'j["run"]["failed"]') == 0 &&
  $(json_get shards_1/0.json 'j["run"]["tool"]') == e2p && $(json_get shards_1/0.json '"decode" in j["run"]["stage_seconds"]') == True ]]; then
  ok "--report: the run block counts outputs and times the stages"
else bad "--report: $(head -c 600 shards_1/0.json)"; fi
run_ok "--batch auto" src -o tauto --size 16x12 --format png --threads 2 --batch auto --map float
if diff -r t1 tauto >/dev/null; then ok "--batch auto gives the same views"; else bad "--batch auto views differ"; fi
if grep -q "batches: up to" run.out; then ok "the summary says how large the batches were"; else bad "no batch line: $(cat run.out)"; fi
run_ok "--decode-workers 1 --encode-workers 3 --prefetch 1" src -o tworkers --size 16x12 --format png --threads 2 --batch 1 \
  --map float --decode-workers 1 --encode-workers 3 --prefetch 1
if diff -r t1 tworkers >/dev/null; then ok "identical views for any worker counts"; else bad "views differ with other worker counts"; fi

# ---- --resume: skip exactly the finished outputs, redo missing, truncated and corrupt ones ------
cp -r t1 resumed
rm resumed/frame_00009_cam_00.png                               # missing
head -c 60 t1/frame_00010_cam_01.png >resumed/frame_00010_cam_01.png  # truncated
echo "garbage" >resumed/frame_00007_cam_00.png                 # corrupt
inode_before=$(stat -c %i resumed/frame_00007_cam_01.png)
run_ok "--resume" src -o resumed --size 16x12 --format png --threads 2 --map float --resume
if diff -r t1 resumed >/dev/null; then ok "--resume restores every output"; else bad "--resume left outputs that differ"; fi
if [[ $(stat -c %i resumed/frame_00007_cam_01.png) == "$inode_before" ]]; then ok "--resume leaves complete outputs untouched"; else bad "--resume rewrote a complete output"; fi
if grep -q "resume: 21 views already complete, 0 frames skipped" run.out; then ok "--resume counts what it skipped"; else bad "--resume summary: $(cat run.out)"; fi
run_ok "--resume with everything done" src -o resumed --size 16x12 --format png --threads 2 --map float --resume
if grep -q "resume: 24 views already complete, 3 frames skipped" run.out && grep -q "^0 frames -> 0 views" run.out; then
  ok "--resume of a finished run decodes nothing"
else
  bad "--resume of a finished run: $(cat run.out)"
fi
mkdir -p resized && cp t1/frame_00009_cam_00.png resized/ && cp small/frame_00000_cam_00.png resized/frame_00009_cam_01.png
run_ok "--resume redoes an output of the wrong size" src/pano_9.png -o resized --size 16x12 --format png --map float --resume
if cmp -s resized/frame_00009_cam_01.png t1/frame_00009_cam_01.png; then ok "--resume replaced the wrong-sized view"; else bad "--resume kept a wrong-sized view"; fi

# ---- errors: the message names the culprit, and no output file appears ---------------------
echo "not an image" >src_bad.jpg
head -c 400 src/pano_0007.jpg >trunc_0001.jpg
: >empty_0001.png
mkdir -p emptydir
cp src/pano_0007.jpg dup_1.jpg
cp src/pano_0007.jpg dup_01.jpg
cp src/pano_0007.jpg nodigits.jpg
cp src/pano_0007.jpg other_0.jpg
echo '{"cameras": [{"yaw": 0, "hfov": 90},]}' >syntax.json
echo '{"cameras": [{"yaw": 0, "fov": 90}]}' >typo.json
echo '{"cameras": [{"yaw": 0, "hfov": 190}]}' >wide.json
echo 'x' >not_a_dir

expect_error "missing input" 1 "missing_0001.jpg" out missing_0001.jpg -o out
# A bad frame under --on-error stop (under skip, the default, see the next section).
expect_error "corrupt input" 1 "src_bad.jpg" out src_bad.jpg -o out --on-error stop
expect_error "truncated JPEG" 1 "trunc_0001.jpg: truncated" out trunc_0001.jpg -o out --size 8x8 --on-error stop
expect_error "empty file" 1 "empty_0001.png" out empty_0001.png -o out --on-error stop
expect_error "image over --max-pixels" 1 "exceeds the limit" out src/pano_0007.jpg -o out --max-pixels 100 --on-error stop
expect_error "empty directory" 1 "emptydir" out emptydir -o out
expect_error "no inputs, no --demo" 2 "no inputs" out -o out
# Nothing at all: the inputs are named first (CLI11's ->required() said "--output is required").
expect_error "no inputs, no -o: the inputs first" 2 "e2p: no inputs: give frames" out
expect_error "inputs but no -o" 2 "e2p: --output is required" out src/pano_0007.jpg
expect_error "a misspelt flag gets a suggestion" 2 "e2p: --outptu: unknown option; did you mean --output?" out src/pano_0007.jpg --outptu out
expect_error "a misspelt flag=value gets a suggestion" 2 "--thread: unknown option; did you mean --threads?" out src/pano_0007.jpg -o out --thread=2
expect_error "two inputs with one frame id" 1 "dup_1.jpg and dup_01.jpg" out dup_1.jpg dup_01.jpg -o out
expect_error "no digits and a collision" 1 "cannot derive a frame id from nodigits.jpg" out nodigits.jpg other_0.jpg -o out
expect_error "NaN angle" 2 "--camera '0,nan,0,90'" out src/pano_0007.jpg -o out --camera 0,nan,0,90
expect_error "FOV 0" 2 "--camera '0,0,0,0'" out src/pano_0007.jpg -o out --camera 0,0,0,0
expect_error "--fov 180" 2 "--fov 180" out src/pano_0007.jpg -o out --fov 180
expect_error "--vfov -5" 2 "--vfov -5" out src/pano_0007.jpg -o out --vfov -5
expect_error "--pitch nan" 2 "--pitch nan" out src/pano_0007.jpg -o out --pitch nan
expect_error "--camera syntax" 2 "--camera '1,2,3'" out src/pano_0007.jpg -o out --camera 1,2,3
expect_error "zero size" 2 "--size '0x48'" out src/pano_0007.jpg -o out --size 0x48
expect_error "negative size" 2 "--size '-64x48'" out src/pano_0007.jpg -o out --size=-64x48
expect_error "bad --size syntax" 2 "--size '64by48'" out src/pano_0007.jpg -o out --size 64by48
expect_error "non-square cube face" 2 "--size '64x48'" out src/pano_0007.jpg -o out --cube --size 64x48
expect_error "unknown rig" 2 "--rig 'star:8'" out src/pano_0007.jpg -o out --rig star:8
expect_error "unknown convention" 2 "--convention: opencv" out src/pano_0007.jpg -o out --convention opencv
expect_error "unknown interp" 2 "--interp: cubic" out src/pano_0007.jpg -o out --interp cubic
expect_error "unknown format" 2 "--format: webp" out src/pano_0007.jpg -o out --format webp
expect_error "unknown map" 2 "--map: table" out src/pano_0007.jpg -o out --map table
expect_error "--layout without --cube" 2 "--layout dice" out src/pano_0007.jpg -o out --layout dice
expect_error "unknown option" 2 "--frobnicate" out src/pano_0007.jpg -o out --frobnicate
expect_error "--quality 0" 2 "--quality" out src/pano_0007.jpg -o out --quality 0
expect_error "--batch 0" 2 "--batch" out src/pano_0007.jpg -o out --batch 0
expect_error "--shard 2/2" 2 "shard '2/2'" out src/pano_0007.jpg -o out --shard 2/2
expect_error "--shard x" 2 "shard 'x'" out src/pano_0007.jpg -o out --shard x
expect_error "--shard auto outside a job array" 2 "--shard auto: neither SLURM_ARRAY_TASK_ID" out src/pano_0007.jpg -o out --shard auto
SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0 \
  expect_error "--shard auto with an inconsistent Slurm task id" 2 "SLURM_ARRAY_TASK_ID=4 does not fit" out src/pano_0007.jpg -o out --shard auto
expect_error "--batch many" 2 "--batch" out src/pano_0007.jpg -o out --batch many
expect_error "--on-error bad value" 2 "--on-error: retry" out src/pano_0007.jpg -o out --on-error retry
expect_error "--max-failures negative" 2 "--max-failures" out src/pano_0007.jpg -o out --max-failures -1
expect_error "missing camera file" 1 "nofile.json" out src/pano_0007.jpg -o out --cameras nofile.json
expect_error "camera file: bad JSON" 1 "syntax.json: not valid JSON" out src/pano_0007.jpg -o out --cameras syntax.json
expect_error "camera file: unknown key" 1 "typo.json: cameras[0]: unknown key \"fov\"" out src/pano_0007.jpg -o out --cameras typo.json
expect_error "camera file: FOV 190" 1 "wide.json: cameras[0]" out src/pano_0007.jpg -o out --cameras wide.json
expect_error "output under a regular file" 1 "not_a_dir/views" not_a_dir/views src/pano_0007.jpg -o not_a_dir/views
expect_error "output directory is a file" 1 "not_a_dir" out src/pano_0007.jpg -o not_a_dir
expect_error "output under /proc" 1 "/proc/e2p_cli_test" out src/pano_0007.jpg -o /proc/e2p_cli_test
# Under --on-error stop, a bad frame anywhere in the list stops the run before any work when its header shows it.
expect_error "corrupt frame after good ones" 1 "src_bad.jpg" out src src_bad.jpg -o out --on-error stop

# ---- --on-error skip (the default): bad frames are listed, every good frame's views are written ----
# Six frames, a truncated JPEG in the middle (its header is fine: it fails while decoding) and
# one that is not an image at all (it fails on its header).
mkdir -p mixed good
for i in 1 2 3 4 5 6; do cp demo/frame_00000_cam_0$i.jpg mixed/frame_$i.jpg; done
cp mixed/frame_{1,2,5,6}.jpg good/
head -c 700 mixed/frame_3.jpg >mixed/frame_3.jpg.cut && mv mixed/frame_3.jpg.cut mixed/frame_3.jpg
echo "not an image" >mixed/frame_4.jpg
"$TOOL" good -o clean --size 24x16 --threads 2 --quiet
for args in "--threads 1 --batch 1" "--threads 2 --batch 3"; do
  rc=0
  # shellcheck disable=SC2086
  "$TOOL" mixed -o "skip_${args// /_}" --size 24x16 $args --report "skip_${args// /_}.json" >run.out 2>run.err || rc=$?
  out="skip_${args// /_}"
  if [[ $(json_get "$out.json" '"%(items)d %(failed)d %(done)d %(outputs)d" % j["run"]') == "6 2 4 32" &&
    $(json_get "$out.json" 'len(j["failures"])') == 2 ]]; then
    ok "mixed folder ($args): --report counts 6 frames, 2 failed, 4 done, 32 views"
  else bad "mixed folder ($args): --report: $(head -c 400 "$out.json")"; fi
  if [[ $rc -eq 3 ]]; then ok "mixed folder ($args): exit status 3"; else bad "mixed folder ($args): exit $rc: $(head -c "$excerpt" run.err)"; fi
  if diff <(ls clean) <(ls "$out" | grep -v '^failures.json$') >/dev/null; then
    ok "mixed folder ($args): every good frame's views, nothing else"
  else
    bad "mixed folder ($args): $(ls "$out" | tr '\n' ' ')"
  fi
  same=1
  for f in clean/*; do cmp -s "$f" "$out/$(basename "$f")" || same=0; done
  if [[ $same -eq 1 ]]; then ok "mixed folder ($args): views identical to a clean run's"; else bad "mixed folder ($args): views differ from a clean run's"; fi
  if python3 - "$out/failures.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = {(x["file"], x["stage"]): x["reason"] for x in j["failures"]}
assert j["failed"] == 2 and len(f) == 2 and not j["stopped_on_too_many"], j
assert "truncated" in f[("mixed/frame_3.jpg", "decode")], f
assert "not a readable image" in f[("mixed/frame_4.jpg", "read")], f
PY
  then ok "mixed folder ($args): failures.json names both frames and why"; else bad "mixed folder ($args): failures.json: $(cat "$out/failures.json")"; fi
  if grep -q "2 failed, listed in" run.err && grep -q "frame_3.jpg: truncated" run.err; then
    ok "mixed folder ($args): the summary lists the failures"
  else
    bad "mixed folder ($args): summary: $(head -c "$excerpt" run.err)"
  fi
done
rc=0
"$TOOL" mixed -o maxed --size 24x16 --max-failures 1 --threads 1 --batch 1 --quiet >run.out 2>run.err || rc=$?
if [[ $rc -eq 1 ]] && grep -q "stopped: more than 1 failures" run.err && grep -q '"stopped_on_too_many": true' maxed/failures.json; then
  ok "--max-failures 1: the second failure stops the run (exit 1)"
else
  bad "--max-failures 1: exit $rc: $(head -c "$excerpt" run.err)"
fi
if [[ ! -e maxed/frame_00006_cam_00.jpg ]]; then ok "--max-failures 1: no frame after the stop"; else bad "--max-failures 1: frame 6 was still processed"; fi
# Mend the frames and resume: only the missing views are made, and the stale failures.json goes.
cp good/frame_1.jpg mixed/frame_3.jpg && cp good/frame_2.jpg mixed/frame_4.jpg
run_ok "--resume after the frames are mended" mixed -o "skip_--threads_1_--batch_1" --size 24x16 --resume --threads 1
if [[ ! -e "skip_--threads_1_--batch_1/failures.json" ]] && grep -q "resume: 32 views already complete, 4 frames skipped" run.out; then
  ok "--resume made the two mended frames' views and removed failures.json"
else
  bad "--resume after mending: $(cat run.out)"
fi
# A full disk (a file size limit: every view of 16x16 random-ish content needs more than 1 KB as PNG):
# every write fails, named, with no partial file; --max-failures stops the run early.
rc=0
(trap '' XFSZ; ulimit -f 1; exec "$TOOL" good -o full --size 96x64 --format png --max-failures 3 --threads 1 --batch 1 --quiet) \
  >run.out 2>run.err || rc=$?
if [[ $rc -eq 1 ]] && grep -q "stopped: more than 3 failures" run.err && grep -q '"stage": "write"' full/failures.json 2>/dev/null; then
  ok "full disk: the writes fail, listed with their files, and the run stops (exit 1)"
else
  bad "full disk: exit $rc: $(head -c "$excerpt" run.err) $(ls full 2>/dev/null | head -3)"
fi
if [[ -z $(find full -name '*.png' -o -name '.*tmp*' | head -1) ]]; then ok "full disk: no partial view, no temporary"; else bad "full disk: left $(ls -A full | head -5 | tr '\n' ' ')"; fi

# ---- --precision (issue 14): exact bilinear within 1 level of py360convert on hard content --------
# tests/data/py360convert_hard: a sharp checkerboard zoomed in 5.6 times, py360convert's (scipy)
# views. ffmpeg decodes the PNGs to raw RGB for the comparison (no Python imaging module needed).
if command -v ffmpeg >/dev/null; then
  for case in "zoom_a 7.3,3.1,0,20,15" "zoom_roll 101.1,-37.4,27,20,15" "zoom_seam 180,-4.2,0,20,15"; do
    read -r name cam <<<"$case"
    for map in fixed float rays; do
      for precision in fast exact; do
        "$TOOL" "$hard/checker.png" -o "prec_${name}_${map}_$precision" --convention py360convert --camera="$cam" --size 160x120 \
          --format png --map $map --precision $precision --quiet
      done
    done
    if python3 - "$hard/e2p_${name}_bilinear.png" prec_"${name}"_{fixed,float,rays}_{fast,exact}/frame_00000_cam_00.png <<'PY' >py.out 2>&1
import subprocess, sys
def rgb(path):
    return subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          check=True, capture_output=True).stdout
ref = rgb(sys.argv[1])
views = {"_".join(path.split("/")[0].rsplit("_", 2)[1:]): rgb(path) for path in sys.argv[2:]}  # "fixed_fast", ...
worst = {k: max(abs(a - b) for a, b in zip(v, ref)) for k, v in views.items()}
print(worst)
assert all(len(v) == len(ref) for v in views.values())
# exact: within 1 level on float maps and on rays (the fixed map keeps 1/128-pixel points: 2).
assert all(v <= (2 if "fixed" in k or "fast" in k else 1) for k, v in worst.items()), worst
# The flag reaches the kernel: fast and exact differ on float maps.
assert views["float_fast"] != views["float_exact"], "--precision changed nothing"
PY
    then ok "--precision exact, $name: within 1 level of py360convert on float and ray maps; fast within 2"
    else bad "--precision, $name: $(tail -c 400 py.out)"; fi
  done
fi
expect_error "unknown precision" 2 "--precision: double" out src/pano_0007.jpg -o out --precision double

# ---- EXIF (issue 14): views keep the frame's camera, time and place, with their own focal length --
# exiftool (Debian: libimage-exiftool-perl) writes the frame's tags and reads the views' back.
if command -v exiftool >/dev/null; then
  mkdir -p exif_src
  cp src/pano_0007.jpg exif_src/pano_0007.jpg
  exiftool -q -overwrite_original -Make=Ricoh "-Model=RICOH THETA Z1" "-DateTimeOriginal=2026:05:01 10:20:30" \
    -GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E "-Orientation#=6" -FocalLength=2.6 \
    -LensModel=fisheye exif_src/pano_0007.jpg
  run_ok "a frame with EXIF" exif_src -o exif_views --rig ring:4 --fov 80 --size 64x48
  if python3 - exif_views <<'PY' >py.out 2>&1; then ok "EXIF: every view names the camera, time and place, with its own focal length (80 deg: 21.45 mm), size and orientation; no lens"; else bad "EXIF: $(tail -c 400 py.out)"; fi
import json, math, subprocess, sys
views = ["%s/frame_00007_cam_%02d.jpg" % (sys.argv[1], k) for k in range(4)]
tags = json.loads(subprocess.run(["exiftool", "-j", "-n"] + views, check=True, capture_output=True, text=True).stdout)
focal = 18 / math.tan(math.radians(40))
for t in tags:
    assert t["Make"] == "Ricoh" and t["Model"] == "RICOH THETA Z1", t
    assert t["DateTimeOriginal"] == "2026:05:01 10:20:30", t
    assert abs(t["GPSLatitude"] - 48.8584) < 1e-6 and abs(t["GPSLongitude"] - 2.2945) < 1e-6, t
    assert abs(t["FocalLength"] - focal) < 1e-3 and t["FocalLengthIn35mmFormat"] == round(focal), t
    assert abs(t["FocalLength"] * t["FocalPlaneXResolution"] / 10 - 32 / math.tan(math.radians(40))) < 1e-6, t  # f in pixels
    assert t["ExifImageWidth"] == 64 and t["ExifImageHeight"] == 48 and t["Orientation"] == 1, t
    assert "LensModel" not in t, t
PY
  if [[ -z $(exiftool -validate -warning -a -q exif_views/frame_00007_cam_00.jpg 2>&1 | grep -v "^ *Validate *: *OK" || true) ]]; then
    ok "EXIF: exiftool -validate finds nothing wrong"
  else bad "EXIF: $(exiftool -validate -warning -a exif_views/frame_00007_cam_00.jpg 2>&1 | head -5)"; fi
  run_ok "--no-exif" exif_src -o exif_none --rig ring:4 --fov 80 --size 64x48 --no-exif
  if [[ -z $(exiftool -s3 -Make -FocalLength exif_none/frame_00007_cam_00.jpg) ]]; then
    ok "--no-exif: no EXIF tags"
  else bad "--no-exif: $(exiftool -s -Make exif_none/frame_00007_cam_00.jpg)"; fi
  # The pixels are the same with or without the EXIF block (ffmpeg decodes both).
  if command -v ffmpeg >/dev/null && cmp -s <(ffmpeg -nostdin -loglevel error -i exif_views/frame_00007_cam_02.jpg -f rawvideo -pix_fmt rgb24 -) \
    <(ffmpeg -nostdin -loglevel error -i exif_none/frame_00007_cam_02.jpg -f rawvideo -pix_fmt rgb24 -); then
    ok "EXIF: the views' pixels are those without it"
  else bad "EXIF: the pixels differ with the EXIF block"; fi
  # A corrupt EXIF block (its IFD offset past the end): a warning naming the file, views without EXIF.
  python3 - exif_src/pano_0007.jpg exif_bad/pano_0008.jpg <<'PY'
import os, sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"Exif\0\0") + 6  # the TIFF header: byte order, 42, then the offset of IFD0
b[i + 4:i + 8] = (0x7fffff00).to_bytes(4, "little" if b[i] == 0x49 else "big")
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
open(sys.argv[2], "wb").write(b)
PY
  run_ok "a frame with corrupt EXIF" exif_bad -o exif_bad_views --rig ring:2 --size 32x24
  if grep -qF "pano_0008.jpg: corrupt EXIF" run.err && [[ -z $(exiftool -s3 -Make exif_bad_views/frame_00008_cam_00.jpg) ]]; then
    ok "corrupt EXIF: a warning naming the file; the views are written without EXIF"
  else bad "corrupt EXIF: $(head -c 300 run.err)"; fi
  # A Photo Sphere pose (GPano XMP, written by exiftool): heading 90 (east), pitch 10, roll -5.
  # The views' poses turn with it: camera 0 looks at the panorama's centre, so east and 10 degrees
  # up, and its right-hand axis rises (a negative roll turns the horizon clockwise in the image).
  mkdir -p gpano_src
  cp src/pano_0007.jpg gpano_src/pano_0007.jpg
  cp src/pano_10.jpg gpano_src/pano_10.jpg
  exiftool -q -overwrite_original -XMP-GPano:ProjectionType=equirectangular -XMP-GPano:PoseHeadingDegrees=90 \
    -XMP-GPano:PosePitchDegrees=10 -XMP-GPano:PoseRollDegrees=-5 gpano_src/pano_0007.jpg
  run_ok "--colmap with a GPano pose" gpano_src -o gpano_views --rig ring:4 --fov 80 --size 16x12 --format png --colmap
  if python3 - gpano_views <<'PY' >py.out 2>&1; then ok "GPano pose: camera 0 of the posed frame looks east 10 deg up, rolled; the other frame keeps the panorama's frame; views.json agrees"; else bad "GPano pose: $(tail -c 400 py.out)"; fi
import json, math, os, sys
d = sys.argv[1]
lines = [l.split() for l in open(os.path.join(d, "colmap", "images.txt")) if l.strip() and not l.startswith("#")]
def rot(w, x, y, z):  # cam_from_world; its rows are the camera's axes in the world
    return [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]]
pose = {l[9]: rot(*map(float, l[1:5])) for l in lines}
r = pose["frame_00007_cam_00.png"]  # COLMAP world: x east, y down, z north
close = lambda a, b: all(abs(u - v) < 1e-9 for u, v in zip(a, b))
assert close(r[2], [math.cos(math.radians(10)), -math.sin(math.radians(10)), 0]), r[2]
assert abs(r[0][1] - (-math.sin(math.radians(5)) * math.cos(math.radians(10)))) < 1e-9, r[0]
assert close(pose["frame_00010_cam_00.png"][2], [0, 0, 1]), "a frame without GPano faces +z"
views = {v["name"]: v for v in json.load(open(os.path.join(d, "views.json")))["views"]}
assert views["frame_00007_cam_01.png"]["frame_pose_deg"] == [90, 10, -5], views["frame_00007_cam_01.png"]
assert views["frame_00010_cam_01.png"]["frame_pose_deg"] is None
for l in lines:
    assert close(views[l[9]]["cam_from_world_wxyz"], list(map(float, l[1:5]))), l
PY
else
  echo "skip EXIF checks: exiftool not installed (Debian: apt-get install libimage-exiftool-perl)"
fi

# ---- dual-fisheye frames in (issue 14): --dual-fisheye FILE.json ----------------------------------
# A 192x96 frame of two 200-degree equidistant lenses (the second turned 180 degrees) whose every
# pixel holds the colour 128 + 120 * (x, y, z) of its direction, written here from the lens model
# alone; every view pixel must then hold the colour of its own ray (pinhole geometry, also written
# out here), within what bilinear sampling of the rounded field allows.
mkdir -p dfe_src
python3 - dfe_src/dual_0003.png dfe.json <<'PY'
import json, math, struct, sys, zlib
S = 96
W, H, R, fov = 2 * S, S, S / 2, 200
f = R / math.radians(fov / 2)
rows = b""
for v in range(H):
    row = bytearray(b"\0")
    for u in range(W):
        lens = u // S
        dx, dy = u - (lens * S + (S - 1) / 2), (S - 1) / 2 - v
        rho = math.hypot(dx, dy)
        if rho > R:
            row += bytes(3)
            continue
        t = rho / f
        lx, ly, lz = (math.sin(t) * dx / rho, math.sin(t) * dy / rho, math.cos(t)) if rho else (0.0, 0.0, 1.0)
        d = (lx, ly, lz) if lens == 0 else (-lx, ly, -lz)  # yaw 180 about the vertical
        row += bytes(round(128 + 120 * c) for c in d)
    rows += bytes(row)
chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
lens = lambda cx, **more: dict(model="equidistant", centre=[cx, (S - 1) / 2], radius=R, fov=fov, **more)
json.dump({"width": W, "height": H, "lenses": [lens((S - 1) / 2), lens(S + (S - 1) / 2, yaw=180)]}, open(sys.argv[2], "w"))
PY
run_ok "--dual-fisheye" dfe_src -o dfe_views --dual-fisheye dfe.json --rig ring:4 --fov 90 --size 40x30 --format png
if python3 - dfe_views <<'PY' >py.out 2>&1; then ok "--dual-fisheye: every view pixel holds its ray's colour (both lenses, the seams between them)"; else bad "--dual-fisheye: $(tail -c 400 py.out)"; fi
import math, struct, sys, zlib
def read_png(path):  # 8-bit RGB, as vbatch writes it (filters 0-4)
    b = open(path, "rb").read()
    w, h = struct.unpack(">II", b[16:24])
    data, i = b"", 8
    while i < len(b):
        n, kind = struct.unpack(">I", b[i:i + 4])[0], b[i + 4:i + 8]
        data += b[i + 8:i + 8 + n] if kind == b"IDAT" else b""
        i += 12 + n
    raw, out, prev = zlib.decompress(data), [], bytearray(3 * w)
    for y in range(h):
        ft, line = raw[y * (3 * w + 1)], bytearray(raw[y * (3 * w + 1) + 1:(y + 1) * (3 * w + 1)])
        for x in range(3 * w):
            a, up = line[x - 3] if x >= 3 else 0, prev[x]
            c = prev[x - 3] if x >= 3 else 0
            p = a + up - c
            pred = [0, a, up, (a + up) // 2, a if abs(p - a) <= abs(p - up) and abs(p - a) <= abs(p - c) else up if abs(p - up) <= abs(p - c) else c][ft]
            line[x] = (line[x] + pred) & 255
        out.append(line)
        prev = line
    return w, h, out
worst, total, n = 0, 0, 0
for k in range(4):
    w, h, img = read_png("%s/frame_00003_cam_%02d.png" % (sys.argv[1], k))
    fx, yaw = 0.5 * w / math.tan(math.radians(45)), math.radians(90 * k)
    for y in range(h):
        for x in range(w):
            rx, ry, rz = (x - (w - 1) / 2) / fx, -(y - (h - 1) / 2) / fx, 1.0
            norm = math.sqrt(rx * rx + ry * ry + rz * rz)
            d = (math.cos(yaw) * rx + math.sin(yaw) * rz, ry, -math.sin(yaw) * rx + math.cos(yaw) * rz)
            for c in range(3):
                err = abs(img[y][3 * x + c] - (128 + 120 * d[c] / norm))
                worst, total, n = max(worst, err), total + err, n + 1
assert worst < 3 and total / n < 0.8, (worst, total / n)
print(worst, total / n)
PY
cp src/pano_0007.jpg dfe_src/other_0004.jpg
rc=0; "$TOOL" dfe_src -o dfe_mixed --dual-fisheye dfe.json --rig ring:2 --size 16x12 >run.out 2>run.err || rc=$?
if [[ $rc -eq 3 ]] && grep -qF "other_0004.jpg" dfe_mixed/failures.json && grep -qF "describes 192x96 frames" dfe_mixed/failures.json && [[ -f dfe_mixed/frame_00003_cam_01.jpg ]]; then
  ok "--dual-fisheye: a frame of another size is listed, naming both sizes; the others are written"
else bad "--dual-fisheye, a frame of another size: exit $rc: $(head -c 300 run.err) $(head -c 300 dfe_mixed/failures.json 2>/dev/null)"; fi
echo '{"width": 192, "height": 96, "lenses": [{"model": "equidistant", "centre": [47.5, 47.5], "radius": 48, "fov": 200}]}' >dfe_one.json
expect_error "--dual-fisheye with one lens" 1 "dfe_one.json" out_dfe dfe_src -o out_dfe --dual-fisheye dfe_one.json
expect_error "--dual-fisheye with --demo" 2 "--dual-fisheye: --demo renders an equirectangular panorama" out_dfe --demo -o out_dfe --dual-fisheye dfe.json

# ---- a video straight in (issue 14): decoded once by ffmpeg, no intermediate images --------------
if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
  # A lossless 10 fps clip of 7 frames (FFV1, RGB) and the same frames written by ffmpeg as PNGs: the
  # views from the video must be those from the images, byte for byte.
  mkdir -p vid/png
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=128x64:rate=10 -frames:v 7 -c:v ffv1 -pix_fmt bgr0 vid/clip.mkv
  ffmpeg -nostdin -loglevel error -y -i vid/clip.mkv -start_number 0 vid/png/frame_%d.png
  mkdir -p vid/every3 vid/time
  cp vid/png/frame_{0,3,6}.png vid/every3/ && cp vid/png/frame_{3,4,5}.png vid/time/
  "$TOOL" vid/every3 -o vid_ref3 --size 24x16 --format png --rig ring:2 --quiet
  "$TOOL" vid/time -o vid_reft --size 24x16 --format png --rig ring:2 --quiet
  run_ok "a video: --every 3" vid/clip.mkv -o vid_every --every 3 --size 24x16 --format png --rig ring:2 --threads 2 --batch 2
  if diff -r vid_ref3 vid_every >/dev/null; then ok "a video, --every 3: frames 0, 3, 6, views identical to those of the frames as PNGs"; else bad "a video, --every 3: $(ls vid_every | tr '\n' ' ')"; fi
  run_ok "a video: --frame 6 --frame 0 --frame 3" vid/clip.mkv -o vid_frames --frame 6 --frame 0 --frame 3 --size 24x16 --format png --rig ring:2 --threads 1 --batch 1
  if diff -r vid_ref3 vid_frames >/dev/null; then ok "a video, --frame: the frames named, in order, identical views"; else bad "a video, --frame: $(ls vid_frames | tr '\n' ' ')"; fi
  run_ok "a video: --time 0.3:0.6" vid/clip.mkv -o vid_time --time 0.3:0.6 --size 24x16 --format png --rig ring:2
  if diff -r vid_reft vid_time >/dev/null; then ok "a video, --time 0.3:0.6 at 10 fps: frames 3, 4, 5"; else bad "a video, --time: $(ls vid_time | tr '\n' ' ')"; fi
  check_shards "a video, --shard i/n: disjoint, together the unsharded views" vid_ref3 3 "1 2 3" \
    vid/clip.mkv --every 3 --size 24x16 --format png --rig ring:2
  rm vid_every/frame_00003_cam_01.png
  run_ok "a video: --resume" vid/clip.mkv -o vid_every --every 3 --size 24x16 --format png --rig ring:2 --resume
  if diff -r vid_ref3 vid_every >/dev/null && grep -q "resume: 5 views already complete" run.out; then ok "a video, --resume: only the missing view is made"; else bad "a video, --resume: $(cat run.out)"; fi
  expect_error "a video: a frame past the end" 1 "vid/clip.mkv: frame 9 is past the end of the video (7 frames: 0 to 6)" out vid/clip.mkv -o out --frame 9
  expect_error "a video: a time range past the end" 1 "no frames selected" out vid/clip.mkv -o out --time 5:6
  expect_error "a video: bad --time" 2 "--time 0.6:0.3" out vid/clip.mkv -o out --time 0.6:0.3
  expect_error "a video and an image" 2 "a video must be e2p's only input" out vid/clip.mkv src/pano_0007.jpg -o out
  expect_error "--every on images" 2 "select frames of a video" out src -o out --every 2
  echo "not a video" >vid/junk.mp4
  expect_error "a file that is neither image nor video" 1 "vid/junk.mp4" out vid/junk.mp4 -o out
  # A lossy H.264 clip: the same path, sizes and count checked (its pixels are the decoder's).
  encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null || true)
  if [[ $encoders == *libx264* ]]; then
    ffmpeg -nostdin -loglevel error -y -i vid/clip.mkv -c:v libx264 -bf 3 -crf 12 -pix_fmt yuv420p vid/clip.mp4
    run_ok "an H.264 video (B-frames)" vid/clip.mp4 -o vid_h264 --every 2 --size 24x16 --rig ring:2 --format png
    expect_files "an H.264 video: frames 0, 2, 4, 6, two views each" vid_h264 frame_0000{0,2,4,6}_cam_0{0,1}.png
  fi
  # A decoder that dies after 3 frames: under skip, the frames never delivered are listed one by
  # one and the others' views are written, whatever the batch size (a batch cut short by the
  # failure is delivered up to it); under stop, exit 1 naming the decoder.
  mkdir -p fakebin
  printf '#!/bin/bash\n"%s" "$@" | head -c $((128 * 64 * 3 * 3))\nexit 1\n' "$(command -v ffmpeg)" >fakebin/ffmpeg
  chmod +x fakebin/ffmpeg
  "$TOOL" vid/png/frame_2.png -o vid_ref2 --size 24x16 --format png --rig ring:2 --quiet
  for batch in 1 4; do
    rc=0
    env PATH="$W/fakebin:$PATH" "$TOOL" vid/clip.mkv -o "vid_broken_$batch" --size 24x16 --format png --rig ring:2 --batch "$batch" >run.out 2>run.err || rc=$?
    if [[ $rc -eq 3 ]] && python3 - "vid_broken_$batch/failures.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
files = sorted(f["file"] for f in j["failures"])
assert files == ["vid/clip.mkv frame %d" % i for i in range(3, 7)], files
assert all(f["stage"] == "decode" and "ffmpeg" in f["reason"] for f in j["failures"]), j
PY
    then ok "a video failing mid-way (skip, --batch $batch): frames 3 to 6 listed, exit 3"; else bad "a video failing mid-way (--batch $batch): exit $rc: $(head -c 400 "vid_broken_$batch/failures.json" 2>/dev/null) $(head -c 300 run.err)"; fi
    if cmp -s "vid_broken_$batch/frame_00000_cam_00.png" vid_ref3/frame_00000_cam_00.png && cmp -s "vid_broken_$batch/frame_00002_cam_01.png" vid_ref2/frame_00002_cam_01.png \
      && [[ ! -e "vid_broken_$batch/frame_00003_cam_00.png" ]]; then
      ok "a video failing mid-way (skip, --batch $batch): the delivered frames' views written, no others"
    else bad "a video failing mid-way (skip, --batch $batch): $(ls "vid_broken_$batch" | tr '\n' ' ')"; fi
  done
  rc=0
  env PATH="$W/fakebin:$PATH" "$TOOL" vid/clip.mkv -o vid_stop --size 24x16 --format png --on-error stop >run.out 2>run.err || rc=$?
  if [[ $rc -eq 1 ]] && grep -qF "ffmpeg" run.err; then ok "a video failing mid-way (stop): exit 1, names the decoder"; else bad "a video failing mid-way (stop): exit $rc: $(head -c 300 run.err)"; fi
else
  echo "skip video checks: ffmpeg/ffprobe not installed (Debian: apt-get install ffmpeg)"
fi

echo "($((SECONDS - start)) s)"
finish
