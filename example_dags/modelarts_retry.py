"""Retries done right: the script fails on its first run; the task's retry trains V0002 of the same job.

The first try's task log ends with the failing script's last lines, pulled from ModelArts automatically.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Variable, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

BUCKET = "{{ var.value.get('modelarts_bucket', 'modelarts-demo') }}"
BASE = f"obs://{BUCKET}/retry"

with DAG(
    dag_id="modelarts_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["modelarts", "example"],
) as dag:

    @task
    def upload() -> None:
        obs = ObsHook()
        bucket = Variable.get("modelarts_bucket", default="modelarts-demo")
        obs.create_bucket(bucket)  # nothing happens when it exists and is yours
        obs.upload_string("1,1\n", f"obs://{bucket}/retry/data/x.csv")

    train = CreateTrainingJobOperator(
        task_id="train",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir="training/",  # local, beside this file: uploaded once per change
        boot_file="flaky_train.py",
        code_upload_path=f"{BASE}/code/",
        inputs=f"{BASE}/data/",
        output_path=BASE + "/output/{{ run_id | replace(':', '-') | replace('+', '-') }}/",
        hyperparameters={"run_key": "{{ run_id | replace(':', '-') | replace('+', '-') }}"},
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        wait=True,
        deferrable=True,
        poll_interval=2,
        retries=2,
        retry_delay=timedelta(seconds=2),
        # a try that fails after its version completed (e.g. the worker died) reuses that version
        if_exists="reuse_completed",
    )

    upload() >> train
