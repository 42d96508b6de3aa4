"""README command 1's engine (scripts/demo_run.py): the quickstart DAG end to end with dag.test(), on each API
version — the same DAG, only the connection's api_version differs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

pytestmark = pytest.mark.slow(45)  # seconds in the suite: started first (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the example DAGs target Airflow 3")
@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_quickstart_demo_runs_on_either_api_version(api_version, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["MODELARTS_API_VERSION"] = api_version
    env["MODELARTS_DEMO_DIR"] = str(tmp_path)  # the two API versions may run at once (pytest-xdist)
    proc = subprocess.run([sys.executable, "scripts/demo_run.py"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "DAG run            modelarts_quickstart: success" in out
    assert "status             " + ("Completed" if api_version == "v2" else "JOBSTAT_COMPLETED (10)") in out
    assert '"accuracy":' in out and f"API                {api_version}" in out
    assert ("version            V0001" in out) == (api_version == "v1")
    assert "22 lines tailed into the task log; last: training finished" in out
