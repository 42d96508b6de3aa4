"""Eight tasks at once on a connection with a wrong secret key, each with retries=5: the access key must not be
locked (Huawei locks it after more than 5 bad signatures)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_modelarts.sensors.training import TrainingJobSensor

with DAG(dag_id="e2e_wrong_sk", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for index in range(8):
        TrainingJobSensor(task_id=f"wait_{index}", job_id="0b8a41a6-6b1e-4a44-9a29-1f3b2c4d5e6f",
                          modelarts_conn_id="modelarts_wrong_sk", poll_interval=1, retries=5,
                          retry_delay=timedelta(seconds=1))
