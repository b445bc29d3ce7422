#!/usr/bin/env bash
# Command-line tests of e2p --device (examples/01_e2p), two ways:
#
#   e2p_cuda_cli_test.sh PATH/TO/e2p_emulated PATH/TO/e2p WORK_DIR
#     e2p's GPU path (the staged ring: upload, compute, download) run under the CPU emulation of
#     CUDA, against the plain CPU e2p: the same files byte for byte (every interpolation and map,
#     batches of 1 and 3, several rigs, a folder with bad frames, --resume), the GPU stages in
#     --report, and the device choice (cuda, cpu, auto, no device: VBATCH_EMULATED_DEVICES=0).
#   e2p_cuda_cli_test.sh --no-device PATH/TO/e2p_cuda WORK_DIR
#     the nvcc build on a machine without a GPU: --device cuda fails naming the cause, auto falls
#     back to the CPU. Exits 77 (skipped) when a device is found.
set -euo pipefail

usage_text="usage: e2p_cuda_cli_test.sh PATH/TO/e2p_emulated PATH/TO/e2p WORK_DIR | --no-device PATH/TO/e2p_cuda WORK_DIR"
mode=emulated
if [[ ${1:-} == --no-device ]]; then
  mode=no_device
  shift
  GPU_TOOL=${1:?$usage_text}
  W=${2:?$usage_text}
else
  GPU_TOOL=${1:?$usage_text}
  CPU_TOOL=${2:?$usage_text}
  W=${3:?$usage_text}
fi
TOOL=$GPU_TOOL
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
rm -rf "$W" && mkdir -p "$W"
cd "$W"
start=$SECONDS

