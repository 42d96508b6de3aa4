"""Hardening against the emulator (#15): limits that hold while deferred."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowTaskTimeout, TaskDeferred
from helpers import unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.sensors.training import TrainingJobSensor
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

LONG = "import time\nfor i in range(300):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"


@pytest.fixture(params=["v1", "v2"])
def api(request, emu, use_conn):
    use_conn("aksk", api_version=request.param, retry_backoff=0.05, retry_max_delay=0.2)
    return request.param


def _event(deferred: TaskDeferred) -> dict:
    _, kwargs = deferred.trigger.serialize()

    async def first() -> dict:
        async for event in TrainingJobTrigger(**json.loads(json.dumps(kwargs))).run():
            return event.payload
        raise AssertionError("no event")

    return asyncio.run(asyncio.wait_for(first(), 30))


def test_deferred_operator_honours_execution_timeout_and_stops_its_job(emu, api):
    ti = TaskInstanceStub()
    op = framework_op(emu, unique("exectimeout"), LONG, wait=True, deferrable=True, poll_interval=0.2,
                      execution_timeout=timedelta(seconds=1.5))
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx(ti))
    event = _event(deferred.value)
    assert (event["status"], event["reason"]) == ("timeout", "execution_timeout")
    with pytest.raises(AirflowTaskTimeout, match="execution_timeout passed while waiting: stopped job"):
        op.execute_complete(ctx(ti), event=event)
    job = ModelArtsHook().get_job(event["job_id"], event["version_id"])
    assert job.state.is_terminal or job.state.name in ("JOBSTAT_KILLING", "Terminating")


def test_deferred_sensor_honours_its_timeout_and_leaves_the_job_alone(emu, api):
    result = framework_op(emu, unique("sensortimeout"), LONG).execute(ctx())
    sensor = TrainingJobSensor(task_id="wait", job_id=result["job_id"], version_id=result.get("version_id"),
                               deferrable=True, poll_interval=0.2, timeout=1.5)
    ti = TaskInstanceStub(task_id="wait")
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(ctx(ti))
    event = _event(deferred.value)
    assert (event["status"], event["reason"]) == ("timeout", "timeout")
    with pytest.raises(AirflowSensorTimeout, match="still running"):
        sensor.execute_complete(ctx(ti), event=event)
    hook = ModelArtsHook()
    assert not hook.get_job(result["job_id"], result.get("version_id")).state.is_terminal
    hook.stop_job(result["job_id"], result.get("version_id"))
