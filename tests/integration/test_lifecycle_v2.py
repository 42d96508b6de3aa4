"""The same lifecycle on new-version (v2) training jobs: only the connection's api_version changes."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from helpers import TRAIN_FAIL, put, unique
from integration.test_lifecycle import (  # noqa: F401  (fixtures and helpers shared with the v1 tests)
    BASE,
    RETRY_SCRIPT,
    TaskInstanceStub,
    ctx,
    framework_op,
    lines,
)

from airflow_provider_modelarts.exceptions import ModelArtsConfigError, ModelArtsJobError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.sensors.training import TrainingJobSensor
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger


@pytest.fixture
def conn(emu, use_conn):
    use_conn("aksk", api_version="v2", retry_backoff=0.05, retry_max_delay=0.2)
    return emu


def jobs_named(prefix: str) -> list:
    return ModelArtsHook().search_training_jobs_v2(prefix)


def test_seed_examples_on_v2(conn, lines):  # noqa: F811
    name = unique("v2seed")
    ti = TaskInstanceStub()
    result = framework_op(conn, name, wait=True).execute(ctx(ti))
    assert result["status_name"] == "Completed" and "version_id" not in result and "version_name" not in result
    assert result["train_url"] == f"obs://bucket/{name}/out/" and result["status_code"] == "Completed"
    assert ti.xcoms["job_id"] == result["job_id"] and "version_id" not in ti.xcoms
    assert json.loads(conn.obs_path(f"/bucket/{name}/out/metrics-0.json").read_text())["lr"] == 0.2
    assert any("] done" in m for m in lines())

    put(conn, f"/bucket/{name}/ds/v1/a.txt", "a")
    conn.add_dataset("ds-" + name, "v1", f"/bucket/{name}/ds/v1/")
    op = framework_op(conn, unique("v2ds"), wait=True, inputs=None, dataset_id="ds-" + name, dataset_version_id="v1")
    assert op.execute(ctx())["status_name"] == "Completed"

    image = CreateTrainingJobOperator(
        task_id="t", user_image_url="swr.example/img:1", user_command="echo lr=$lr > $TRAIN_URL/out.txt; true",
        inputs=f"/bucket/{name}/data/", output_path=f"/bucket/{name}/img/", hyperparameters={"lr": "0.3"},
        train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1, job_name=unique("v2img"), wait=True,
        poll_interval=0.1)
    assert image.execute(ctx())["status_name"] == "Completed"
    assert conn.obs_path(f"/bucket/{name}/img/out.txt").read_text() == "lr=0.3\n"

    builtin = CreateTrainingJobOperator(
        task_id="t", model_name="Faster_RCNN_ResNet_v1_50", inputs=f"/bucket/{name}/data/",
        output_path=f"/bucket/{name}/builtin/", train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1,
        job_name=unique("v2builtin"), wait=True, poll_interval=0.1)
    assert builtin.execute(ctx())["status_name"] == "Completed"
    assert conn.obs_path(f"/bucket/{name}/builtin/metrics.json").exists()


def test_failure_logs_and_retry_as_a_new_attempt(conn, lines):  # noqa: F811
    name = unique("v2retry")
    ti = TaskInstanceStub()
    with pytest.raises(ModelArtsJobError, match="Failed"):
        framework_op(conn, name, RETRY_SCRIPT, wait=True).execute(ctx(ti))
    assert "first run: failing on purpose" in "\n".join(lines())
    result = framework_op(conn, name, RETRY_SCRIPT, wait=True).execute(ctx(ti))
    assert (result["job_name"], result["status_name"]) == (f"{name}-a2", "Completed")
    assert sorted((j.job_name, j.state.name) for j in jobs_named(name)) == [(name, "Failed"),
                                                                           (f"{name}-a2", "Completed")]
    with pytest.raises(ModelArtsJobError) as err:
        framework_op(conn, unique("v2fail"), TRAIN_FAIL, wait=True, print_log=False, failure_log_lines=3).execute(
            ctx())
    assert "ended Failed: worker-0 exited with code 3" in str(err.value)
    assert "\n".join(lines()).count("Traceback: something broke in the training loop") == 1


def test_reattach_and_foreign_jobs(conn, lines):  # noqa: F811
    name = unique("v2reattach")
    ti = TaskInstanceStub()
    script = "import time\nfor i in range(8):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"
    first = framework_op(conn, name, script).execute(ctx(ti))
    second = framework_op(conn, name, script, wait=True).execute(ctx(ti))
    assert second["job_id"] == first["job_id"] and second["status_name"] == "Completed"
    assert len([m for m in lines() if "] tick " in m]) == 8
    other = unique("v2foreign")
    framework_op(conn, other, "import time\ntime.sleep(3)\n").execute(ctx(TaskInstanceStub(run_id="a")))
    with pytest.raises(ModelArtsJobError, match="not adopting"):
        framework_op(conn, other, "import time\ntime.sleep(3)\n").execute(ctx(TaskInstanceStub(run_id="b")))
    assert len(jobs_named(other)) == 1


@pytest.mark.parametrize("fault", ["v2_create_job=drop/after#1", "v2_create_job=503/after#1"])
def test_lost_create_response_leaves_exactly_one_job(conn, fault):
    name = unique("v2lost")
    conn.set_faults(fault)
    assert framework_op(conn, name, wait=True).execute(ctx())["status_name"] == "Completed"
    assert [j.job_name for j in jobs_named(name)] == [name]


def test_deferral_trigger_events_and_kill(conn, lines):  # noqa: F811
    from airflow.providers.common.compat.sdk import TaskDeferred

    op = framework_op(conn, unique("v2defer"), "import time\ntime.sleep(0.5)\nprint('trained', flush=True)\n",
                      wait=True, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx())
    classpath, kwargs = deferred.value.trigger.serialize()
    trigger = TrainingJobTrigger(**json.loads(json.dumps(kwargs)))
    assert trigger.version_id is None and isinstance(trigger.job_id, str)

    async def first(t):
        async for event in t.run():
            return event.payload

    event = asyncio.run(first(trigger))
    assert event["status"] == "success" and event["status_name"] == "Completed"
    assert op.execute_complete(ctx(), event=event)["status_name"] == "Completed"

    running = framework_op(conn, unique("v2kill"), "import time\ntime.sleep(60)\n").execute(ctx())
    asyncio.run(TrainingJobTrigger(job_id=running["job_id"], poll_interval=0.1).on_kill())
    hook = ModelArtsHook()
    deadline = time.monotonic() + 10
    while hook.get_training_job_v2(running["job_id"]).state.name != "Terminated":
        assert time.monotonic() < deadline
        time.sleep(0.1)

    op = framework_op(conn, unique("v2onkill"), "import time\ntime.sleep(60)\n", wait=True)

    def kill_when_submitted():
        deadline = time.monotonic() + 10
        while op._ref is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        op.on_kill()

    threading.Thread(target=kill_when_submitted, daemon=True).start()
    with pytest.raises(ModelArtsJobError, match="Terminated"):
        op.execute(ctx())


def test_sensor_on_v2_with_the_template_a_v1_dag_uses(conn, lines):  # noqa: F811
    job = framework_op(conn, unique("v2sense"), "import time\ntime.sleep(0.3)\nprint('sensed', flush=True)\n").execute(
        ctx())
    sensor = TrainingJobSensor(task_id="wait", job_id=job["job_id"], version_id="None", poke_interval=0.1)
    deadline = time.monotonic() + 15
    while not sensor.poke(ctx()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len([m for m in lines() if "] sensed" in m]) == 1


def test_ten_thousand_lines_exactly_once_on_v2(conn, lines):  # noqa: F811
    script = "import time\nfor i in range(10000):\n    print('line-%05d' % i)\n    if i % 2500 == 0: time.sleep(0.3)\n"
    framework_op(conn, unique("v2loud"), script, wait=True).execute(ctx())
    got = [m.split("] ", 1)[1].rstrip() for m in lines() if "] line-" in m]
    assert got == [f"line-{i:05d}" for i in range(10000)]


@pytest.mark.parametrize(("change", "field", "choice"), [
    ({"train_instance_type": "modelarts.vm.cpu.64u"}, "train_instance_type", "modelarts.vm.cpu.2u"),
    ({"train_instance_count": 3}, "train_instance_count", "max_num 2"),
    ({"framework_version": "PyTorch-9.9"}, "framework_type/framework_version", "PyTorch / PyTorch-1.0.0-python3.6"),
    ({"model_name": "NoSuchNet", "framework_type": None, "framework_version": None, "code_dir": None,
      "boot_file": None}, "model_name", "Faster_RCNN_ResNet_v1_50"),
    ({"api_version": "v3"}, "api_version", "v2"),
])
def test_bad_input_on_v2_creates_nothing(conn, change, field, choice):
    with pytest.raises(ModelArtsConfigError) as err:
        CreateTrainingJobOperator(**{**BASE, **change, "job_name": unique("v2bad")}).execute(ctx())
    assert str(err.value).startswith(f"{field}:") and choice in str(err.value)
    assert "v2_create_job" not in conn.stats()["requests"]
