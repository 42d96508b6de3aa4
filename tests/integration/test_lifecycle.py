"""Operator, sensor and trigger against the emulator over HTTP (real hook, real signing, real jobs).

The Airflow task instance is a small stand-in that records XComs: the Airflow-side runs through real
schedulers are in tests/e2e.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from datetime import datetime, timezone

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS
from helpers import TRAIN_FAIL, TRAIN_OK, put, unique

from airflow_provider_modelarts.exceptions import ModelArtsConfigError, ModelArtsJobError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.sensors.training import TrainingJobSensor
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

pytestmark = pytest.mark.slow(16)  # seconds in the suite: started first (tests/conftest.py)

RETRY_SCRIPT = """
import os, sys
print("attempt starting", flush=True)
if not os.path.exists("already-failed-once"):
    open("already-failed-once", "w").close()
    print("first run: failing on purpose", flush=True)
    sys.exit(1)
print("second run: training ok", flush=True)
"""


STRUCTLOG_LINE = re.compile(r"^\S+ \[\w+\s*\] (.*?) \[[\w.]+\] loc=\S+$")


class TaskInstanceStub:
    """What the operator reads from ``context["ti"]``; records XComs."""

    def __init__(self, dag_id: str = "dag", task_id: str = "train", run_id: str | None = None) -> None:
        self.dag_id, self.task_id = dag_id, task_id
        self.run_id = run_id or unique("manual")
        self.map_index = -1
        self.try_number = 1
        self.start_date = datetime.now(timezone.utc)
        self.xcoms: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcoms[key] = value


def ctx(ti: TaskInstanceStub | None = None) -> dict:
    return {"ti": ti or TaskInstanceStub()}


@pytest.fixture
def conn(emu, use_conn):
    use_conn("aksk", retry_backoff=0.05, retry_max_delay=0.2)
    return emu


@pytest.fixture
def lines(caplog, capsys):
    """Messages logged by the operator/sensor/trigger/watcher loggers (stdlib logging or Airflow's structlog)."""
    caplog.set_level(logging.INFO)
    seen: list[str] = []

    def read() -> list[str]:
        out = capsys.readouterr().out
        for line in out.splitlines():
            match = STRUCTLOG_LINE.match(line)
            seen.append(match.group(1) if match else line)
        records = [r.getMessage() for r in caplog.records]
        # Airflow 3 task loggers are structlog (stdout); on Airflow 2 they are stdlib loggers, which
        # caplog sees and which also echo to stdout
        return records + seen if AIRFLOW_V_3_0_PLUS else records

    return read


def framework_op(emu, name: str, script: str = TRAIN_OK, **kwargs) -> CreateTrainingJobOperator:
    put(emu, f"/bucket/{name}/code/train.py", script)
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    params = dict(task_id="train", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
                  code_dir=f"obs://bucket/{name}/code/", boot_file=f"obs://bucket/{name}/code/train.py",
                  inputs=f"obs://bucket/{name}/data/", output_path=f"obs://bucket/{name}/out/",
                  log_url=f"/bucket/{name}/logs/", hyperparameters=[{"label": "lr", "value": "0.2"}],
                  train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1, job_name=name,
                  poll_interval=0.1)
    params.update(kwargs)
    return CreateTrainingJobOperator(**params)


def job_count(name: str) -> int:
    return ModelArtsHook().list_training_jobs(search_content=name)[0]


# ---------------------------------------------------------------------------------------------- seed examples
def test_seed_example_obs_inputs(conn, lines):
    name = unique("seed_obs")
    ti = TaskInstanceStub()
    result = framework_op(conn, name, wait=True).execute(ctx(ti))
    assert result["status_name"] == "JOBSTAT_COMPLETED" and result["version_name"] == "V0001"
    assert ti.xcoms["job_id"] == result["job_id"] and ti.xcoms["version_id"] == result["version_id"]
    assert ti.xcoms["modelarts_console_url"] == conn.console_url(result["job_id"], result["version_id"])
    assert json.loads(conn.obs_path(f"/bucket/{name}/out/metrics-0.json").read_text())["lr"] == 0.2
    assert any("[job-" in m and "done" in m for m in lines())


def test_seed_example_dataset(conn):
    name = unique("seed_ds")
    put(conn, f"/bucket/{name}/ds/v3/a.txt", "a")
    conn.add_dataset("dataset-" + name, "v3", f"/bucket/{name}/ds/v3/")
    op = framework_op(conn, name, wait=True, inputs=None, dataset_id="dataset-" + name, dataset_version_id="v3")
    assert op.execute(ctx())["status_name"] == "JOBSTAT_COMPLETED"
    assert conn.obs_path(f"/bucket/{name}/out/metrics-0.json").exists()


def test_seed_example_custom_image(conn):
    name = unique("seed_img")
    put(conn, f"/bucket/{name}/data/a.txt", "a")
    op = CreateTrainingJobOperator(
        task_id="train", user_image_url="swr.cn-north-4.myhuaweicloud.com/team/train:1.0",
        user_command="echo training with lr=$lr; echo model > $TRAIN_URL/model.bin", inputs=f"/bucket/{name}/data/",
        output_path=f"/bucket/{name}/out/", hyperparameters={"lr": 0.3}, train_instance_type="modelarts.vm.cpu.2u",
        train_instance_count=1, job_name=name, wait=True, poll_interval=0.1)
    assert op.execute(ctx())["status_name"] == "JOBSTAT_COMPLETED"
    assert conn.obs_path(f"/bucket/{name}/out/model.bin").read_text() == "model\n"


def test_seed_example_built_in_model(conn):
    name = unique("seed_builtin")
    put(conn, f"/bucket/{name}/data/img.jpg", "x")
    op = CreateTrainingJobOperator(
        task_id="train", model_name="Faster_RCNN_ResNet_v1_50", inputs=f"/bucket/{name}/data/",
        output_path=f"/bucket/{name}/out/", hyperparameters=[{"label": "max_epoches", "value": "1"}],
        train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1, job_name=name, wait=True,
        poll_interval=0.1)
    assert op.execute(ctx())["status_name"] == "JOBSTAT_COMPLETED"
    assert json.loads(conn.obs_path(f"/bucket/{name}/out/metrics.json").read_text())["epochs"] == 1


def test_wait_false_returns_at_once_with_ids(conn):
    result = framework_op(conn, unique("nowait"), "import time\ntime.sleep(1)\n").execute(ctx())
    assert result["status_name"] != "JOBSTAT_COMPLETED" and isinstance(result["job_id"], int)


# ---------------------------------------------------------------------------------------------- failure, retry
def test_failure_pulls_the_last_log_lines_into_the_task_log(conn, lines):
    op = framework_op(conn, unique("fails"), TRAIN_FAIL, wait=True, print_log=False, failure_log_lines=5)
    with pytest.raises(ModelArtsJobError) as err:
        op.execute(ctx())
    assert "JOBSTAT_FAILED" in str(err.value) and "worker-0 exited with code 3" in str(err.value)
    assert "the last lines of each worker's log are above" in str(err.value)
    logged = "\n".join(lines())
    assert "--- last 5 lines of job-" in logged and "step 28" in logged and "step 20" not in logged
    # one excerpt per failed try: in the log, not repeated in the error Airflow logs again
    assert logged.count("Traceback: something broke in the training loop") == 1
    assert "Traceback: something broke" not in str(err.value)


def test_retry_creates_v0002_of_the_same_job(conn, lines):
    name = unique("retry")
    ti = TaskInstanceStub()
    with pytest.raises(ModelArtsJobError, match="JOBSTAT_FAILED"):
        framework_op(conn, name, RETRY_SCRIPT, wait=True).execute(ctx(ti))
    assert "first run: failing on purpose" in "\n".join(lines())
    ti.try_number = 2
    result = framework_op(conn, name, RETRY_SCRIPT, wait=True).execute(ctx(ti))
    assert (result["version_name"], result["status_name"]) == ("V0002", "JOBSTAT_COMPLETED")
    assert job_count(name) == 1
    versions = ModelArtsHook().list_job_versions(result["job_id"])
    assert [(v.version_name, v.state.name) for v in versions] == [("V0002", "JOBSTAT_COMPLETED"),
                                                                   ("V0001", "JOBSTAT_FAILED")]


def test_derived_job_name_is_stable_across_tries(conn):
    ti = TaskInstanceStub(dag_id="a_dag_with_a_rather_long_name_for_testing", task_id="train_the_model",
                          run_id="scheduled__2026-11-27T00:00:00+00:00")
    first = framework_op(conn, unique("derived"), wait=True, job_name=None).execute(ctx(ti))
    second = framework_op(conn, unique("derived"), wait=True, job_name=None).execute(ctx(ti))
    assert first["job_name"] == second["job_name"] and len(first["job_name"]) <= 64
    assert (first["job_id"], second["version_name"]) == (second["job_id"], "V0002")


def test_reattach_after_a_try_died_while_the_job_ran(conn, lines):
    name = unique("reattach")
    ti = TaskInstanceStub()
    script = "import time\nfor i in range(10):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"
    first = framework_op(conn, name, script).execute(ctx(ti))  # the try that submitted, then died
    ti.try_number = 2
    second = framework_op(conn, name, script, wait=True).execute(ctx(ti))
    assert (second["job_id"], second["version_id"]) == (first["job_id"], first["version_id"])
    assert second["version_name"] == "V0001" and second["status_name"] == "JOBSTAT_COMPLETED"
    assert any("Reattaching to" in m for m in lines())
    ticks = [m for m in lines() if "] tick " in m]
    assert len(ticks) == 10 and len(set(ticks)) == 10


def test_running_version_of_another_run_is_never_adopted(conn):
    name = unique("foreign")
    framework_op(conn, name, "import time\ntime.sleep(3)\n").execute(ctx(TaskInstanceStub(run_id="run_a")))
    with pytest.raises(ModelArtsJobError, match="another DAG run or task started it; not adopting"):
        framework_op(conn, name, "import time\ntime.sleep(3)\n").execute(ctx(TaskInstanceStub(run_id="run_b")))
    assert job_count(name) == 1


@pytest.mark.parametrize("policy", ["reuse_completed", "fail"])
def test_if_exists_policies(conn, policy):
    name = unique("exists")
    ti = TaskInstanceStub()
    first = framework_op(conn, name, wait=True).execute(ctx(ti))
    op = framework_op(conn, name, wait=True, if_exists=policy)
    if policy == "fail":
        with pytest.raises(ModelArtsJobError, match="if_exists='fail'"):
            op.execute(ctx(ti))
    else:
        assert op.execute(ctx(ti))["version_id"] == first["version_id"]


@pytest.mark.parametrize("fault", ["create_job=drop/after#1", "create_job=503/after#1", "create_job=504/after#1"])
def test_lost_create_response_leaves_exactly_one_job(conn, fault):
    name = unique("lostresp")
    conn.set_faults(fault)
    result = framework_op(conn, name, wait=True).execute(ctx())
    assert result["status_name"] == "JOBSTAT_COMPLETED" and result["version_name"] == "V0001"
    assert job_count(name) == 1
    assert conn.stats()["requests"]["create_job"] == 1


def test_failed_create_before_the_operation_is_tried_again(conn):
    name = unique("beforefault")
    conn.set_faults("create_job=503#1")
    result = framework_op(conn, name, wait=True).execute(ctx())
    assert result["status_name"] == "JOBSTAT_COMPLETED" and job_count(name) == 1
    assert conn.stats()["requests"]["create_job"] == 2


def test_max_run_time_stops_the_job(conn):
    name = unique("slow")
    with pytest.raises(ModelArtsJobError, match="max_run_time exceeded"):
        framework_op(conn, name, "import time\ntime.sleep(30)\n", wait=True, max_run_time=1).execute(ctx())
    hook = ModelArtsHook()
    job = hook.find_job_by_name(name)
    deadline = time.monotonic() + 10
    while hook.get_job_version(job.job_id, job.version_id).state.code != 12 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hook.get_job_version(job.job_id, job.version_id).state.name == "JOBSTAT_KILLED"


# ---------------------------------------------------------------------------------------------- kill
def test_on_kill_stops_the_remote_version(conn):
    name = unique("kill")
    op = framework_op(conn, name, "import time\nprint('long', flush=True)\ntime.sleep(60)\n", wait=True)

    def kill_when_submitted():  # what Airflow does from outside the task's execute()
        deadline = time.monotonic() + 10
        while op._ref is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        op.on_kill()

    killer = threading.Thread(target=kill_when_submitted, daemon=True)
    killer.start()
    with pytest.raises(ModelArtsJobError, match="JOBSTAT_KILLED"):
        op.execute(ctx())
    killer.join(5)
    assert ModelArtsHook().get_job_version(op._ref.job_id, op._ref.version_id).state.name == "JOBSTAT_KILLED"


def test_trigger_on_kill_stops_the_remote_version(conn):
    result = framework_op(conn, unique("tkill"), "import time\ntime.sleep(60)\n").execute(ctx())
    trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result["version_id"], poll_interval=0.1)
    asyncio.run(trigger.on_kill())
    hook = ModelArtsHook()
    deadline = time.monotonic() + 10
    while hook.get_job_version(result["job_id"], result["version_id"]).state.code != 12:
        assert time.monotonic() < deadline
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------- deferral
def _run_trigger(trigger: TrainingJobTrigger) -> dict:
    async def first_event():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first_event())


