#!/usr/bin/env bash
# Command-line tests of examples/07_embed: embed_cli_test.sh PATH/TO/embed WORK_DIR
#
# Every check prints one line (ok/FAIL) and the script ends with "N passed, M failed"; it exits
# non-zero when a check failed. The dlib checks run on the real photos scripts/setup.sh puts in
# place ($VBATCH_FACE_PHOTOS_DIR, set by CMake when found); the ONNX checks on the committed test
# model ($VBATCH_TEST_MODELS_DIR/embedder.onnx). python3 (standard library only) reads the JSON
# and the .npy headers.
set -euo pipefail

TOOL=${1:?usage: embed_cli_test.sh PATH/TO/embed WORK_DIR}
W=${2:?usage: embed_cli_test.sh PATH/TO/embed WORK_DIR}
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

# py NAME CODE : the Python check CODE (reading out/items.json as j) passes.
py() {
  local name=$1 code=$2 dir=${3:-out}
  if python3 - "$dir" >py.err 2>&1 <<EOF; then ok "$name"; else bad "$name: $(tail -c 300 py.err)"; fi
import json, struct, sys
d = sys.argv[1]
j = json.load(open(d + "/items.json"))
def npy_shape(name):
    b = open(d + "/" + name, "rb").read()
    assert b[:8] == b"\x93NUMPY\x01\x00", "not npy 1.0"
    n = struct.unpack("<H", b[8:10])[0]
    h = eval(b[10:10 + n].decode())
    assert h["descr"] == "<f4" and not h["fortran_order"]
    assert len(b) == 10 + n + 4 * h["shape"][0] * h["shape"][1], "data size"
    return h["shape"]
$code
EOF
}

# ---- errors: named, and nothing written ----
expect_error "an unknown model is a usage error" 2 "--model 'torch:x'" out --model torch:x a.jpg -o out
expect_error "onnx without --input is a usage error" 2 "--input" out --model onnx:net.onnx a.jpg -o out
expect_error "no inputs is a usage error" 2 "give images" out -o out
expect_error "a missing input is named" 1 "missing.jpg" out missing.jpg -o out

if [[ -n ${VBATCH_TEST_MODELS_DIR:-} && -f $VBATCH_TEST_MODELS_DIR/embedder.onnx ]]; then
  mkdir -p imgs
  # png.py: an RGB PNG writer in plain Python (zlib, no imaging library), for these three 24x20
  # images and three more below.
  cat >png.py <<'EOF'
import struct, zlib
def png(path, w, h, f):
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in f(x, y)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EOF
  python3 - <<'EOF'
from png import png
png("imgs/a_1.png", 24, 20, lambda x, y: (x * 10 % 256, y * 12 % 256, 90))
png("imgs/b_2.png", 24, 20, lambda x, y: (200, (x * y) % 256, 40))
png("imgs/c_3.png", 24, 20, lambda x, y: (x * y % 256, 30, 250))
EOF
  onnx=$VBATCH_TEST_MODELS_DIR/embedder.onnx
  if "$TOOL" imgs -o probe --model "onnx:$onnx" --input 3x16x16 -q 2>&1 | grep -q "built without"; then
    echo "note: embed was built without OpenCV dnn: the ONNX checks do not apply"
  else
    rm -rf probe
    run_ok "onnx: whole images through an ONNX embedder" imgs -o out --model "onnx:$onnx" --input 3x16x16 -q
    py "onnx: one row per image, one track each" '
rows, dim = npy_shape("embeddings.npy")
assert rows == 3 and len(j["tracks"]) == 3 and npy_shape("track_embeddings.npy") == (3, dim), (rows, dim)
assert j["dimension"] == dim'
    run_ok "onnx: the same images one per batch" imgs -o out1 --model "onnx:$onnx" --input 3x16x16 --batch 1 -q
    if cmp -s out/embeddings.npy out1/embeddings.npy; then ok "onnx: batch size does not change an embedding"; else bad "onnx: batch 1 differs from batch 32"; fi
    expect_error "onnx: a missing model file is named" 1 "nothing.onnx" out2 imgs -o out2 --model onnx:nothing.onnx --input 3x16x16

    # ---- bad images (--on-error, --max-failures), --shard, --report, progress (issues 16, 17, 18) ----
    onnx_args=(--model "onnx:$onnx" --input 3x16x16)
    # Three more images of other sizes (pixels balance the shards), and a folder with a corrupt one.
    python3 - <<'EOF'
