"""A sensor in reschedule mode tailing a job's log across pokes: each line must reach the task log once."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.sensors.training import TrainingJobSensor

BUCKET = "/modelarts-demo/e2e-reschedule"

with DAG(dag_id="e2e_reschedule", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

    @task
    def upload() -> None:
        ObsHook().upload_string(path=f"{BUCKET}/code/train.py", text="import time\nfor i in range(40):\n    print('reschedule-line-%02d' % i, flush=True)\n"
                          "    time.sleep(0.4)\n")
        ObsHook().upload_string(path=f"{BUCKET}/data/x.csv", text="1,1\n")

    train = CreateTrainingJobOperator(
        task_id="train", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"{BUCKET}/code/", boot_file=f"{BUCKET}/code/train.py", inputs=f"{BUCKET}/data/",
        output_path=f"{BUCKET}/out/", train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1)
    wait = TrainingJobSensor(
        task_id="wait", job_id="{{ ti.xcom_pull(task_ids='train', key='job_id') }}",
        version_id="{{ ti.xcom_pull(task_ids='train', key='version_id') }}", mode="reschedule", poke_interval=3,
        # Airflow 3.3 + LocalExecutor on 2 cores: a poke's late "finished" event can reach the scheduler after
        # the next poke was queued and mark the sensor failed ("state changed externally"); a retry resumes
        # from the saved cursor, so no line repeats
        retries=2, retry_delay=timedelta(seconds=2))
    upload() >> train >> wait
