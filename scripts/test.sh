#!/usr/bin/env bash
# The README's test command: installs everything it needs into a virtualenv, then runs ruff and pytest.
#   ./scripts/test.sh                      # Airflow 3.3 (the main target)
#   AIRFLOW_VERSION=2.11.2 ./scripts/test.sh
#   ./scripts/test.sh tests/unit -k signer # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv-af${AIRFLOW_VERSION%%.*}}"

if ! command -v uv >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
fi
UV="$(command -v uv || echo "$PYTHON -m uv")"
if [ ! -x "$VENV/bin/python" ]; then
  $UV venv --quiet --python "$PYTHON" "$VENV"
fi
$UV pip install --quiet --python "$VENV/bin/python" "apache-airflow==${AIRFLOW_VERSION}" -e ".[test]"

echo "== ruff (Airflow ${AIRFLOW_VERSION})"
"$VENV/bin/ruff" check .
echo "== pytest (Airflow ${AIRFLOW_VERSION})"
"$VENV/bin/python" -m pytest "$@"