from png import png
png("imgs/d_4.png", 48, 40, lambda x, y: (x * 5 % 256, 120, y * 6 % 256))
png("imgs/e_5.png", 16, 16, lambda x, y: (30, x * 16 % 256, y * 16 % 256))
png("imgs/f_6.png", 64, 30, lambda x, y: ((x + y) * 3 % 256, 200, 10))
EOF
    mkdir -p mixed good && cp imgs/*.png mixed/ && cp imgs/*.png good/ && rm good/c_3.png && echo "not a png" >mixed/c_3.png
    # npy_rows FILE... : the float32 rows of .npy files, concatenated, as hex.
    npy_rows() { python3 -c 'import struct, sys
out = b""
for p in sys.argv[1:]:
    b = open(p, "rb").read(); n = struct.unpack("<H", b[8:10])[0]; out += b[10 + n:]
print(out.hex())' "$@"; }
    run_ok "onnx: a clean run over the good images" good -o out_good "${onnx_args[@]}" -q
    rc=0
    "$TOOL" mixed -o out_mixed "${onnx_args[@]}" --report mixed.json >run.out 2>run.err || rc=$?
    if [[ $rc -eq 3 ]]; then ok "a corrupt image (skip): exit status 3"; else bad "a corrupt image (skip): exit $rc: $(head -c 300 run.err)"; fi
    same=1
    for f in embeddings.npy track_embeddings.npy $(cd out_good && ls cluster_*.png || true); do cmp -s "out_good/$f" "out_mixed/$f" || same=0; done
    if [[ $same -eq 1 && $(ls out_good | wc -l) -eq $(($(ls out_mixed 2>/dev/null | wc -l) - 1)) ]]; then ok "a corrupt image (skip): embeddings and sheets identical to the clean run's"; else bad "a corrupt image (skip): outputs differ: $(ls out_mixed | tr '\n' ' ')"; fi
    py "a corrupt image (skip): failures.json names it and the stage; items.json lists the other images" '
f = json.load(open(d + "/failures.json"))["failures"]
assert [(x["file"], x["stage"]) for x in f] == [("mixed/c_3.png", "decode")] and "mixed/c_3.png" in f[0]["reason"], f
assert [i["file"] for i in j["items"]] == ["a_1.png", "b_2.png", "d_4.png", "e_5.png", "f_6.png"], j["items"]' out_mixed
    written=$(ls out_mixed 2>/dev/null | grep -vc '^failures.json$' || true)
    if python3 -c 'import json, sys; r = json.load(open("mixed.json"))["run"]; assert (r["tool"], r["unit"], r["items"], r["failed"], r["outputs"]) == ("embed", "images", 6, 1, int(sys.argv[1])), r' "$written"; then
      ok "a corrupt image (skip): --report counts 6 images, 1 failed, and the files written"
    else
      bad "a corrupt image (skip): --report: $(head -c 400 mixed.json)"
    fi
    expect_error "a corrupt image (stop): exit 1, named" 1 "mixed/c_3.png" out_stop mixed -o out_stop "${onnx_args[@]}" --on-error stop
    rc=0
    "$TOOL" mixed -o out_max0 "${onnx_args[@]}" --max-failures 0 -q >run.out 2>run.err || rc=$?
    if [[ $rc -eq 1 ]] && grep -qF "stopped: more than 0 failures (--max-failures)" run.err; then ok "--max-failures 0: exit 1, says why"; else bad "--max-failures 0: exit $rc: $(head -c 300 run.err)"; fi

    # --shard: every shard into DIR/shard-I-of-N (a shard clusters its own images): no file written
    # by two, their embeddings' rows in shard order are the whole run's, their items add up.
    run_ok "onnx: the whole run, for the shards" imgs -o out_whole "${onnx_args[@]}" -q
    for n in ${VBATCH_SHARD_COUNTS:-1 2 3 4 5 7}; do
      msg="" items=0
      rm -rf "out_shards_$n"
      for ((i = 0; i < n; i++)); do
        "$TOOL" imgs -o "out_shards_$n" "${onnx_args[@]}" --shard "$i/$n" --report "shard_$i.json" -q >run.out 2>run.err || msg+=" shard $i/$n: exit $?: $(head -c 200 run.err);"
        shard_items=$(json_get "shard_$i.json" 'j["run"]["items"]' 2>/dev/null || echo 0)
        items=$((items + shard_items))
      done
      dirs=$(ls "out_shards_$n" 2>/dev/null | tr '\n' ' ' || true)
      rows=$(cd "out_shards_$n" 2>/dev/null && npy_rows $(ls -d shard-*-of-$n | sort -t- -k2n | sed 's|$|/embeddings.npy|') || true)
      [[ $rows == "$(npy_rows out_whole/embeddings.npy)" ]] || msg+=" the shards' rows ($dirs) are not the whole run's;"
      [[ $items -eq 6 ]] || msg+=" their items add up to $items, not 6;"
      if [[ -z $msg ]]; then ok "--shard over $n jobs: one directory each, the whole run's rows in order, items add up"; else bad "--shard over $n jobs:$msg"; fi
    done
    run_ok "a shard with no images" imgs/a_1.png -o out_empty "${onnx_args[@]}" --shard 0/2 --report empty.json
    if grep -q "shard 0/2 has no images to embed" run.out && [[ ! -e out_empty ]] &&
      [[ $(json_get empty.json '(j["run"]["items"], j["run"]["shard"]["index"])' 2>&1) == "(0, 0)" ]]; then
      ok "a shard with no images: says so, writes nothing but a report of zero items"
    else
      bad "a shard with no images: $(cat run.out) $(ls out_empty 2>&1)"
    fi
    rc=0
    env SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=2 "$TOOL" imgs -o out_auto "${onnx_args[@]}" --shard auto -q >run.out 2>run.err || rc=$?
    if [[ $rc -eq 0 ]] && cmp -s out_auto/shard-1-of-2/embeddings.npy out_shards_2/shard-1-of-2/embeddings.npy; then ok "--shard auto under a Slurm array (task 3 of 2..3): shard 1/2"; else bad "--shard auto: exit $rc: $(head -c 300 run.err) $(ls out_auto 2>&1)"; fi
    expect_error "--shard 3/3" 2 "--shard '3/3': expected i/n" out_bad imgs -o out_bad "${onnx_args[@]}" --shard 3/3
    expect_error "--shard auto without a job array" 2 "shard auto: neither SLURM_ARRAY_TASK_ID" out_bad imgs -o out_bad "${onnx_args[@]}" --shard auto
    expect_error "--on-error bad value" 2 "--on-error: retry" out_bad imgs -o out_bad "${onnx_args[@]}" --on-error retry

    # Progress: per image, with the rate and ETA on a terminal; nothing without one.
    on_terminal progress.tty imgs -o out_progress "${onnx_args[@]}" || true
    if grep -qE "\[6/6 images\] [0-9.]+ images/s, ETA" progress.tty; then ok "progress on a terminal: images, rate and ETA"; else bad "progress on a terminal: $(head -c 300 progress.tty)"; fi
    "$TOOL" imgs -o out_progress2 "${onnx_args[@]}" >run.out 2>run.err || true
    if [[ ! -s run.err ]]; then ok "no progress line without a terminal"; else bad "stderr without a terminal: $(head -c 300 run.err)"; fi
    if [[ $(tail -1 run.out) == "wrote out_progress2: "* ]]; then ok "the run ends with its summary line"; else bad "last line: $(tail -1 run.out)"; fi
    expect_error "onnx: a bad --input is a usage error" 2 "--input '3x16'" out2 imgs -o out2 --model "onnx:$onnx" --input 3x16
  fi
fi

# ---- dlib's face models on real photos ----
P=${VBATCH_FACE_PHOTOS_DIR:-}
if [[ -z $P || ! -f $P/obama.jpg ]]; then
  echo "note: no face photos (scripts/setup.sh puts them in place): the dlib checks do not apply"
  finish
  exit $?
fi

run_ok "demo: real photos as clips, detect, track, embed, cluster" --demo -o demo -q
expect_files "demo: the outputs, and nothing else" demo cluster_{0..7}.png embeddings.npy items.json track_embeddings.npy
py "demo: the clusters are who is who (ARI 1, the three Obama clips together)" '
assert j["truth"]["adjusted_rand_index"] == 1.0, j["truth"]
tracks = j["tracks"]
assert len(tracks) == 10 and len(j["clusters"]) == 8, (len(tracks), len(j["clusters"]))
obama = {t["cluster"] for t in tracks if t["scene"].startswith("obama")}
assert len(obama) == 1 and sum(t["scene"].startswith("obama") for t in tracks) == 3
assert len({t["cluster"] for t in tracks}) == 8
for i in j["items"]: assert i["cluster"] == tracks[i["track"]]["cluster"]
rows, dim = npy_shape("embeddings.npy")
assert dim == 128 and rows == len(j["items"]) and npy_shape("track_embeddings.npy") == (10, 128)
assert all(len(t["items"]) <= 3 for t in tracks)' demo
run_ok "demo: one crop per batch, one thread" --demo -o demo1 -q --batch 1 --threads 1
same_json() {  # the JSON of two runs, but for their timings
  python3 -c 'import json, sys
a, b = (json.load(open(p + "/items.json")) for p in sys.argv[1:])
for k in ("stages", "shares"): a.pop(k), b.pop(k)
a["counts"].pop("batches"), b["counts"].pop("batches")
sys.exit(a != b)' "$1" "$2"
}
if cmp -s demo/embeddings.npy demo1/embeddings.npy && same_json demo demo1; then
  ok "demo: batch size and threads change no byte of embeddings or clusters"
else
  bad "demo: --batch 1 --threads 1 differs from the defaults"
fi

run_ok "demo: hdbscan clusters the tracks" --demo -o demo_h -q --cluster hdbscan
py "demo: hdbscan: every track in a cluster (numbered 0..K-1), the truth scored" '
assert j["cluster"] == {"method": "hdbscan", "min_cluster_size": 2}, j["cluster"]
assert "adjusted_rand_index" in j["truth"], j["truth"]
labels = [t["cluster"] for t in j["tracks"]]
assert len(labels) == 10 and min(labels) == 0 and sorted(set(labels)) == list(range(len(set(labels)))), labels
for i in j["items"]: assert i["cluster"] == labels[i["track"]]' demo_h
expect_error "hdbscan: a min cluster size below 2 is a usage error" 2 "--min-cluster-size" bad_h --demo -o bad_h --cluster hdbscan --min-cluster-size 1

run_ok "photos: every face of each photo" "$P/obama.jpg" "$P/obama2.jpg" "$P/biden.jpg" "$P/t1.jpg" -o photos -q
py "photos: one track per face; Obama's two photos together, everyone else apart" '
t = j["tracks"]
scenes = [x["scene"] for x in t]
assert scenes[:3] == ["obama.jpg", "obama2.jpg", "biden.jpg"] and scenes.count("t1.jpg") >= 5, scenes
assert t[0]["cluster"] == t[1]["cluster"]
assert len({x["cluster"] for x in t}) == len(t) - 1' photos

# A truncated photo among real ones (--on-error skip): the others' embeddings as without it.
mkdir -p photos_mixed && cp "$P/obama.jpg" photos_mixed/p_1.jpg && head -c 5000 "$P/t1.jpg" >photos_mixed/p_2.jpg && cp "$P/biden.jpg" photos_mixed/p_3.jpg
rc=0
"$TOOL" photos_mixed -o photos_mixed_out -q >run.out 2>run.err || rc=$?
run_ok "photos: the same photos without the truncated one" "$P/obama.jpg" "$P/biden.jpg" -o photos_good -q
if [[ $rc -eq 3 ]] && cmp -s photos_good/embeddings.npy photos_mixed_out/embeddings.npy &&
  cmp -s photos_good/track_embeddings.npy photos_mixed_out/track_embeddings.npy &&
  grep -q '"file": "photos_mixed/p_2.jpg"' photos_mixed_out/failures.json; then
  ok "photos: a truncated photo is skipped (exit 3, failures.json), the faces of the others as without it"
else
  bad "photos: a truncated photo: exit $rc: $(head -c 300 run.err)"
fi

# A track file over two copies of the group photo: its six faces as tracks 1..6 in frames 1 and 2.
mkdir -p frames && cp "$P/t1.jpg" frames/t1_1.jpg && cp "$P/t1.jpg" frames/t1_2.jpg
python3 - photos >tracks.txt <<'EOF'
import json, sys
items = [i for i in json.load(open(sys.argv[1] + "/items.json"))["items"] if i["file"] == "t1.jpg"]
for frame in (1, 2):
    for k, i in enumerate(items):
        x1, y1, x2, y2 = i["box"]
        print(f"{frame},{k + 1},{x1},{y1},{x2 - x1},{y2 - y1},{i['score']},-1,-1,-1")
EOF
faces=$(grep -c '^1,' tracks.txt)
run_ok "tracks: a track file's boxes, aligned and embedded by track" frames --tracks tracks.txt -o tracked -q
py "tracks: one track per id with both frames, every person a cluster" "
t = j['tracks']
assert len(t) == $faces and all(len(x['items']) == 2 for x in t), [len(x['items']) for x in t]
assert sorted(x['id_in_scene'] for x in t) == list(range(1, $faces + 1))
assert len(j['clusters']) == $faces" tracked
echo "9,1,10,10,50,50,1,-1,-1,-1" >other.txt
expect_error "tracks: a track file matching no frame is named" 1 "other.txt" bad frames --tracks other.txt -o bad
expect_error "dlib: a models directory without the files names the file" 1 "shape_predictor_5_face_landmarks.dat" bad \
  "$P/obama.jpg" --models "$W" -o bad
expect_error "demo: an ONNX model is a usage error" 2 "--demo" bad --demo --model onnx:x.onnx -o bad

finish