def test_operator_defers_and_trigger_yields_success(conn, lines):
    from airflow.providers.common.compat.sdk import TaskDeferred

    name = unique("defer")
    op = framework_op(conn, name, "import time\ntime.sleep(0.5)\nprint('trained', flush=True)\n", wait=True,
                      deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx())
    trigger = deferred.value.trigger
    assert isinstance(trigger, TrainingJobTrigger) and deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_modelarts.triggers.training.TrainingJobTrigger"
    event = _run_trigger(TrainingJobTrigger(**json.loads(json.dumps(kwargs))))
    assert event["status"] == "success" and event["status_name"] == "JOBSTAT_COMPLETED"
    assert set(event) == {"status", "job_id", "version_id", "status_code", "status_name", "message", "log_cursor"}
    result = op.execute_complete(ctx(), event=event)
    assert result["status_name"] == "JOBSTAT_COMPLETED"
    # the job's last line: the trigger left it (written as the job ended) to the resumed task, which printed it once
    assert [m for m in lines() if "] trained" in m] == [f"[job-{name.lower().replace('_', '-')}.0] trained"]


def test_deferred_failure_pulls_logs_in_execute_complete(conn, lines):
    from airflow.providers.common.compat.sdk import TaskDeferred

    op = framework_op(conn, unique("deferfail"), "import time\ntime.sleep(0.5)\n" + TRAIN_FAIL, wait=True,
                      deferrable=True, print_log=False)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx())
    event = _run_trigger(deferred.value.trigger)
    assert event["status"] == "failed" and "worker-0 exited with code 3" in event["message"]
    with pytest.raises(ModelArtsJobError, match="JOBSTAT_FAILED"):
        op.execute_complete(ctx(), event=event)
    assert "Traceback: something broke in the training loop" in "\n".join(lines())
    with pytest.raises(ModelArtsJobError, match="Invalid trigger event"):
        op.execute_complete(ctx(), event={"status": "weird"})


