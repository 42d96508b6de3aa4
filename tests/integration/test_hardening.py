"""Hardening against the emulator (#15): limits that hold while deferred."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowTaskTimeout, TaskDeferred
from helpers import unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op, lines  # noqa: F401

from airflow_provider_modelarts.exceptions import (
    ModelArtsConfigError,
    ModelArtsJobError,
    ModelArtsUnreachableError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.sensors.training import TrainingJobSensor
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

pytestmark = pytest.mark.slow(35)  # seconds in the suite: started first (tests/conftest.py)

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


# ---------------------------------------------------------------------------------------------- outages
STATUS_ENDPOINT = {"v1": "get_version", "v2": "v2_get_job"}
SHORT = "import time\nfor i in range(10):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"


def test_a_short_outage_is_ridden_out_and_logged_once(emu, api, lines):  # noqa: F811
    emu.set_faults(f"{STATUS_ENDPOINT[api]}=503#12")  # a dozen failed status reads, hook retries included
    result = framework_op(emu, unique("outage"), SHORT, wait=True, poll_interval=0.1).execute(ctx())
    assert result["outcome"] == "success"
    seen = "\n".join(lines())
    assert seen.count("ModelArts is not answering") == 1 and seen.count("ModelArts answers again") == 1, seen


def test_a_long_outage_fails_the_wait_saying_the_job_may_still_run(emu, api):
    emu.set_faults(f"{STATUS_ENDPOINT[api]}=drop")
    with pytest.raises(ModelArtsUnreachableError, match="may still be running. Clear this task"):
        framework_op(emu, unique("longoutage"), LONG, wait=True, poll_interval=0.1, outage_window=1).execute(ctx())
    emu.set_faults(None)


def test_the_trigger_rides_out_an_outage(emu, api):
    result = framework_op(emu, unique("trigoutage"), SHORT).execute(ctx())
    emu.set_faults(f"{STATUS_ENDPOINT[api]}=503#12")

    async def first() -> dict:
        trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result.get("version_id"),
                                     poll_interval=0.1)
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    assert asyncio.run(asyncio.wait_for(first(), 60))["status"] == "success"


def test_reschedule_pokes_count_one_outage_across_processes(emu, api, monkeypatch):
    result = framework_op(emu, unique("pokeoutage"), LONG).execute(ctx())
    ti = TaskInstanceStub(task_id="wait")

    def poke() -> bool:  # each reschedule-mode poke is a new process: a new sensor object
        sensor = TrainingJobSensor(task_id="wait", job_id=result["job_id"], version_id=result.get("version_id"),
                                   mode="reschedule", outage_window=2)
        return bool(sensor.poke(ctx(ti)))

    assert poke() is False  # running
    emu.set_faults(f"{STATUS_ENDPOINT[api]}=drop")
    assert poke() is False  # the outage starts: still waiting
    time.sleep(2.1)
    with pytest.raises(ModelArtsUnreachableError, match="did not answer for"):
        poke()
    emu.set_faults(None)
    ModelArtsHook().stop_job(result["job_id"], result.get("version_id"))


# ---------------------------------------------------------------------------------------------- adoption
QUICK = "print('trained', flush=True)\n"


def test_another_tasks_job_with_our_name_is_never_adopted(emu, api):
    name = unique("nightly")
    b = TaskInstanceStub(dag_id="weekly_dag", task_id="b")
    framework_op(emu, name, QUICK, wait=True).execute(ctx(b))
    framework_op(emu, name, QUICK, wait=True).execute(ctx(b))  # B's second run: V0002 / <name>-a2
    a = TaskInstanceStub(dag_id="nightly_dag", task_id="a")
    for if_exists in ("reuse_completed", "new_version"):
        with pytest.raises(ModelArtsConfigError, match="job_name: .* is taken by .* another task"):
            framework_op(emu, name, QUICK, wait=True, if_exists=if_exists).execute(ctx(a))


def test_a_completed_job_is_reused_only_for_the_same_request(emu, api):
    name = unique("reuse")
    ti = TaskInstanceStub()
    first = framework_op(emu, name, QUICK, wait=True).execute(ctx(ti))
    again = framework_op(emu, name, QUICK, wait=True, if_exists="reuse_completed").execute(ctx(ti))
    assert (again["job_id"], again.get("version_id")) == (first["job_id"], first.get("version_id"))
    changed = framework_op(emu, name, QUICK, wait=True, if_exists="reuse_completed",
                           hyperparameters={"lr": "0.9"}).execute(ctx(ti))
    assert (changed["job_id"], changed.get("version_id")) != (first["job_id"], first.get("version_id"))


def test_a_running_job_with_other_parameters_is_not_reattached(emu, api):
    name = unique("changed")
    ti = TaskInstanceStub()
    running = framework_op(emu, name, LONG).execute(ctx(ti))
    with pytest.raises(ModelArtsJobError, match="with other parameters"):
        framework_op(emu, name, LONG, hyperparameters={"lr": "0.9"}).execute(ctx(ti))
    ModelArtsHook().stop_job(running["job_id"], running.get("version_id"))


@pytest.mark.parametrize("rendered", ["None", "", "null"])
def test_a_job_name_that_rendered_to_nothing_is_a_configuration_error(emu, api, rendered):
    op = framework_op(emu, unique("noname"), QUICK, job_name="{{ params.missing }}")
    op.job_name = rendered  # what rendering produced
    with pytest.raises(ModelArtsConfigError, match="job_name"):
        op.execute(ctx())


def test_v2_attempts_skip_names_other_tasks_hold(emu, use_conn):
    use_conn("aksk", api_version="v2", retry_backoff=0.05, retry_max_delay=0.2)
    name = unique("gap")
    ours = TaskInstanceStub()
    framework_op(emu, name, "import sys\nsys.exit(1)\n", wait=False).execute(ctx(ours))
    framework_op(emu, f"{name}-a2", QUICK, wait=True, job_name=f"{name}-a2").execute(
        ctx(TaskInstanceStub(dag_id="other", task_id="other")))  # someone else's job named like our attempt 2
    time.sleep(1)  # our first attempt has failed by now
    retry = framework_op(emu, name, QUICK, wait=True).execute(ctx(ours))
    assert retry["job_name"] == f"{name}-a3" and retry["outcome"] == "success"


def test_ansi_escapes_are_removed_from_the_task_log_unless_kept(emu, api, lines, monkeypatch):  # noqa: F811
    script = "print('\\x1b[31mred\\x1b[0m and plain', flush=True)\n"
    framework_op(emu, unique("ansi"), script, wait=True).execute(ctx())
    assert any(m.rstrip().endswith("] red and plain") for m in lines()), lines()
    monkeypatch.setenv("AIRFLOW__MODELARTS__KEEP_ANSI_ESCAPES", "True")
    framework_op(emu, unique("ansikept"), script, wait=True).execute(ctx())
    assert any("\x1b[31mred\x1b[0m and plain" in m for m in lines())


# ---------------------------------------------------------------------------------------------- log content
def test_the_emulator_keeps_every_byte_of_a_line(emu, api):
    """A progress bar (``\\r`` inside a line) and a 2,000,000-character line arrive whole, as the job wrote them."""
    from airflow_provider_modelarts.watcher import JobWatcher

    script = ("import sys\nsys.stdout.write('epoch 1 [#  ]\\r[## ]\\r[###] done\\n')\n"
              "sys.stdout.write('y' * 2_000_000 + '\\n')\nsys.stdout.write('after\\r\\n')\nsys.stdout.flush()\n")
    result = framework_op(emu, unique("bytes"), script, wait=True, print_log=False).execute(ctx())

    class Lines:
        seen: list[str] = []

        def info(self, msg, *args):
            self.seen.append(msg % args)

        warning = error = info

    log = Lines()
    watcher = JobWatcher(ModelArtsHook(), result["job_id"], result.get("version_id"), log=log)
    watcher.tail()
    seen = [m.split("] ", 1)[1] for m in log.seen if m.startswith("[")]
    assert seen == ["epoch 1 [#  ]\r[## ]\r[###] done", "y" * 2_000_000, "after"], [x[:40] for x in seen]


def test_the_saved_cursor_is_removed_when_a_sensor_times_out(emu, api, memory_variables):
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    result = framework_op(emu, unique("cursorgone"), LONG).execute(ctx())
    sensor = TrainingJobSensor(task_id="wait", job_id=result["job_id"], version_id=result.get("version_id"),
                               poll_interval=0.2, timeout=1.5)
    ti = TaskInstanceStub(task_id="wait")
    ti.max_tries = 3  # a timeout fails the sensor for good anyway
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute(ctx(ti))
    assert not [k for k in memory_variables.values if k.startswith("modelarts_log_cursor")]
    ModelArtsHook().stop_job(result["job_id"], result.get("version_id"))


# ---------------------------------------------------------------------------------------------- virtual jobs (#14)
def test_a_virtual_job_follows_its_timeline_without_a_process(emu, api, lines):  # noqa: F811
    """``emulator_virtual_seconds`` makes one job virtual: no process, synthetic lines, the exit code asked for."""
    ok = framework_op(emu, unique("virtual"), "raise SystemExit('a real process would fail')\n", wait=True,
                      hyperparameters={"emulator_virtual_seconds": 0.5, "emulator_virtual_lines": 5}).execute(ctx())
    assert ok["outcome"] == "success"
    assert [m.split("] ", 1)[1].rstrip() for m in lines() if "virtual line" in m] == \
        [f"virtual line {i} of 5" for i in range(5)]
    with pytest.raises(ModelArtsJobError, match="exited with code 4"):
        framework_op(emu, unique("virtualfail"), "print('x')\n", wait=True,
                     hyperparameters={"emulator_virtual_seconds": 0.2, "emulator_virtual_exit_code": 4}).execute(ctx())
