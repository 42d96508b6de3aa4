"""When the waits poll: ``TrainingJobTrigger``'s first poll is spread at random over the second half of an interval
(triggers deferred together do not poll in lock-step), and ``poll_interval`` runs from the start of one poll to the
start of the next — in the trigger and in the worker's wait — so slow answers on a busy triggerer do not make every
later poll late (benchmark 8 at N = 10,000)."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_provider_modelarts.models import JobState, JobVersion
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

INTERVAL = 0.3
ANSWER = 0.15  # each status poll takes this long to answer


class SlowWatcher:
    """Stands in for ``JobWatcher``: answers ``running`` after ``ANSWER`` seconds, ``completed`` at poll ``last``."""

    ref = "job_id=1 version_id=2"

    def __init__(self, last: int) -> None:
        self.last = last
        self.starts: list[float] = []

    async def arestore(self) -> None:
        self.started = time.monotonic()

    async def apoll(self) -> JobVersion:
        self.starts.append(time.monotonic())
        await asyncio.sleep(ANSWER)
        code = 10 if len(self.starts) >= self.last else 8
        return JobVersion(job_id=1, version_id=2, job_name="j", version_name="V0001", state=JobState(code))

    async def aflush(self) -> None:
        pass


def _run(trigger: TrainingJobTrigger) -> list:
    async def collect() -> list:
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


def test_polls_start_one_interval_apart_however_long_a_poll_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    watcher = SlowWatcher(last=4)
    trigger = TrainingJobTrigger(job_id=1, version_id=2, poll_interval=INTERVAL, print_log=False)
    monkeypatch.setattr(trigger, "_watcher", lambda log: watcher)

    events = _run(trigger)

    assert [event.payload["status"] for event in events] == ["success"]
    assert len(watcher.starts) == 4
    gaps = [later - earlier for earlier, later in zip(watcher.starts, watcher.starts[1:], strict=False)]
    # start to start: one interval, not an interval plus the answer's 0.15 s
    assert all(INTERVAL - 0.02 <= gap < INTERVAL + ANSWER / 2 for gap in gaps), gaps


def test_the_first_poll_comes_in_the_second_half_of_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    firsts = []
    for _ in range(3):
        watcher = SlowWatcher(last=1)
        trigger = TrainingJobTrigger(job_id=1, version_id=2, poll_interval=INTERVAL, print_log=False)
        monkeypatch.setattr(trigger, "_watcher", lambda log, watcher=watcher: watcher)
        _run(trigger)
        firsts.append(watcher.starts[0] - watcher.started)
    assert all(INTERVAL / 2 - 0.02 <= first <= INTERVAL + 0.05 for first in firsts), firsts


class SlowSyncWatcher:
    """``JobWatcher`` for the worker's wait: answers ``running`` after ``ANSWER`` seconds, ``completed`` at poll 4."""

    ref = "job_id=1 version_id=2"
    hook = None

    def __init__(self) -> None:
        self.starts: list[float] = []

    def poll(self) -> JobVersion:
        self.starts.append(time.monotonic())
        time.sleep(ANSWER)
        code = 10 if len(self.starts) >= 4 else 8
        return JobVersion(job_id=1, version_id=2, job_name="j", version_name="V0001", state=JobState(code))

    def tail(self) -> None:
        pass


def test_the_workers_wait_polls_one_interval_apart_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_modelarts import waiting

    watcher = SlowSyncWatcher()
    monkeypatch.setattr(waiting, "finish", lambda watcher, version, **_: version)
    final = waiting.wait(watcher, poll_interval=INTERVAL, deadline=None, failure_log_lines=0, log=None)
    assert final.state.is_successful
    gaps = [later - earlier for earlier, later in zip(watcher.starts, watcher.starts[1:], strict=False)]
    assert all(INTERVAL - 0.02 <= gap < INTERVAL + ANSWER / 2 for gap in gaps), gaps
