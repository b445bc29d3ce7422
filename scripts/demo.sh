#!/usr/bin/env bash
# Sets up, builds the tools (Release) and runs the demo: a synthetic 8K-style panorama split into
# eight 1920x1080 views, written to out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --workflow --preset release
out=${1:-out/demo}
build/release/examples/e2p --demo -o "$out"
echo "demo: views are in $out/"
