"""Retries done right: the script fails on its first run; the task's retry trains V0002 of the same job.

The first try's task log ends with the failing script's last lines, pulled from ModelArts automatically.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from _storage import obs_object, upload_script
from airflow.sdk import DAG, task

from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

BUCKET = "/modelarts-demo/retry"

with DAG(
    dag_id="modelarts_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["modelarts", "example"],
) as dag:

    @task
    def upload() -> None:
        upload_script("flaky_train.py", f"{BUCKET}/code/")
        data = obs_object(f"{BUCKET}/data/x.csv")
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text("1,1\n")

    train = CreateTrainingJobOperator(
        task_id="train",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"{BUCKET}/code/",
        boot_file=f"{BUCKET}/code/flaky_train.py",
        inputs=f"{BUCKET}/data/",
        output_path=BUCKET + "/output/{{ run_id | replace(':', '-') | replace('+', '-') }}/",
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
