#!/usr/bin/env bash
# Set everything up (first run only) and run the tests: unit tests, then every notebook executed under nbval at
# the smoke profile (into a temporary store and figures folder, so committed figures are untouched), then the
# reviewers' check: every notebook re-plotted at quick from the shipped bundle (no training) and its claims
# compared with the committed ones (python -m uinfo check).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
source scripts/env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m uinfo prepare --profile smoke --output "$work/notebooks" \
  --store-dir "$work/store" --figures-dir "$work/figures" >/dev/null
.venv/bin/python -m pytest -p no:cacheprovider tests "$work"/notebooks/*.ipynb --nbval-lax "$@"
.venv/bin/python -m uinfo check --profile quick
