"""The ModelArts SDK's four Estimator/fit examples, one operator each, parameters as in the SDK docs.

- OBS inputs with a framework (``framework_type`` / ``framework_version`` / ``code_dir`` / ``boot_file``);
- a dataset id and version;
- a custom image with ``user_command``;
- a built-in algorithm (``model_name``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Variable, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

#: the SDK's path form, /bucket/dir (the bucket: Variable modelarts_bucket, created by the first task)
BUCKET = "/{{ var.value.get('modelarts_bucket', 'modelarts-demo') }}/seed"

with DAG(dag_id="modelarts_seed_examples", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         tags=["modelarts", "example"]) as dag:

    @task
    def upload() -> None:
        """The code and data on OBS, where the SDK's examples expect them."""
        obs = ObsHook()
        bucket = Variable.get("modelarts_bucket", default="modelarts-demo")
        obs.create_bucket(bucket)  # nothing happens when it exists and is yours
        obs.upload_file(Path(__file__).parent / "training" / "quickstart_train.py",
                        f"/{bucket}/seed/code/quickstart_train.py")
        for folder in ("data", "dataset/v1"):
            obs.upload_string("0.5,0.5,1\n-0.5,-0.5,0\n0.9,0.1,1\n-0.2,-0.9,0\n", f"/{bucket}/seed/{folder}/train.csv")

    obs_inputs = CreateTrainingJobOperator(
        task_id="obs_inputs",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"{BUCKET}/code/",
        boot_file=f"{BUCKET}/code/quickstart_train.py",
        log_url=f"{BUCKET}/log/",
        hyperparameters=[{"label": "epochs", "value": "5"}],
        output_path=f"{BUCKET}/output/obs/",
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        inputs=f"{BUCKET}/data/",
        wait=True,
        poll_interval=2,
    )

    dataset = CreateTrainingJobOperator(
        task_id="dataset",
        framework_type="PyTorch",
        framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"{BUCKET}/code/",
        boot_file=f"{BUCKET}/code/quickstart_train.py",
        log_url=f"{BUCKET}/log/",
        output_path=f"{BUCKET}/output/dataset/",
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        dataset_id="{{ var.value.get('modelarts_demo_dataset_id', 'demo-dataset') }}",
        dataset_version_id="{{ var.value.get('modelarts_demo_dataset_version_id', 'v1') }}",
        wait=True,
        poll_interval=2,
    )

    custom_image = CreateTrainingJobOperator(
        task_id="custom_image",
        user_image_url="swr.cn-north-4.myhuaweicloud.com/modelarts-demo/train:1.0",
        user_command="echo training in a custom image with lr=$lr && echo ok > $TRAIN_URL/done.txt",
        hyperparameters=[{"label": "lr", "value": "0.01"}],
        log_url=f"{BUCKET}/log/",
        output_path=f"{BUCKET}/output/image/",
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        inputs=f"{BUCKET}/data/",
        wait=True,
        poll_interval=2,
    )

    built_in = CreateTrainingJobOperator(
        task_id="built_in",
        model_name="Faster_RCNN_ResNet_v1_50",
        hyperparameters=[{"label": "max_epoches", "value": "2"}],
        log_url=f"{BUCKET}/log/",
        output_path=f"{BUCKET}/output/builtin/",
        train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1,
        inputs=f"{BUCKET}/data/",
        wait=True,
        poll_interval=2,
    )

    upload() >> [obs_inputs, dataset, custom_image, built_in]
