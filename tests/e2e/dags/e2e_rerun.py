"""What users do to running training tasks: clear them, mark them failed, restart the triggerer, retry after a
failed job, render a bad value. Each DAG trains a job that prints numbered lines ``rerun-line-NNN``."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_modelarts.hooks.obs import ObsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.sensors.training import TrainingJobSensor

BUCKET = "/modelarts-demo/e2e-rerun"
#: the jobs users clear or mark failed, and the one the triggerer restart interrupts, print at least ten lines and
#: then on, two a second, until the test releases their DAG run (writes ``release-<run id>`` without ``:+.`` into
#: the job's data directory; at most 200 s): after the next try has reattached (a loaded machine can take longer to
#: start that try than a job of fixed length runs), or after the restarted triggerer has tailed the job live. The
#: cleared ones then print for 10 s more (``tail``): a task that resumes from its deferral a moment after it
#: deferred can be failed by Airflow 3.3's LocalExecutor, whose late "success" event of the deferring process
#: overrules the resumed try (seen 6 s after the deferral on a loaded machine; cf. the reschedule DAG)
RUN_RELEASE = "release-{{ run_id | replace(':', '') | replace('+', '') | replace('.', '') }}"
SCRIPT = """
import argparse, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lines", type=int, default=40); p.add_argument("--exit_code", type=int, default=0)
p.add_argument("--until", default=""); p.add_argument("--data_url", default="")
p.add_argument("--tail", type=int, default=0)
a, _ = p.parse_known_args()
i = 0
while i < a.lines or (a.until and i < 400 and not os.path.exists(os.path.join(a.data_url, a.until))):
    print("rerun-line-%03d" % i, flush=True)
    i += 1
    time.sleep(0.5)
for i in range(i, i + a.tail):
    print("rerun-line-%03d" % i, flush=True)
    time.sleep(0.5)
sys.exit(a.exit_code)
"""


@task
def upload() -> None:
    ObsHook().upload_string(path=f"{BUCKET}/code/train.py", text=SCRIPT)
    ObsHook().upload_string(path=f"{BUCKET}/data/x.csv", text="1,1\n")


def training(dag_id: str, lines: int = 40, exit_code: int = 0, until: str = "", tail: int = 0,
             **kwargs) -> CreateTrainingJobOperator:
    kwargs.setdefault("train_instance_count", 1)
    return CreateTrainingJobOperator(
        task_id="train", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"{BUCKET}/code/", boot_file=f"{BUCKET}/code/train.py", inputs=f"{BUCKET}/data/",
        output_path=f"{BUCKET}/out/{dag_id}/", train_instance_type="modelarts.vm.cpu.2u",
        hyperparameters={"lines": lines, "exit_code": exit_code, **({"until": until, "tail": tail} if until else {})},
        **kwargs)


def dag(dag_id: str, **kwargs) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, **kwargs)


# clear it while deferred: the next try reattaches and completes; mark it failed: the job stops
with dag("e2e_rerun_operator"):
    upload() >> training("e2e_rerun_operator", lines=10, until=RUN_RELEASE, tail=20, wait=True, deferrable=True,
                         poll_interval=2)

# the same waiting in the worker: clearing it kills the running try, whose on_kill must leave the job alone
with dag("e2e_rerun_sync"):
    upload() >> training("e2e_rerun_sync", lines=10, until=RUN_RELEASE, tail=20, wait=True, deferrable=False,
                         poll_interval=2)

# clear the deferred sensor: the job keeps running (the sensor did not create it), the next try sees it complete
with dag("e2e_rerun_sensor"):
    upload() >> training("e2e_rerun_sensor", lines=10, until=RUN_RELEASE, tail=20) >> TrainingJobSensor(
        task_id="wait", job_id="{{ ti.xcom_pull(task_ids='train', key='job_id') }}",
        version_id="{{ ti.xcom_pull(task_ids='train', key='version_id') }}", deferrable=True, poll_interval=2)

# the triggerer is restarted while it tails this job's log: each line reaches the task log once
with dag("e2e_triggerer_restart"):
    upload() >> training("e2e_triggerer_restart", lines=10, until=RUN_RELEASE, wait=True, deferrable=True,
                         poll_interval=2)

# wait=False + sensor, and the training fails: the sensor's error says how to train again
with dag("e2e_sensor_failure"):
    upload() >> training("e2e_sensor_failure", lines=3, exit_code=3) >> TrainingJobSensor(
        task_id="wait", job_id="{{ ti.xcom_pull(task_ids='train', key='job_id') }}",
        version_id="{{ ti.xcom_pull(task_ids='train', key='version_id') }}", deferrable=True, poll_interval=2,
        retries=1, retry_delay=timedelta(seconds=1))

# a value that renders wrong is a configuration error: the task fails once, its retries are not used
with dag("e2e_config_error", params={"count": 0}):
    training("e2e_config_error", train_instance_count="{{ params.count }}", retries=3,
             retry_delay=timedelta(seconds=1))