def test_trigger_stopped_timeout_and_error_events(conn, use_conn):
    result = framework_op(conn, unique("tevents"), "import time\ntime.sleep(60)\n").execute(ctx())
    ids = {"job_id": result["job_id"], "version_id": result["version_id"], "poll_interval": 0.1}
    assert _run_trigger(TrainingJobTrigger(**ids, deadline=time.time() + 0.3))["status"] == "timeout"
    ModelArtsHook().stop_job_version(result["job_id"], result["version_id"])
    assert _run_trigger(TrainingJobTrigger(**ids))["status"] == "stopped"
    event = _run_trigger(TrainingJobTrigger(**{**ids, "version_id": 1}))
    assert event["status"] == "error" and "does not exist" in event["message"]


def test_operator_that_finishes_before_deferring_does_not_defer(conn):
    name = unique("quick")
    op = framework_op(conn, name, wait=True, deferrable=True)
    ti = TaskInstanceStub()
    framework_op(conn, name, "print('x')\n").execute(ctx(ti))  # same TI submitted and finished already
    time.sleep(1.5)
    op.if_exists = "reuse_completed"
    assert op.execute(ctx(ti))["status_name"] == "JOBSTAT_COMPLETED"


def test_sensor_poke_deferrable_and_failure(conn, lines):
    from airflow.providers.common.compat.sdk import TaskDeferred

    ok = framework_op(conn, unique("sense"), "import time\ntime.sleep(0.5)\nprint('sensed', flush=True)\n").execute(
        ctx())
    sensor = TrainingJobSensor(task_id="wait", job_id=str(ok["job_id"]), version_id=ok["version_id"], poke_interval=0.1)
    deadline = time.monotonic() + 15
    while not sensor.poke(ctx()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len([m for m in lines() if "] sensed" in m]) == 1
    bad = framework_op(conn, unique("sensefail"), TRAIN_FAIL).execute(ctx())
    deferrable = TrainingJobSensor(task_id="wait", job_id=bad["job_id"], version_id=bad["version_id"],
                                   deferrable=True, poke_interval=0.1, print_log=False)
    try:
        deferrable.execute(ctx())
        pytest.fail("expected a deferral or a failure")
    except TaskDeferred as deferred:
        event = _run_trigger(deferred.trigger)
        with pytest.raises(ModelArtsJobError, match="JOBSTAT_FAILED"):
            deferrable.execute_complete(ctx(), event=event)
    except ModelArtsJobError as err:  # it had already failed before the deferral: same outcome, inline
        assert "JOBSTAT_FAILED" in str(err)
    assert "Traceback: something broke" in "\n".join(lines())


# ---------------------------------------------------------------------------------------------- log tail
def test_ten_thousand_lines_are_delivered_exactly_once(conn, lines):
    name = unique("loud")
    script = "import time\nfor i in range(10000):\n    print('line-%05d' % i)\n    if i % 2000 == 0: time.sleep(0.3)\n"
    framework_op(conn, name, script, wait=True).execute(ctx())
    got = [m.split("] ", 1)[1].rstrip() for m in lines() if "] line-" in m]
    assert got == [f"line-{i:05d}" for i in range(10000)]


# ---------------------------------------------------------------------------------------------- bad input
BASE = dict(task_id="t", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
            code_dir="/bucket/code/", boot_file="/bucket/code/train.py", inputs="/bucket/data/",
            output_path="/bucket/out/", train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1)

BAD_STATIC = [
    ({"train_instance_type": None}, "train_instance_type"),
    ({"train_instance_count": None}, "train_instance_count"),
    ({"train_instance_count": 0}, "train_instance_count"),
    ({"train_instance_count": "two"}, "train_instance_count"),
    ({"train_instance_count": True}, "train_instance_count"),
    ({"output_path": None}, "output_path"),
    ({"inputs": None}, "inputs/dataset_id/data_source"),
    ({"dataset_id": "d", "dataset_version_id": "v"}, "inputs/dataset_id/data_source"),
    ({"inputs": None, "dataset_id": "d"}, "dataset_version_id"),
    ({"inputs": None, "dataset_version_id": "v"}, "dataset_version_id"),
    ({"inputs": None, "data_source": []}, "inputs/dataset_id/data_source"),
    ({"inputs": None, "data_source": [{"type": "obs"}]}, "data_source[0]"),
    ({"model_name": "Faster_RCNN_ResNet_v1_50"}, "framework_type"),
    ({"model_name": "X", "framework_type": None, "framework_version": None, "code_dir": None, "boot_file": None,
      "user_image_url": "swr/x:1"}, "user_image_url"),
    ({"user_image_url": "swr/x:1"}, "user_command"),
    ({"user_image_url": "swr/x:1", "user_command": "python x.py", "code_dir": None, "boot_file": None},
     "framework_type"),
    ({"framework_type": None}, "framework_type"),
    ({"framework_version": None}, "framework_version"),
    ({"code_dir": None}, "code_dir"),
    ({"boot_file": None}, "boot_file"),
    ({"boot_file": "/bucket/other/train.py"}, "boot_file"),
    ({"user_command": "python x.py"}, "user_command"),
    ({"job_name": "has space"}, "job_name"),
    ({"job_name": "x" * 65}, "job_name"),
    ({"hyperparameters": [{"label": "lr"}]}, "hyperparameters[0]"),
    ({"hyperparameters": [{"label": "", "value": "1"}]}, "hyperparameters[0].label"),
    ({"hyperparameters": [{"label": "lr", "value": None}]}, "hyperparameters[0].value"),
    ({"hyperparameters": "lr=1"}, "hyperparameters"),
    ({"inputs": "s3:/bucket"}, "inputs"),
    ({"output_path": "bucket/out"}, "output_path"),
    ({"code_dir": "/B/code/"}, "code_dir"),
    ({"log_url": "http://x/y"}, "log_url"),
    ({"job_description": "x" * 201}, "job_description"),
    ({"if_exists": "overwrite"}, "if_exists"),
    ({"poll_interval": 0}, "poll_interval"),
    ({"max_run_time": -1}, "max_run_time"),
]


@pytest.mark.parametrize(("change", "field"), BAD_STATIC, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_STATIC)])
def test_invalid_static_configuration_fails_at_construction(conn, change, field):
    with pytest.raises(ModelArtsConfigError) as err:
        CreateTrainingJobOperator(**{**BASE, **change})
    assert str(err.value).startswith(f"{field}:"), str(err.value)
    assert conn.stats()["requests"] == {"admin_stats": 1} or set(conn.stats()["requests"]) <= {"admin_stats"}


