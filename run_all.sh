#!/usr/bin/env bash
# Set everything up (first run only) and regenerate every figure, its executed notebook and figures/CLAIMS.md.
#   ./run_all.sh                      every notebook at the default profile (quick: a 2-core laptop CPU)
#   ./run_all.sh --profile paper      the papers' own settings (meant for a GPU)
#   ./run_all.sh --only NAME [NAME]   some notebooks;   ./run_all.sh --list   what there is
#   ./run_all.sh --plan [NAME...] [--profile P]   the runs a profile needs and their estimated cost
#   ./run_all.sh --jobs 2             two notebooks at a time;  --store-dir DIR  another results store
#   ./run_all.sh --no-bundle          compute what the store lacks instead of restoring bundle/<profile>
# Exits non-zero, naming each notebook that failed.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
source scripts/env.sh
if [ "${1:-}" = "--list" ]; then exec .venv/bin/python -m uinfo list; fi
if [ "${1:-}" = "--plan" ]; then shift; exec .venv/bin/python -m uinfo plan "$@"; fi
exec .venv/bin/python -m uinfo run "$@"
