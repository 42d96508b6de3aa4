#!/usr/bin/env bash
# Run the benchmarks and write docs/benchmarks.md (see benchmarks/NOTES.md).
#   ./scripts/bench.sh                        # all, full sizes (several minutes)
#   ./scripts/bench.sh --only triggerer_scale # one (or a comma-separated list)
#   ./scripts/bench.sh --smoke                # tiny sizes, writes nothing
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "[test,benchmark]"
exec "$VENV/bin/python" -m benchmarks.run_all "$@"