# same_files NAME WANT_DIR GOT_DIR : the same file names, and every file identical byte for byte.
same_files() {
  local name=$1 want=$2 got=$3 differ=0 f
  if ! diff <(ls "$want") <(ls "$got") >/dev/null; then
    bad "$name: files differ: $(diff <(ls "$want") <(ls "$got") | head -4 | tr '\n' ' ')"
    return
  fi
  for f in "$want"/*; do cmp -s "$f" "$got/$(basename "$f")" || differ=$((differ + 1)); done
  if [[ $differ -eq 0 && -n $(ls "$want") ]]; then ok "$name"; else bad "$name: $differ of $(ls "$want" | wc -l) files differ"; fi
}

# stages REPORT : the names of the run's stages in a --report, sorted, space-separated.
stages() { json_get "$1" '" ".join(sorted(j["run"]["stage_seconds"]))'; }
gpu_stages="compute decode download encode upload write"

if [[ $mode == no_device ]]; then
  "$TOOL" --demo -o probe --size 16x8 --device cuda --quiet >/dev/null 2>&1 && { echo "a CUDA device is present: skipped"; exit 77; }
  expect_error "--device cuda without a device: exit 1, naming the cause" 1 "--device cuda: no CUDA device (cudaGetDeviceCount: " \
    out --demo -o out --size 16x8 --device cuda
  run_ok "--device auto (the default) without a device runs on the CPU" --demo -o auto --size 16x8 --report auto.json
  if grep -q "no CUDA device (cudaGetDeviceCount: .*); running on the CPU" run.out; then ok "auto says it fell back"; else bad "auto fallback not said: $(cat run.out)"; fi
  if [[ $(stages auto.json) == *remap* ]]; then ok "auto: the CPU's remap stage in --report"; else bad "auto: stages $(stages auto.json)"; fi
  run_ok "--device auto -q" --demo -o auto_q --size 16x8 -q
  if [[ ! -s run.out ]]; then ok "-q: the fallback is not said"; else bad "-q printed: $(cat run.out)"; fi
  echo "($((SECONDS - start)) s)"
  finish
  exit
fi

# ---- inputs: small frames made from the CPU e2p's demo views --------------------------------
"$CPU_TOOL" --demo -o demo --size 64x32 --quiet
mkdir -p src good mixed
for i in 1 2 3 4 5; do cp demo/frame_00000_cam_0$i.jpg src/pano_$i.jpg; done
cp src/pano_{1,2,4,5}.jpg good/
cp src/pano_*.jpg mixed/
head -c 500 src/pano_3.jpg >mixed/pano_3.jpg  # a truncated JPEG: its header reads, its pixels do not

# ---- help and the device choice --------------------------------------------------------------
run_ok "--help" --help
if grep -q -- "--device" run.out && grep -q "This build: cpu and cuda" run.out; then ok "--help: --device and what this build can do"; else bad "--help: $(grep -i device run.out)"; fi
TOOL=$CPU_TOOL
expect_error "plain e2p: --device cuda is a usage error (exit 2)" 2 "--device cuda: this e2p was built without CUDA; use vbatch-e2p-cuda" \
  out src -o out --device cuda
run_ok "plain e2p: --help says cpu only" --help
if grep -q "This build: cpu only" run.out; then ok "plain e2p: --help footer"; else bad "plain e2p --help: $(grep -i device run.out)"; fi
TOOL=$GPU_TOOL
# No device (VBATCH_EMULATED_DEVICES=0: what cudaGetDeviceCount reports on a machine without a GPU).
VBATCH_EMULATED_DEVICES=0 expect_error "no device: --device cuda fails before any work (exit 1), naming the cause" 1 \
  "--device cuda: no CUDA device (cudaGetDeviceCount: 0 devices)" out src -o out --device cuda --size 24x16
"$CPU_TOOL" src -o cpu --size 24x16 --quiet --report cpu.json
VBATCH_EMULATED_DEVICES=0 run_ok "no device: --device auto (the default) runs" src -o auto --size 24x16 --report auto.json
if grep -q "^--device auto: no CUDA device (cudaGetDeviceCount: 0 devices); running on the CPU" run.out; then ok "no device: auto says it runs on the CPU"; else bad "no device: auto: $(head -3 run.out)"; fi
if [[ $(stages auto.json) == "$(stages cpu.json)" && $(stages cpu.json) == *remap* ]]; then ok "no device: auto ran the CPU's stages"; else bad "no device: auto's stages: $(stages auto.json)"; fi
same_files "no device: auto writes the CPU's files" cpu auto
VBATCH_EMULATED_DEVICES=0 run_ok "no device: auto -q" src -o auto_q --size 24x16 -q
if [[ ! -s run.out && ! -s run.err ]]; then ok "no device: auto -q says nothing"; else bad "no device: auto -q printed: $(cat run.out run.err)"; fi
# With a device, auto is the GPU; --device cpu is the CPU path of the same build.
run_ok "--device auto with a device" src -o auto_gpu --size 24x16 --report auto_gpu.json
if [[ $(stages auto_gpu.json) == "$gpu_stages" ]]; then ok "auto with a device: the GPU stages"; else bad "auto with a device: stages $(stages auto_gpu.json)"; fi
run_ok "--device cpu" src -o cpu_here --size 24x16 --device cpu --report cpu_here.json
if [[ $(stages cpu_here.json) == "$(stages cpu.json)" ]]; then ok "--device cpu: the CPU's stages"; else bad "--device cpu: stages $(stages cpu_here.json)"; fi
same_files "--device cpu: the plain e2p's files" cpu cpu_here
# The staged ring takes one frame size: frames of two sizes are refused on cuda, and auto takes the CPU.
mkdir -p sizes && cp src/pano_1.jpg sizes/ && cp demo/demo_equirect.jpg sizes/pano_9.jpg
expect_error "--device cuda, frames of two sizes: exit 1, naming both" 1 "frames of different sizes (64x32" out sizes -o out --device cuda --size 24x16
run_ok "--device auto, frames of two sizes" sizes -o sizes_auto --size 24x16
if grep -q "^--device auto: frames of different sizes .*; running on the CPU" run.out; then ok "auto, two sizes: says it runs on the CPU"; else bad "auto, two sizes: $(head -3 run.out)"; fi

# ---- the GPU path: the CPU's files, byte for byte ---------------------------------------------
# Every interpolation on every map (u8 bilinear and nearest on the cached maps are exact integer
# arithmetic on any device; under the emulation the float paths run the same host code, so they
# match too), in batches of 1 and 3 frames (the last batch of 5 frames is short).
for interp in bilinear nearest bicubic; do
  for map in fixed float rays; do
    "$CPU_TOOL" src -o "cpu_${interp}_$map" --size 24x16 --interp "$interp" --map "$map" --format png --quiet
    batches="1 3"
    [[ $interp == bicubic || $map == rays ]] && batches=3  # the float paths once
    for batch in $batches; do
      out="gpu_${interp}_${map}_$batch"
      "$GPU_TOOL" src -o "$out" --size 24x16 --interp "$interp" --map "$map" --format png --batch "$batch" --device cuda \
        --quiet --report "$out.json" || bad "$out: exit $?"
      same_files "--device cuda --interp $interp --map $map --batch $batch: the CPU's files" "cpu_${interp}_$map" "$out"
    done
  done
done
# Dual-fisheye frames (--dual-fisheye): the fisheye map on the device, a constant border.
cat >dual.json <<'JSON'
{"width": 64, "height": 32, "lenses": [{"model": "equidistant", "centre": [15.5, 15.5], "radius": 16, "fov": 190},
 {"model": "equisolid", "centre": [47.5, 15.5], "radius": 16, "fov": 200, "yaw": 180, "pitch": 2}]}
JSON
"$CPU_TOOL" src -o cpu_dual --size 24x16 --dual-fisheye dual.json --format png --quiet
"$GPU_TOOL" src -o gpu_dual --size 24x16 --dual-fisheye dual.json --format png --batch 3 --device cuda --quiet || bad "gpu_dual: exit $?"
same_files "--device cuda --dual-fisheye: the CPU's files" cpu_dual gpu_dual
# A run that silently took the CPU kernel would still match: the report must show the GPU stages.
if [[ $(stages gpu_bilinear_fixed_3.json) == "$gpu_stages" ]]; then ok "--report: decode, upload, compute, download, encode, write"; else bad "--report stages: $(stages gpu_bilinear_fixed_3.json)"; fi
if [[ $(json_get gpu_bilinear_fixed_3.json '"%(items)d %(done)d %(outputs)d" % j["run"]') == "5 5 40" ]]; then ok "--report: 5 frames done, 40 views"; else bad "--report counts: $(head -c 300 gpu_bilinear_fixed_3.json)"; fi
if python3 - gpu_bilinear_fixed_3.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["run"]["stage_seconds"]
assert all(s[k] > 0 for k in ("decode", "upload", "compute", "download", "encode")), s
PY
then ok "--report: every GPU stage took time"; else bad "--report: a GPU stage with no time: $(json_get gpu_bilinear_fixed_3.json 'j["run"]["stage_seconds"]')"; fi
run_ok "summary line of a GPU run" src -o summary --size 24x16 --device cuda
if grep -q "^device: CUDA (the CPU emulation of CUDA: a test build, no GPU), 3 staging slots; time: decode .* upload .* compute .* download .* encode" run.out; then
  ok "the summary names the device and the GPU stages"
else bad "summary: $(cat run.out)"; fi

# Rigs: rings, cameras, cube faces and a cube layout (one image per frame, made on the host).
rigs=("--rig rings3:4 --fov 100 --size 20x14" "--camera=-90,0,0,90 --camera 90,10,5,60,40 --size 18x12"
  "--cube --size 12" "--cube --layout dice --size 12")
for rig in "${rigs[@]}"; do
  name=${rig//[^a-z0-9]/_}
  # shellcheck disable=SC2086
  "$CPU_TOOL" src -o "cpu_rig$name" $rig --quiet
  # shellcheck disable=SC2086
  "$GPU_TOOL" src -o "gpu_rig$name" $rig --batch 3 --device cuda --quiet || bad "rig $rig: exit $?"
  same_files "--device cuda $rig: the CPU's files" "cpu_rig$name" "gpu_rig$name"
done
"$CPU_TOOL" --demo -o cpu_demo --size 16 --cube --layout horizon --quiet
"$GPU_TOOL" --demo -o gpu_demo --size 16 --cube --layout horizon --device cuda --quiet || bad "--demo: exit $?"
same_files "--demo --device cuda: the CPU's files" cpu_demo gpu_demo

# ---- failures, --on-error, --resume -----------------------------------------------------------
"$CPU_TOOL" mixed -o cpu_mixed --size 24x16 --quiet || true
for batch in 1 3; do
  rc=0
  "$GPU_TOOL" mixed -o "gpu_mixed_$batch" --size 24x16 --batch "$batch" --device cuda --report "gpu_mixed_$batch.json" \
    >run.out 2>run.err || rc=$?
  if [[ $rc -eq 3 ]]; then ok "bad frame, --batch $batch: exit 3"; else bad "bad frame, --batch $batch: exit $rc: $(head -c "$excerpt" run.err)"; fi
  same_files "bad frame, --batch $batch: the CPU's views and failures.json" cpu_mixed "gpu_mixed_$batch"
  if python3 - "gpu_mixed_$batch/failures.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["failed"] == 1 and j["failures"][0]["file"] == "mixed/pano_3.jpg" and j["failures"][0]["stage"] == "decode", j
PY
  then ok "bad frame, --batch $batch: failures.json names it (decode)"; else bad "bad frame, --batch $batch: $(cat "gpu_mixed_$batch/failures.json")"; fi
  if [[ $(json_get "gpu_mixed_$batch.json" '"%(items)d %(failed)d %(done)d %(outputs)d" % j["run"]') == "5 1 4 32" ]]; then
    ok "bad frame, --batch $batch: --report counts 5 frames, 1 failed, 4 done, 32 views"
  else bad "bad frame, --batch $batch: --report: $(head -c 300 "gpu_mixed_$batch.json")"; fi
done
expect_error "bad frame, --on-error stop: exit 1, naming it" 1 "mixed/pano_3.jpg" gpu_stop mixed/pano_3.jpg -o gpu_stop --size 24x16 \
  --device cuda --on-error stop
rm gpu_bilinear_fixed_3/frame_00002_cam_0{1,5}.png
head -c 50 gpu_bilinear_fixed_1/frame_00004_cam_00.png >gpu_bilinear_fixed_3/frame_00004_cam_00.png
run_ok "--resume on the GPU" src -o gpu_bilinear_fixed_3 --size 24x16 --format png --batch 3 --device cuda --resume
if grep -q "resume: 37 views already complete, 3 frames skipped" run.out; then ok "--resume: only the two frames with missing or broken views"; else bad "--resume: $(grep resume run.out)"; fi
same_files "--resume on the GPU: the CPU's files" cpu_bilinear_fixed gpu_bilinear_fixed_3

echo "($((SECONDS - start)) s)"
finish
