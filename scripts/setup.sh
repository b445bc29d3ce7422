#!/usr/bin/env bash
# Installs the Debian packages vbatch builds and tests with, when any is missing. Idempotent.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libstb-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev nlohmann-json3-dev libopencv-dev libturbojpeg0-dev libpng-dev ffmpeg)
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
if [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "setup: note: no CUDA toolkit at /usr/local/cuda; the CUDA compile check will be skipped" >&2
fi
