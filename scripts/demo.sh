#!/usr/bin/env bash
# Sets up, builds the tools (Release) and runs the full flow on the embedded synthetic scene:
# 4 equirectangular frames -> 8 views each -> a mask per view (a colour-threshold stand-in for a
# segmentation model) -> dilation -> views and masks saved, with a report (table, JSON, SVG chart)
# of where the time went. Everything is written to out/demo/ (or the directory given).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --workflow --preset release
out=${1:-out/demo}
build/release/examples/pipeline360 --demo -o "$out"
echo "demo: views in $out/views/, masks in $out/masks/, report in $out/report.json and $out/report.svg"
