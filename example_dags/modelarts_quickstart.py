"""Quickstart: prepare data → train on ModelArts → wait in the triggerer → report the metrics.

Runs unchanged on the local emulator and on Huawei Cloud: only the ``modelarts_default`` connection differs
(and, on Huawei Cloud, the Variable ``modelarts_bucket``: bucket names are global). Data goes to OBS through
``ObsHook`` on the same connection; the training code is this folder's ``training/`` directory, uploaded by the
operator (content-addressed: once per change).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from airflow.sdk import DAG, Variable, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.sensors.training import TrainingJobSensor

#: the OBS bucket of the examples (created by the first task when it does not exist yet)
BUCKET = "{{ var.value.get('modelarts_bucket', 'modelarts-demo') }}"

with DAG(
    dag_id="modelarts_quickstart",
    description="Prepare data, train on ModelArts, wait without a worker slot, report metrics",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["modelarts", "example"],
) as dag:

    @task(multiple_outputs=True)
    def prepare_data(dag_run=None) -> dict[str, str]:
        """Write a small, real, linearly separable data set to OBS.

        Paths are partitioned by the run's date (manual runs in Airflow 3 have no logical date: run_after).
        """
        ds = (dag_run.logical_date or dag_run.run_after).strftime("%Y-%m-%d")
        rng = random.Random(ds)
        rows = []
        for _ in range(200):
            x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
            rows.append(f"{x1:.4f},{x2:.4f},{int(x1 + 0.5 * x2 > 0)}")
        obs = ObsHook()
        base = f"obs://{Variable.get('modelarts_bucket', default='modelarts-demo')}/quickstart"
        obs.create_bucket(base.split("/")[2])  # nothing happens when it exists and is yours
        obs.upload_string("\n".join(rows) + "\n", f"{base}/data/{ds}/train.csv")
        print(f"wrote {len(rows)} rows to {base}/data/{ds}/train.csv")
        return {"inputs": f"{base}/data/{ds}/", "output_path": f"{base}/output/{ds}/", "log_url": f"{base}/logs/{ds}/"}

    train = CreateTrainingJobOperator(
        task_id="train",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir="training/",  # local, beside this file: uploaded to OBS before the job is submitted
        boot_file="quickstart_train.py",
        code_upload_path=f"obs://{BUCKET}/quickstart/code/",
        inputs="{{ ti.xcom_pull(task_ids='prepare_data', key='inputs') }}",
        output_path="{{ ti.xcom_pull(task_ids='prepare_data', key='output_path') }}",
        log_url="{{ ti.xcom_pull(task_ids='prepare_data', key='log_url') }}",
        hyperparameters={"epochs": "20", "lr": "0.5", "epoch_seconds": "0.5"},
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        job_description="quickstart logistic regression",
        wait=False,
    )

    wait = TrainingJobSensor(
        task_id="wait_for_training",
        job_id="{{ ti.xcom_pull(task_ids='train', key='job_id') }}",
        version_id="{{ ti.xcom_pull(task_ids='train', key='version_id') }}",
        deferrable=True,
        poke_interval=2,
    )

    @task(multiple_outputs=False)
    def report_metrics(ti=None) -> dict[str, object]:
        """Read the metrics the training wrote to its output path (the sensor returns the finished job)."""
        result = ti.xcom_pull(task_ids="wait_for_training")
        metrics = json.loads(ObsHook().read_text(result["train_url"].rstrip("/") + "/metrics.json"))
        print(f"job {result['job_name']} {result.get('version_name') or ''} (job_id={result['job_id']}) "
              f"{result['status_name']} in {result['duration_seconds']} s: {metrics}")
        return {**metrics, **{key: result.get(key) for key in ("job_id", "version_id", "version_name",
                                                                "duration_seconds", "console_url")}}

    prepare_data() >> train >> wait >> report_metrics()
