# Shared by scripts/test.sh and scripts/demo.sh: make $VENV with Airflow $AIRFLOW_VERSION and this package.
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv-af${AIRFLOW_VERSION%%.*}}"

ensure_venv() {  # $1: extras, e.g. "[test]" or ""
  if ! command -v uv >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
  fi
  local uv
  uv="$(command -v uv || echo "$PYTHON -m uv")"
  if [ ! -x "$VENV/bin/python" ]; then
    $uv venv --quiet --python "$PYTHON" "$VENV"
  fi
  $uv pip install --quiet --python "$VENV/bin/python" "apache-airflow==${AIRFLOW_VERSION}" -e ".$1"
}
