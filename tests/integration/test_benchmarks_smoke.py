"""Every benchmark runs at tiny sizes, so they never rot (CI does not gate on their numbers); benchmark 8 in
``test_benchmark_triggerer_smoke.py``, beside this one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

pytestmark = pytest.mark.slow(60)  # seconds in the suite: started first (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the benchmarks target Airflow 3")
def test_all_benchmarks_run_at_smoke_size(tmp_path):
    others = ("parse_cost,requests_per_job,log_efficiency,triggerer_scale,fault_soak,bad_input_audit,emulator_cost,"
              "poll_cost")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run_all", "--smoke", "--only", others], cwd=REPO,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for number in ("1. DAG-parse cost", "2. Requests per job", "3. Log efficiency", "4. Triggerer scale",
                   "5. Fault soak", "6. Bad input", "6. Secret audit", "7. Emulator cost",
                   "9. Poll cost"):
        assert number in proc.stdout
