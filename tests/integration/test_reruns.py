"""Re-runs against the emulator, in process: a worker that dies mid-wait, a trigger restarted mid-job, and
``on_kill`` after a clear versus after mark-failed (both APIs). The same behaviours through a real scheduler and
triggerer are in tests/e2e."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import pytest
from helpers import unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op, lines  # noqa: F401

from airflow_provider_modelarts import task_state, waiting
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.sensors.training import TrainingJobSensor
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

pytestmark = pytest.mark.slow(33)  # seconds in the suite: started first (tests/conftest.py)

TICKS = "import time\nfor i in range({n}):\n    print('tick-%03d' % i, flush=True)\n    time.sleep({delay})\n"
STOPPED = {"v1": "JOBSTAT_KILLED", "v2": "Terminated"}


@pytest.fixture(params=["v1", "v2"])
def api(request, emu, use_conn):
    use_conn("aksk", api_version=request.param, retry_backoff=0.05, retry_max_delay=0.2)
    return request.param


def ticks(messages: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in re.findall(r"\] (tick-\d{3})", "\n".join(messages)):
        counts[line] = counts.get(line, 0) + 1
    return counts


class Died(BaseException):
    """A worker killed mid-wait (SIGKILL: no handler runs, nothing is cleaned up)."""


def test_a_retry_after_the_worker_died_continues_the_log_where_it_stopped(emu, api, lines, monkeypatch):  # noqa: F811
    name = unique("died")
    ti = TaskInstanceStub()
    ti.max_tries = 2
    polls = {"n": 0}
    real_sleep = waiting.time.sleep

    def sleep_then_die(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 5:
            raise Died()
        real_sleep(seconds)

    monkeypatch.setattr(waiting.time, "sleep", sleep_then_die)
    op = framework_op(emu, name, TICKS.format(n=30, delay=0.2), wait=True, poll_interval=0.3)
    with pytest.raises(Died):
        op.execute(ctx(ti))
    before = ticks(lines())
    assert before and len(before) < 30, before  # it died mid-job, with some lines printed
    monkeypatch.setattr(waiting.time, "sleep", real_sleep)
    ti.try_number = 2
    result = framework_op(emu, name, TICKS.format(n=30, delay=0.2), wait=True).execute(ctx(ti))
    assert result["outcome"] == "success"
    after = ticks(lines())
    assert after == {f"tick-{i:03d}": 1 for i in range(30)}, {k: v for k, v in after.items() if v != 1}
    assert any("Reattaching to" in m for m in lines())


def test_a_restarted_trigger_prints_no_line_twice(emu, api, lines):  # noqa: F811
    name = unique("trigrestart")
    ti = TaskInstanceStub()
    result = framework_op(emu, name, TICKS.format(n=40, delay=0.1)).execute(ctx(ti))  # wait=False
    kwargs = {"job_id": result["job_id"], "version_id": result.get("version_id"), "poll_interval": 0.2}

    async def run() -> dict | None:
        trigger = TrainingJobTrigger(**kwargs)
        trigger.task_instance = ti  # what the triggerer sets
        async for event in trigger.run():
            return event.payload
        return None

    async def run_until_lines() -> None:
        """The triggerer stops once the first lines are printed: the trigger task is cancelled mid-wait (not
        after a fixed time: on a loaded machine the job may not have started by then)."""
        task = asyncio.ensure_future(run())
        while not ticks(lines()):
            assert not task.done(), task.result()
            await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run_until_lines())
    first = ticks(lines())
    assert first and len(first) < 40, first
    event = asyncio.run(run())  # a new triggerer starts the same trigger from its kwargs
    assert event["status"] == "success"
    # the task resumes: it prints the lines the trigger left (written after the job ended), from the event's cursor
    sensor = TrainingJobSensor(task_id="wait", job_id=result["job_id"], version_id=result.get("version_id"),
                               deferrable=True)
    assert sensor.execute_complete(ctx(ti), event=event)["outcome"] == "success"
    counts = ticks(lines())
    assert counts == {f"tick-{i:03d}": 1 for i in range(40)}, {k: v for k, v in counts.items() if v != 1}


def test_a_trigger_that_starts_after_the_job_ended_leaves_its_lines_to_the_task(emu, api, lines):  # noqa: F811
    """A triggerer restarted after the job ended (the e2e restart test caught this): Airflow closes a trigger's
    log file as soon as it handles the trigger's end, so lines the trigger logged just before its event landed in
    the triggerer's own output. The trigger prints nothing it read after the job ended; the task does."""
    ti = TaskInstanceStub()
    result = framework_op(emu, unique("endedfirst"), TICKS.format(n=30, delay=0.01)).execute(ctx(ti))  # wait=False
    hook = ModelArtsHook()
    deadline = time.monotonic() + 60
    while not hook.get_job(result["job_id"], result.get("version_id")).state.is_terminal:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result.get("version_id"), poll_interval=0.1)
    trigger.task_instance = ti

    async def first() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first())
    assert event["status"] == "success" and event["log_cursor"] == {}
    assert ticks(lines()) == {}
    sensor = TrainingJobSensor(task_id="wait", job_id=result["job_id"], version_id=result.get("version_id"),
                               deferrable=True)
    assert sensor.execute_complete(ctx(ti), event=event)["outcome"] == "success"
    counts = ticks(lines())
    assert counts == {f"tick-{i:03d}": 1 for i in range(30)}, counts


