"""1. DAG-parse cost: marginal import time of the operator + sensor modules after ``import airflow.sdk``,
ours against the SageMaker training operator + sensor, each in fresh processes, alternating."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.common import Row, median

OURS = "airflow_provider_modelarts.operators.training, airflow_provider_modelarts.sensors.training"
SAGEMAKER = "airflow.providers.amazon.aws.operators.sagemaker, airflow.providers.amazon.aws.sensors.sagemaker"
SNIPPET = ("import time, airflow.sdk\n"
           "t = time.perf_counter()\n"
           "import {modules}\n"
           "print(time.perf_counter() - t)\n")


def _measure(modules: str) -> float | None:
    proc = subprocess.run([sys.executable, "-c", SNIPPET.format(modules=modules)], capture_output=True, text=True,
                          env=None, timeout=300)
    if proc.returncode != 0:
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def run(smoke: bool = False) -> list[Row]:
    reps = 1 if smoke else 7
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(reps):
        value = _measure(OURS)
        assert value is not None, "importing our operator and sensor failed"
        ours.append(value)
        other = _measure(SAGEMAKER)
        if other is not None:
            theirs.append(other)
    rows = [Row("1. DAG-parse cost", "marginal import of operator + sensor after airflow.sdk (median, ms)",
                median(ours) * 1000, f"SageMaker: {median(theirs) * 1000:.0f} ms" if theirs else
                "SageMaker: amazon provider not installed")]
    if theirs:
        ratio = median(ours) / median(theirs)
        rows.append(Row("1. DAG-parse cost", f"ours / SageMaker ({reps} runs each)", ratio, "", "≤ 0.1",
                        ratio <= 0.1))
    return rows


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
