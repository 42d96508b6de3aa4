"""Schedule on "a new model was trained": an Airflow asset for the training output.

``modelarts_train_model`` trains and waits (``wait=True``); its ``outlets`` asset gets an event when the training
succeeded, whose ``extra`` names the job (``job_id``, ``job_name``, ``train_url``, ``console_url``, …).
``modelarts_on_new_model`` is scheduled on that asset: it runs for each new model and reads the model's metrics
from the ``train_url`` in the event. On Huawei Cloud, change the asset URI's bucket to yours (an asset URI is
fixed when the DAG is parsed).
"""

from __future__ import annotations

import json
from datetime import datetime

from airflow.sdk import DAG, Asset, Variable, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

MODEL = Asset("obs://modelarts-demo/asset-demo/model/")
BUCKET = "{{ var.value.get('modelarts_bucket', 'modelarts-demo') }}"

with DAG(dag_id="modelarts_train_model", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         tags=["modelarts", "example"]) as producer:

    @task
    def prepare_data() -> None:
        obs = ObsHook()
        bucket = Variable.get("modelarts_bucket", default="modelarts-demo")
        obs.create_bucket(bucket)
        obs.upload_string("0.5,0.5,1\n-0.5,-0.5,0\n0.9,0.1,1\n-0.2,-0.9,0\n",
                          f"obs://{bucket}/asset-demo/data/train.csv")

    prepare_data() >> CreateTrainingJobOperator(
        task_id="train",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir="training/",
        boot_file="quickstart_train.py",
        code_upload_path=f"obs://{BUCKET}/asset-demo/code/",
        inputs=f"obs://{BUCKET}/asset-demo/data/",
        output_path=f"obs://{BUCKET}/asset-demo/model/",
        hyperparameters={"epochs": "5"},
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        wait=True,
        deferrable=True,
        poll_interval=2,
        outlets=[MODEL],  # emitted when the training succeeded, with the job in the event's extra
    )

with DAG(dag_id="modelarts_on_new_model", schedule=[MODEL], start_date=datetime(2026, 1, 1), catchup=False,
         tags=["modelarts", "example"]) as consumer:

    @task(multiple_outputs=False)
    def use_new_model(triggering_asset_events=None) -> dict:
        """Runs for each model trained: the event says which job made it and where it is."""
        event = triggering_asset_events[MODEL][-1]
        job = event.extra
        metrics = json.loads(ObsHook().read_text(job["train_url"].rstrip("/") + "/metrics.json"))
        print(f"new model from {job['job_name']} (job_id={job['job_id']}) at {job['train_url']}: {metrics}")
        return {"job_id": job["job_id"], "train_url": job["train_url"], **metrics}

    use_new_model()
