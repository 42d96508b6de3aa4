"""Benchmark 8 (Airflow's own triggerer: ours and the baseline round) runs at a tiny size, so it never rots (CI does
not gate on its numbers). A file of its own, so that pytest-xdist runs it beside the other benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

pytestmark = pytest.mark.slow(45)  # seconds in the suite: started first (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the benchmarks target Airflow 3")
def test_the_airflow_triggerer_benchmark_runs_at_smoke_size(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run_all", "--smoke", "--only", "airflow_triggerer"],
                          cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 8. Airflow triggerer")]
    assert any("events recorded / watches | 20/20 | Airflow alone (baseline): 20/20" in row for row in rows), rows
