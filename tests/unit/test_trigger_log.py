"""A trigger's log lines are written by a thread, never on the triggerer's event loop (benchmark 8: a log call on
the loop blocks every trigger while the triggerer's supervisor is too busy to read the log socket)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from airflow_provider_modelarts.models import JobState, JobVersion, LogCursor
from airflow_provider_modelarts.triggers.log_writer import OffLoopLog
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

TRIGGER_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("trigger_id", default=None)


class Sink:
    """A logger that records (thread, trigger id in context, level, text); ``gate`` holds every write while set
    to block — a supervisor that does not read its log socket."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, int | None, str, str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.exc_info = None

    def _record(self, level: str, msg: str, *args: object, **kwargs: object) -> None:
        self.gate.wait(10)
        if "exc_info" in kwargs:
            self.exc_info = kwargs["exc_info"]
        self.lines.append((threading.current_thread().name, TRIGGER_ID.get(), level, msg % args))

    def info(self, msg: str, *args: object, **kwargs: object) -> None:
        self._record("info", msg, *args, **kwargs)

    def warning(self, msg: str, *args: object, **kwargs: object) -> None:
        self._record("warning", msg, *args, **kwargs)

    def error(self, msg: str, *args: object, **kwargs: object) -> None:
        self._record("error", msg, *args, **kwargs)

    debug = info


def test_lines_are_written_in_order_by_one_thread_with_the_callers_context() -> None:
    sink = Sink()

    async def trigger(number: int) -> None:
        TRIGGER_ID.set(number)
        log = OffLoopLog(sink)
        for line in range(50):
            log.info("trigger %d line %d", number, line)
            if line % 10 == 0:
                await asyncio.sleep(0)
        await log.drain()
        # drained: every line of this trigger is written
        assert [text for _, tid, _, text in sink.lines if tid == number] == [
            f"trigger {number} line {line}" for line in range(50)]

    async def main() -> None:
        await asyncio.gather(*(trigger(number) for number in range(5)))

    asyncio.run(main())
    assert len(sink.lines) == 250
    assert {thread for thread, *_ in sink.lines} == {"modelarts-trigger-log"}


def test_a_log_socket_that_is_not_read_does_not_block_the_event_loop() -> None:
    sink = Sink()
    sink.gate.clear()  # the supervisor is busy: every write waits

    async def main() -> tuple[int, float]:
        log = OffLoopLog(sink)
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(heartbeat())
        started = time.monotonic()
        for line in range(100):
            log.info("line %d", line)  # returns at once although nothing can be written
        logging_took = time.monotonic() - started
        draining = asyncio.create_task(log.drain())
        await asyncio.sleep(0.3)
        assert not draining.done() and not sink.lines  # still held, and the loop went on meanwhile
        sink.gate.set()
        await asyncio.wait_for(draining, 5)
        beat.cancel()
        return ticks, logging_took

    ticks, logging_took = asyncio.run(main())
    assert logging_took < 0.1
    assert ticks >= 10  # ~30 heartbeats in the 0.3 s the writes were held
    assert [text for *_, text in sink.lines] == [f"line {line}" for line in range(100)]


def test_exception_keeps_the_exception_of_the_caller() -> None:
    sink = Sink()

    async def main() -> None:
        log = OffLoopLog(sink)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        await log.drain()

    asyncio.run(main())
    assert sink.lines[-1][2:] == ("error", "failed")
    assert sink.exc_info is not None and isinstance(sink.exc_info[1], ValueError)


def test_drain_without_lines_returns_at_once() -> None:
    async def main() -> float:
        started = time.monotonic()
        await OffLoopLog(Sink()).drain()
        return time.monotonic() - started

    assert asyncio.run(main()) < 0.05


class LoggingWatcher:
    """A job that completes at the second poll; each poll logs a line through the trigger's log."""

    ref = "job_id=1 version_id=2"

    def __init__(self, log: OffLoopLog) -> None:
        self.log, self.polls = log, 0
        self.cursor = LogCursor(positions={"worker-0": "7"})

    async def arestore(self) -> None:
        pass

    async def apoll(self) -> JobVersion:
        self.polls += 1
        self.log.info("[worker-0] poll %d", self.polls)
        code = 10 if self.polls >= 2 else 8
        return JobVersion(job_id=1, version_id=2, job_name="j", version_name="V0001", state=JobState(code))

    async def aflush(self) -> None:
        pass


