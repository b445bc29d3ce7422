#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) in build/fuzz and runs them:
# each target's corpus and committed regressions once (fuzz.*.regression), then a short fuzzing
# run of each (fuzz.*.short, VBATCH_FUZZ_SECONDS, 20 s by default). Only the fuzz targets are
# built. Longer runs by hand: docs/fuzzing.md.
#
#   bash scripts/fuzz.sh                  # what CI runs
#   VBATCH_FUZZ_SECONDS=300 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found: apt-get install clang" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DVBATCH_BUILD_FUZZERS=ON -DVBATCH_BUILD_TESTS=ON -DVBATCH_BUILD_EXAMPLES=OFF -DVBATCH_BUILD_BENCHMARKS=OFF \
  -DVBATCH_WITH_DLIB=OFF -DVBATCH_FUZZ_SECONDS="${VBATCH_FUZZ_SECONDS:-20}"
targets=$(cd tests/fuzz && ls *_fuzz.cpp | sed 's/\.cpp$//')
# shellcheck disable=SC2086
cmake --build build/fuzz -j "${VBATCH_FUZZ_JOBS:-2}" --target $targets
ctest --test-dir build/fuzz -L fuzz --output-on-failure -j "${VBATCH_FUZZ_JOBS:-2}"
