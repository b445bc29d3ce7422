#!/usr/bin/env bash
# Sets up, builds everything (tests, tools, benchmarks, and the CUDA backend with nvcc when the
# toolkit is there) and runs every test with CTest; then builds the tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer and runs them once more, and the tests of the
# threaded parts (thread pool, pipeline, loader, writer, the staged ring under the CUDA
# emulation) under ThreadSanitizer; last, the libFuzzer targets (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [[ -x /usr/local/cuda/bin/nvcc ]]; then
  cmake --workflow --preset test
else
  echo "test: nvcc not found: building without the CUDA compile check" >&2
  cmake --workflow --preset test-nocuda
fi
cmake --workflow --preset sanitize
cmake --workflow --preset tsan
bash scripts/fuzz.sh  # the fuzz targets (clang): their regression corpora and a short run each
