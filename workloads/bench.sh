#!/usr/bin/env bash
# bench.sh -- `make bench`: speed figures as ratios measured side by side, one table
# per part on stdout (see workloads/bench.py for the parts and their goals).
# Never a pass/fail test. Environment: GILLAB, RESULTS, BENCH_PYTHON, QUICK=1.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 workloads/bench.py "$@"
