#!/usr/bin/env bash
# Installs the Debian packages vbatch builds and tests with, when any is missing. Idempotent.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libstb-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev nlohmann-json3-dev libopencv-dev libturbojpeg0-dev libpng-dev ffmpeg libdlib-dev
          libopenblas0-pthread python3-onnx doxygen clang python3-venv libopenmpi-dev openmpi-bin
          python3-yaml libimage-exiftool-perl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Real models and photos for the dlib face tests and `embed --demo` (docs/model.md says why these):
# dlib's pretrained face models from PyPI's face-recognition-models, and the photos inside two
# PyPI source archives (face_recognition 1.3.0's test images, insightface 2.1's sample images),
# kept in a cache that CMake looks in (cmake/vbatchFindFaceData.cmake). Nothing is fetched later.
cache="${VBATCH_DATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vbatch}"
if python3 -m pip --version >/dev/null 2>&1; then
  python3 -c "import face_recognition_models" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check face-recognition-models==0.3.0
  for sdist in face_recognition==1.3.0 insightface==2.1; do
    [[ -f "$cache/${sdist/==/-}.tar.gz" ]] ||
      python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: "$sdist" -d "$cache"
  done
  # PaddleOCR's PP-OCRv4 text detector from PyPI's rapidocr-onnxruntime 1.4.4 (Apache-2.0): the
  # real segmentation model of the OpenCV DNN and pipeline360 tests (docs/model.md), rewritten for
  # OpenCV 4.6 by onnx_for_opencv.py (Debian's python3-onnx).
  text_model="$cache/ppocr_v4_det_opencv.onnx"
  if [[ ! -f $text_model ]]; then
    wheel="$cache/rapidocr_onnxruntime-1.4.4-py3-none-any.whl"
    [[ -f $wheel ]] ||
      python3 -m pip download --quiet --disable-pip-version-check --no-deps rapidocr-onnxruntime==1.4.4 -d "$cache"
    python3 -c 'import sys, zipfile
open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"))' \
      "$wheel" "$cache/ch_PP-OCRv4_det_infer.onnx"
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/onnx_for_opencv.py" "$cache/ch_PP-OCRv4_det_infer.onnx" "$text_model.part" >/dev/null
    mv "$text_model.part" "$text_model"
  fi
  # Conan 2 for the package.conan test (offline: a profile declares the system packages), in a
  # venv of its own: Debian's python refuses pip installs into the system (PEP 668).
  conan_venv="$HOME/.cache/vbatch/conan-venv"
  [[ -x $conan_venv/bin/conan ]] ||
    { /usr/bin/python3 -m venv "$conan_venv" && "$conan_venv/bin/pip" install --quiet --disable-pip-version-check 'conan>=2.5,<3'; }
else
  echo "setup: note: no pip; the dlib face tests, embed --demo, the real text detector and the Conan package tests will be skipped" >&2
fi
if [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "setup: note: no CUDA toolkit at /usr/local/cuda; the CUDA compile check will be skipped" >&2
fi