BAD_AFTER_LOOKUP = [
    ({"train_instance_type": "modelarts.vm.cpu.64u"}, "train_instance_type", "modelarts.vm.cpu.2u"),
    ({"train_instance_count": 3}, "train_instance_count", "max_num 2"),
    ({"framework_version": "PyTorch-9.9"}, "framework_type/framework_version", "PyTorch / PyTorch-1.0.0-python3.6"),
    ({"model_name": "NoSuchNet", "framework_type": None, "framework_version": None, "code_dir": None,
      "boot_file": None}, "model_name", "Faster_RCNN_ResNet_v1_50"),
]


@pytest.mark.parametrize(("change", "field", "choice"), BAD_AFTER_LOOKUP)
def test_unknown_names_list_the_valid_choices_and_create_nothing(conn, change, field, choice):
    op = CreateTrainingJobOperator(**{**BASE, **change, "job_name": unique("lookup")})
    with pytest.raises(ModelArtsConfigError) as err:
        op.execute(ctx())
    assert str(err.value).startswith(f"{field}:") and choice in str(err.value)
    assert "create_job" not in conn.stats()["requests"] and "list_jobs" not in conn.stats()["requests"]


def test_templated_values_are_validated_after_rendering_before_any_request(conn):
    op = CreateTrainingJobOperator(**{**BASE, "train_instance_count": "{{ params.n }}"})
    op.train_instance_count = "zero"  # what rendering produced
    with pytest.raises(ModelArtsConfigError, match="^train_instance_count:"):
        op.execute(ctx())
    assert conn.stats()["requests"].keys() <= {"admin_stats"}


def test_sensor_rejects_bad_ids(conn):
    with pytest.raises(ModelArtsConfigError, match="^job_id:"):
        TrainingJobSensor(task_id="s", job_id="abc", version_id=1)
    with pytest.raises(ModelArtsConfigError, match="^version_id:"):
        TrainingJobSensor(task_id="s", job_id=1, version_id="v1")
    with pytest.raises(ModelArtsConfigError, match="^job_id:"):
        TrainingJobSensor(task_id="s", job_id="", version_id=None)