def test_a_saturated_log_path_does_not_hold_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor reads no log line at all: the event still comes at once; its lines follow, in order."""
    sink = Sink()
    sink.gate.clear()
    trigger = TrainingJobTrigger(job_id=1, version_id=2, poll_interval=0.05, print_log=False)
    monkeypatch.setattr(TrainingJobTrigger, "log", sink)
    monkeypatch.setattr(trigger, "_watcher", LoggingWatcher)

    async def main():
        async for event in trigger.run():
            return event
        raise AssertionError("no event")

    event = asyncio.run(asyncio.wait_for(main(), 5))
    assert event.payload["status"] == "success"
    assert sink.lines == []  # nothing could be written yet
    sink.gate.set()
    deadline = time.monotonic() + 5
    while len(sink.lines) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [text for *_, text in sink.lines] == [
        "[worker-0] poll 1", "[worker-0] poll 2",
        "job_id=1 version_id=2: success (ModelArts job j V0001 (job_id=1, version_id=2) ended "
        "JOBSTAT_COMPLETED (10))"]
    assert {thread for thread, *_ in sink.lines} == {"modelarts-trigger-log"}


def test_a_tailing_trigger_waits_for_its_lines_before_it_polls_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backpressure: while the lines of a poll cannot be written, the next poll (which would read more) waits."""
    sink = Sink()
    sink.gate.clear()
    trigger = TrainingJobTrigger(job_id=1, version_id=2, poll_interval=0.05, print_log=True)
    monkeypatch.setattr(TrainingJobTrigger, "log", sink)
    watchers: list[LoggingWatcher] = []

    def watcher(log: OffLoopLog) -> LoggingWatcher:
        watchers.append(LoggingWatcher(log))
        return watchers[-1]

    monkeypatch.setattr(trigger, "_watcher", watcher)

    async def main():
        run = trigger.run()
        first = asyncio.ensure_future(run.__anext__())
        await asyncio.sleep(0.5)  # ten poll intervals
        polls_while_held = watchers[0].polls
        sink.gate.set()
        event = await asyncio.wait_for(first, 5)
        return polls_while_held, event

    polls_while_held, event = asyncio.run(main())
    assert polls_while_held == 1
    assert event.payload["status"] == "success"
    # the lines written after the job ended are the resumed task's to print: from here
    assert event.payload["log_cursor"] == {"worker-0": "7"}


def test_a_process_that_exits_writes_the_lines_still_queued(tmp_path) -> None:
    """A stopped triggerer: events went, their lines are still queued behind a slow log socket."""
    import subprocess
    import sys

    script = tmp_path / "exits.py"
    script.write_text(
        "import asyncio, logging, sys, time\n"
        "from airflow_provider_modelarts.triggers.log_writer import OffLoopLog\n"
        "class Slow:\n"
        "    def info(self, msg, *args):\n"
        "        time.sleep(0.002)\n"
        "        print(msg % args, flush=True)\n"
        "async def main():\n"
        "    log = OffLoopLog(Slow())\n"
        "    for line in range(300):\n"
        "        log.info('line %d', line)\n"
        "asyncio.run(main())\n"
        "sys.exit(0)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.splitlines() == [f"line {line}" for line in range(300)]


def test_a_forked_child_writes_through_a_writer_of_its_own(tmp_path) -> None:
    """The parent used the writer before forking (threads do not survive a fork): the child's lines still come."""
    import subprocess
    import sys

    script = tmp_path / "forks.py"
    script.write_text(
        "import asyncio, os, sys\n"
        "from airflow_provider_modelarts.triggers.log_writer import OffLoopLog\n"
        "class Out:\n"
        "    def info(self, msg, *args):\n"
        "        print(msg % args, flush=True)\n"
        "async def lines(who):\n"
        "    log = OffLoopLog(Out())\n"
        "    for line in range(3):\n"
        "        log.info('%s line %d', who, line)\n"
        "    await asyncio.wait_for(log.drain(), 5)\n"
        "asyncio.run(lines('parent'))\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    asyncio.run(lines('child'))\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.splitlines() == [f"{who} line {line}" for who in ("parent", "child") for line in range(3)]


def test_a_saturated_log_path_does_not_hold_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait fails (here: an unexpected error): the error event also comes at once; its line follows."""
    sink = Sink()
    sink.gate.clear()
    trigger = TrainingJobTrigger(job_id=1, version_id=2, poll_interval=0.05, print_log=False)
    monkeypatch.setattr(TrainingJobTrigger, "log", sink)

    class Broken(LoggingWatcher):
        async def apoll(self) -> JobVersion:
            self.log.info("[worker-0] before the failure")
            raise RuntimeError("boom")

    monkeypatch.setattr(trigger, "_watcher", Broken)

    async def main():
        started = time.monotonic()
        async for event in trigger.run():
            return event, time.monotonic() - started
        raise AssertionError("no event")

    event, took = asyncio.run(asyncio.wait_for(main(), 10))
    assert event.payload["status"] == "error" and "RuntimeError: boom" in event.payload["message"]
    assert took < 1.0 and sink.lines == []  # not held for the 5 s a cancelled trigger gives its lines
    sink.gate.set()
    deadline = time.monotonic() + 5
    while len(sink.lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [text for *_, text in sink.lines] == [
        "[worker-0] before the failure", "job_id=1 version_id=2: error (RuntimeError: boom)"]
