#!/usr/bin/env bash
# The README's demo command: installs what it needs (a virtualenv with Airflow 3.3 and this provider), then
# runs the modelarts_quickstart DAG end to end on the embedded ModelArts emulator and prints a summary.
# The emulator is stopped by PID on exit, Ctrl-C or failure (scripts/demo_run.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
echo "== installing (virtualenv $VENV, Airflow $AIRFLOW_VERSION)"
ensure_venv ""
exec "$VENV/bin/python" scripts/demo_run.py
