#!/usr/bin/env bash
# The README's test command: installs everything it needs into a virtualenv, then runs ruff and pytest.
#   ./scripts/test.sh                      # Airflow 3.3 (the main target)
#   AIRFLOW_VERSION=2.11.2 ./scripts/test.sh
#   ./scripts/test.sh tests/unit -k signer # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "[test]"
echo "== ruff (Airflow ${AIRFLOW_VERSION})"
"$VENV/bin/ruff" check .
echo "== pytest (Airflow ${AIRFLOW_VERSION})"
"$VENV/bin/python" -m pytest "$@"
