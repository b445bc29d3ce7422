#!/usr/bin/env bash
# Sets up, builds everything (tests, tools, benchmarks, and the CUDA backend with nvcc when the
# toolkit is there) and runs every test with CTest; then builds the tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer and runs them once more.
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
