#!/usr/bin/env bash
# The README's test command: installs everything it needs into a virtualenv, then runs ruff and pytest.
#   ./scripts/test.sh                      # Airflow 3.3 (the main target)
#   AIRFLOW_VERSION=2.11.2 ./scripts/test.sh
#   ./scripts/test.sh tests/unit -k signer # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "[test]"
# the console's browser tests (tests/e2e/test_console_browser.py) drive Debian's chromium through chromedriver
if ! command -v chromedriver >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian's chromium + chromium-driver (browser tests)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; } ||
    echo "!! could not install chromium: the browser tests will fail and say so"
fi
# the e2e tier's metadata DB is a throwaway PostgreSQL server (tests/pg_server.py): Debian's postgresql
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian's postgresql (the e2e tier's metadata DB)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null; } ||
    echo "!! could not install postgresql: the e2e tests will fail and say so"
fi
echo "== ruff (Airflow ${AIRFLOW_VERSION})"
"$VENV/bin/ruff" check .
# pytest-xdist: PYTEST_WORKERS workers (4: most tests wait on an emulator or an Airflow stack, not on a core); a
# module's tests stay on one worker (--dist loadfile), so each e2e stack (one module per API version) starts once;
# modules go out in the order tests/conftest.py gives them, the slowest first (--no-loadscope-reorder).
# PYTEST_WORKERS=0, or -n / --numprocesses in the arguments: as given.
WORKERS="${PYTEST_WORKERS:-4}"
PARALLEL=()
if [ "$WORKERS" != "0" ] && [[ " $* " != *" -n"* && " $* " != *" --numprocesses"* ]]; then
  PARALLEL=(-n "$WORKERS" --dist loadfile --no-loadscope-reorder)
fi
echo "== pytest (Airflow ${AIRFLOW_VERSION}${PARALLEL:+, $WORKERS workers})"
"$VENV/bin/python" -m pytest "${PARALLEL[@]}" "$@"