@pytest.mark.parametrize("interval", [None, "0"])
def test_a_trigger_saves_its_cursor_every_interval_and_when_cancelled(emu, api, lines, monkeypatch,  # noqa: F811
                                                                      interval):
    """Benchmark 8: a Variable write per poll saturates a triggerer. By default (300 s) a trigger polling every
    0.2 s saves nothing while it runs and once when it is cancelled; ``0`` restores a save per printing poll."""
    from airflow_provider_modelarts.cursor_store import CursorStore

    if interval is not None:
        monkeypatch.setenv("AIRFLOW__MODELARTS__TRIGGER_CURSOR_SAVE_INTERVAL", interval)
    saves = []
    real_save = CursorStore.save
    monkeypatch.setattr(CursorStore, "save", lambda self, *a, **kw: saves.append(a) or real_save(self, *a, **kw))
    ti = TaskInstanceStub()
    result = framework_op(emu, unique("cadence"), TICKS.format(n=100, delay=0.1)).execute(ctx(ti))
    trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result.get("version_id"), poll_interval=0.2)
    trigger.task_instance = ti

    async def run_until_lines() -> None:
        async def consume() -> None:
            async for _ in trigger.run():
                pytest.fail("the job cannot have ended yet")

        task = asyncio.create_task(consume())
        deadline = asyncio.get_running_loop().time() + 8  # the job prints for 10 s
        # several polls that printed lines (on a loaded machine one poll may print many): by default no save
        # comes while it runs, whatever the wait; with 0 the second save ends the wait
        while len(ticks(lines())) < 20 or (interval is not None and len(saves) < 2):
            assert asyncio.get_running_loop().time() < deadline, (len(ticks(lines())), saves)
            await asyncio.sleep(0.05)
        saves_while_running.extend(saves)
        task.cancel()  # the triggerer stops
        with pytest.raises(asyncio.CancelledError):
            await task

    saves_while_running: list = []
    asyncio.run(run_until_lines())
    if interval is None:
        assert saves_while_running == [] and len(saves) == 1, saves
        assert saves[0][0] and max(saves[0][0].values())  # the cursor after the last printed line
    else:
        assert len(saves_while_running) >= 2, saves_while_running
    ModelArtsHook().stop_job(result["job_id"], result.get("version_id"))


@pytest.mark.parametrize("state, stops", [("restarting", False), ("failed", True), ("success", True)])
def test_worker_on_kill_stops_the_job_only_when_the_task_ended(emu, api, monkeypatch, state, stops):
    name = unique("onkill")
    ti = TaskInstanceStub()
    op = framework_op(emu, name, TICKS.format(n=200, delay=0.1))
    result = op.execute(ctx(ti))
    monkeypatch.setattr(task_state, "read_state", lambda identity: state)
    op.on_kill()
    hook = ModelArtsHook()
    job = hook.get_job(result["job_id"], result.get("version_id"))
    if stops:
        assert job.state.name == STOPPED[api] or not job.state.is_successful
        assert job.state.is_terminal or job.state.name in ("JOBSTAT_KILLING", "Terminating")
    else:
        assert not job.state.is_terminal, job.state
        hook.stop_job(result["job_id"], result.get("version_id"))


@pytest.mark.parametrize("state, stops", [("none", False), ("running", False), ("deferred", False),
                                          ("failed", True)])
def test_trigger_on_kill_spares_the_job_of_a_cleared_task(emu, api, monkeypatch, state, stops):
    name = unique("trigkill")
    ti = TaskInstanceStub()
    result = framework_op(emu, name, TICKS.format(n=200, delay=0.1)).execute(ctx(ti))
    trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result.get("version_id"))
    trigger.task_instance = ti
    seen = []
    monkeypatch.setattr(task_state, "read_state", lambda identity: seen.append(identity) or state)
    asyncio.run(trigger.on_kill())
    assert seen == [task_state.TaskIdentity("dag", "train", ti.run_id, -1)]
    hook = ModelArtsHook()
    job = hook.get_job(result["job_id"], result.get("version_id"))
    assert job.state.is_terminal or job.state.name in ("JOBSTAT_KILLING", "Terminating") if stops else \
        not job.state.is_terminal
    if not stops:
        hook.stop_job(result["job_id"], result.get("version_id"))


def test_a_try_after_a_kill_waits_for_the_stopping_job_and_trains_again(emu, api):
    """Mark failed (the job is being stopped), then clear at once: the new try must not reattach to a job that is
    about to end as stopped — it waits for it to end, then trains the next version / attempt."""
    stubborn = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "for i in range(100):\n    print('tick-%03d' % i, flush=True)\n    time.sleep(0.1)\n")
    name = unique("stopping")
    ti = TaskInstanceStub()
    first = framework_op(emu, name, stubborn).execute(ctx(ti))
    ModelArtsHook().stop_job(first["job_id"], first.get("version_id"))  # KILLING / Terminating for ~2 s
    ti.try_number = 2
    again = framework_op(emu, name, "print('trained again', flush=True)\n", wait=True).execute(ctx(ti))
    assert again["outcome"] == "success"
    assert (again["job_id"], again.get("version_id")) != (first["job_id"], first.get("version_id"))
    # the first one ended stopped — not reattached (whether this try saw it still stopping depends on timing)
    assert ModelArtsHook().get_job(first["job_id"], first.get("version_id")).state.name == STOPPED[api]
