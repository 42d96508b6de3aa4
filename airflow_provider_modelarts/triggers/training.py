"""``TrainingJobTrigger``: waits for a ModelArts training job version in the triggerer, without blocking."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

#: seconds a cancelled trigger spends saving its log cursor at most
FLUSH_TIMEOUT = 5.0


class TrainingJobTrigger(BaseTrigger):
    """Poll a job version with the async hook; tail its log into the trigger log; yield one event.

    The event is a small dict: ``status`` (``success`` | ``failed`` | ``stopped`` | ``timeout`` | ``error``),
    ``job_id``, ``version_id``, ``status_code``, ``status_name`` and ``message``. There is no attempt cap: it
    waits as long as the job runs, unless ``deadline`` passes (then the event is ``timeout`` with its
    ``reason``: ``max_run_time``, ``execution_timeout`` or a sensor's ``timeout``). The log
    cursor is saved per task instance (:mod:`airflow_provider_modelarts.cursor_store`) after each poll that
    printed lines — at most every ``[modelarts] trigger_cursor_save_interval`` seconds (300), and when the trigger
    is cancelled (triggerer stopped, task cleared) — so a restarted triggerer prints no line twice; one that was
    killed outright (SIGKILL, out of memory) can repeat the lines of the last interval.

    :param job_id: v1 job id, or the v2 training job id.
    :param version_id: v1 version id; None for a v2 job.
    :param modelarts_conn_id: the connection id (fetched the Airflow-3-safe way).
    :param poll_interval: seconds from the start of one poll to the start of the next.
    :param deadline: epoch seconds after which the event is ``timeout``.
    :param deadline_reason: which limit ``deadline`` is: ``max_run_time`` | ``execution_timeout`` | ``timeout``.
    :param outage_window: seconds of consecutive connection failures / 5xx answers to ride out.
    :param print_log: tail the workers' logs.
    :param log_cursor: where tailing stopped before the deferral (a newer saved cursor wins).
    :param stop_on_kill: stop the job when a user marks the deferred task failed or success (Airflow 3.3+);
        clearing the task never stops it.
    """

    def __init__(self, *, job_id: int | str, version_id: int | str | None = None,
                 modelarts_conn_id: str = "modelarts_default",
                 poll_interval: float = 30.0, deadline: float | None = None, print_log: bool = True,
                 log_cursor: dict[str, str] | None = None, last_status: int | None = None,
                 stop_on_kill: bool = True, deadline_reason: str = "max_run_time",
                 outage_window: float = 600.0) -> None:
        super().__init__()
        from airflow_provider_modelarts.adapters import job_ref

        # v1: integer job and version ids; v2: the job's UUID and no version
        ref = job_ref(job_id, version_id)
        self.job_id: int | str = ref.job_id
        self.version_id = ref.version_id
        self.modelarts_conn_id = modelarts_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.deadline_reason = deadline_reason
        self.outage_window = float(outage_window)
        self.print_log = print_log
        self.log_cursor = dict(log_cursor or {})
        self.last_status = last_status
        self.stop_on_kill = stop_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_modelarts.triggers.training.TrainingJobTrigger",
            {"job_id": self.job_id, "version_id": self.version_id, "modelarts_conn_id": self.modelarts_conn_id,
             "poll_interval": self.poll_interval, "deadline": self.deadline, "print_log": self.print_log,
             "log_cursor": self.log_cursor, "last_status": self.last_status, "stop_on_kill": self.stop_on_kill,
             "deadline_reason": self.deadline_reason, "outage_window": self.outage_window},
        )

    def _watcher(self, log: Any) -> Any:
        from airflow_provider_modelarts.cursor_store import CursorStore
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
        from airflow_provider_modelarts.watcher import JobWatcher, cursor_save_interval

        watcher = JobWatcher(ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id), self.job_id, self.version_id,
                             print_log=self.print_log, cursor=self.log_cursor, last_status=self.last_status,
                             log=log)
        watcher.tail_ended = False  # the lines written after the job ended: the task prints them (its event)
        if self.print_log:
            watcher.store = CursorStore.for_task(getattr(self, "task_instance", None), watcher.ref)
            # thousands of triggers share one triggerer, and each save is a metadata-DB write through its
            # supervisor: save every few minutes, and on the way out (cancelled: stopped triggerer, cleared task)
            watcher.save_interval = cursor_save_interval()
        return watcher

    def _event(self, log: Any, status: str, watcher: Any, version: Any = None, message: str = "",
               **extra: Any) -> TriggerEvent:
        """The event, at once: its log line follows through the writer thread (the task resumes without waiting
        for a busy triggerer's log socket; benchmark 8). The task's own log says the outcome again."""
        log.info("%s: %s%s", watcher.ref, status, f" ({message})" if message else "")
        return TriggerEvent({
            "status": status, "job_id": self.job_id, "version_id": self.version_id,
            "status_code": version.state.code if version else None,
            "status_name": version.state.name if version else None,
            "message": message, **extra,
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_modelarts.exceptions import ModelArtsApiError
        from airflow_provider_modelarts.triggers.log_writer import OffLoopLog
        from airflow_provider_modelarts.waiting import Outage, until_next_poll
        from airflow_provider_modelarts.watcher import outcome_message

        # log lines are written by a thread: a log call never blocks the triggerer's event loop
        log = OffLoopLog(self.log)
        watcher = self._watcher(log)
        outage = Outage(self.outage_window, log)
        # The deferring task polled just before handing over, so the first poll waits most of an interval —
        # spread at random so triggers deferred together do not poll in lock-step bursts. Detection latency
        # stays within one poll interval.
        delay = self.poll_interval * random.uniform(0.5, 1.0)
        try:
            # a restarted triggerer continues from the cursor saved after the last printed line, not from the
            # one in the kwargs (that is where the task deferred): no line is printed twice
            await watcher.arestore()
            while True:
                if self.deadline is not None:
                    delay = max(0.0, min(delay, self.deadline - time.time()))
                await asyncio.sleep(delay)
                polled_at = time.monotonic()
                try:
                    version = await watcher.apoll()
                except ModelArtsApiError as err:
                    outage.ride_out(err, watcher.ref)  # raises when it is no outage, or a too long one
                    version = None
                delay = until_next_poll(self.poll_interval, polled_at)
                if self.print_log:
                    # the training lines of this poll are written before the next poll reads more: while the
                    # triggerer's log path is saturated, tailing slows down instead of piling lines up in memory
                    await log.drain()
                if version is None:
                    continue
                outage.over()
                if version.state.is_terminal:
                    # the lines written since the last poll are the resumed task's to print (tail_ended)
                    yield self._event(log, version.state.outcome.value, watcher, version, outcome_message(version),
                                      log_cursor=watcher.cursor.to_json() if self.print_log else None)
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    await self._flush(watcher)
                    yield self._event(log, "timeout", watcher, version, f"{self.deadline_reason} passed",
                                      reason=self.deadline_reason)
                    return
        except asyncio.CancelledError:
            await self._flush(watcher)
            # going away (triggerer stopped, task cleared): the lines logged so far are written first (bounded)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(log.drain(), FLUSH_TIMEOUT)
            raise
        except Exception as err:
            await self._flush(watcher)  # the task fails or retries: a retry that reattaches continues from here
            yield self._event(log, "error", watcher, message=f"{type(err).__name__}: {err}")

    async def _flush(self, watcher: Any) -> None:
        """Save the log cursor now (bounded: a cancelled trigger must not hang the triggerer's shutdown)."""
        try:
            await asyncio.wait_for(watcher.aflush(), FLUSH_TIMEOUT)
        except Exception as err:  # a cursor never fails the wait (TimeoutError included)
            watcher.log.warning("Could not save the log cursor on the way out (%s): a restart may repeat lines",
                                type(err).__name__)

    async def on_kill(self) -> None:
        """Airflow 3.3+: a user acted on the deferred task. Marked failed/success: stop the job. Cleared: leave
        it to the next try, which reattaches to it (:mod:`airflow_provider_modelarts.task_state`)."""
        from asgiref.sync import sync_to_async

        from airflow_provider_modelarts import task_state
        from airflow_provider_modelarts.exceptions import ModelArtsApiError
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        if not self.stop_on_kill:
            return
        identity = task_state.TaskIdentity.of(getattr(self, "task_instance", None))
        state = None
        if identity is not None:
            try:
                state = await asyncio.wait_for(sync_to_async(task_state.read_state, thread_sensitive=False)(identity),
                                               task_state.STATE_TIMEOUT)
            except Exception as err:
                self.log.warning("Could not read the task's state (%s); stopping the job", err)
        ref = f"job_id={self.job_id} version_id={self.version_id}"
        if not task_state.stops_job(state, in_trigger=True):
            self.log.info("Trigger cancelled: %s; %s keeps running", task_state.describe(state), ref)
            return
        try:
            await ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id).astop_job(self.job_id, self.version_id)
            self.log.info("Trigger cancelled (%s): stopped ModelArts %s", task_state.describe(state), ref)
        except ModelArtsApiError as err:
            self.log.warning("Could not stop %s: %s", ref, err)
