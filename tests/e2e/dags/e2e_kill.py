"""A long training task (waiting in the worker), to be killed while it runs: the remote version must end KILLED."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

BUCKET = "/modelarts-demo/e2e-kill"

with DAG(dag_id="e2e_kill", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

    @task
    def upload() -> None:
        ObsHook().upload_string(path=f"{BUCKET}/code/train.py", text="import time\nfor i in range(600):\n    print('still training', i, flush=True)\n"
                          "    time.sleep(0.5)\n")
        ObsHook().upload_string(path=f"{BUCKET}/data/x.csv", text="1,1\n")

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
