"""``TrainingJobTrigger``: waits for a ModelArts training job version in the triggerer, without blocking."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class TrainingJobTrigger(BaseTrigger):
    """Poll a job version with the async hook; tail its log into the trigger log; yield one event.

    The event is a dict: ``status`` (``success`` | ``failed`` | ``stopped`` | ``timeout`` | ``error``),
    ``job_id``, ``version_id``, ``status_code``, ``status_name``, ``message`` and ``log_cursor`` (where
    tailing stopped, so the worker never prints a line twice). There is no attempt cap: it waits as long
    as the job runs, unless ``deadline`` (epoch seconds, from ``max_run_time``) passes.

    :param job_id: v1 job id, or the v2 training job id.
    :param version_id: v1 version id; None for a v2 job.
    :param modelarts_conn_id: the connection id (fetched the Airflow-3-safe way).
    :param poll_interval: seconds between polls.
    :param deadline: epoch seconds after which the event is ``timeout``.
    :param print_log: tail the workers' logs.
    :param log_cursor: where tailing stopped before the deferral.
    :param stop_on_kill: stop the version when the deferred task is killed (Airflow 3.3+).
    """

    def __init__(self, *, job_id: int | str, version_id: int | str | None = None,
                 modelarts_conn_id: str = "modelarts_default",
                 poll_interval: float = 30.0, deadline: float | None = None, print_log: bool = True,
                 log_cursor: dict[str, str] | None = None, last_status: int | None = None,
                 stop_on_kill: bool = True) -> None:
        super().__init__()
        from airflow_provider_modelarts.adapters import job_ref

        # v1: integer job and version ids; v2: the job's UUID and no version
        ref = job_ref(job_id, version_id)
        self.job_id: int | str = ref.job_id
        self.version_id = ref.version_id
        self.modelarts_conn_id = modelarts_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.print_log = print_log
        self.log_cursor = dict(log_cursor or {})
        self.last_status = last_status
        self.stop_on_kill = stop_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_modelarts.triggers.training.TrainingJobTrigger",
            {"job_id": self.job_id, "version_id": self.version_id, "modelarts_conn_id": self.modelarts_conn_id,
             "poll_interval": self.poll_interval, "deadline": self.deadline, "print_log": self.print_log,
             "log_cursor": self.log_cursor, "last_status": self.last_status, "stop_on_kill": self.stop_on_kill},
        )

    def _watcher(self) -> Any:
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
        from airflow_provider_modelarts.watcher import JobWatcher

        return JobWatcher(ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id), self.job_id, self.version_id,
                          print_log=self.print_log, cursor=self.log_cursor, last_status=self.last_status,
                          log=self.log)

    def _event(self, status: str, watcher: Any, version: Any = None, message: str = "") -> TriggerEvent:
        return TriggerEvent({
            "status": status, "job_id": self.job_id, "version_id": self.version_id,
            "status_code": version.state.code if version else None,
            "status_name": version.state.name if version else None,
            "message": message, "log_cursor": watcher.cursor.to_json(),
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_modelarts.watcher import outcome_message

        watcher = self._watcher()
        # The deferring task polled just before handing over, so the first poll waits most of an interval —
        # spread at random so triggers deferred together do not poll in lock-step bursts. Detection latency
        # stays within one poll interval.
        delay = self.poll_interval * random.uniform(0.5, 1.0)
        try:
            while True:
                await asyncio.sleep(delay)
                delay = self.poll_interval
                version = await watcher.apoll()
                if version.state.is_terminal:
                    await watcher.atail()
                    yield self._event(version.state.outcome.value, watcher, version, outcome_message(version))
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    yield self._event("timeout", watcher, version, "max_run_time exceeded")
                    return
        except Exception as err:
            yield self._event("error", watcher, message=f"{type(err).__name__}: {err}")

    async def on_kill(self) -> None:
        """Airflow 3.3+: the user killed the deferred task — stop the remote version too."""
        from airflow_provider_modelarts.exceptions import ModelArtsApiError
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        if not self.stop_on_kill:
            return
        try:
            await ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id).astop_job(self.job_id, self.version_id)
            self.log.info("Stopped ModelArts job_id=%s version_id=%s", self.job_id, self.version_id)
        except ModelArtsApiError as err:
            self.log.warning("Could not stop job_id=%s version_id=%s: %s", self.job_id, self.version_id, err)
