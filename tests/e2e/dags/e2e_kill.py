"""A long training task (waiting in the worker), to be killed while it runs: the remote version must end KILLED."""

from __future__ import annotations

from datetime import datetime

from _storage import obs_object  # example_dags/_storage.py, copied beside this file
from airflow.sdk import DAG, task

from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

BUCKET = "/modelarts-demo/e2e-kill"

with DAG(dag_id="e2e_kill", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

    @task
    def upload() -> None:
        target = obs_object(f"{BUCKET}/code/train.py")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("import time\nfor i in range(600):\n    print('still training', i, flush=True)\n"
                          "    time.sleep(0.5)\n")
        data = obs_object(f"{BUCKET}/data/x.csv")
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text("1,1\n")

    upload() >> CreateTrainingJobOperator(
        task_id="train",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"{BUCKET}/code/",
        boot_file=f"{BUCKET}/code/train.py",
        inputs=f"{BUCKET}/data/",
        output_path=f"{BUCKET}/out/",
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        wait=True,
        deferrable=False,
        poll_interval=1,
    )
