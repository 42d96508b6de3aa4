"""``TrainingJobSensor``: wait for a ModelArts training job version (poke, reschedule or deferrable)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, conf

from airflow_provider_modelarts.adapters import job_ref
from airflow_provider_modelarts.links.training import ModelArtsTrainingJobLink, console_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.watcher import JobWatcher

CURSOR_VARIABLE_PREFIX = "modelarts_log_cursor"


class TrainingJobSensor(BaseSensorOperator):
    """Succeed when the job version completes; fail (with its last log lines in the task log) otherwise.

    :param job_id: the job id, typically ``"{{ ti.xcom_pull(task_ids='train', key='job_id') }}"``.
    :param version_id: v1 version id, typically pulled the same way (key ``version_id``); None, empty or
        "None" (what that template renders on v2, where there are no versions) watches a v2 job.
    :param modelarts_conn_id: connection id.
    :param print_log: tail every worker's log into the task log. In reschedule mode the cursor is kept in an
        Airflow Variable between pokes (deleted when the sensor ends), so no line repeats.
    :param deferrable: wait in the triggerer (default from ``[operators] default_deferrable``).
    :param max_run_time: stop the version and fail when it runs longer than this (seconds or timedelta),
        counted from this sensor's start.
    :param stop_job_on_kill: stop the version when this task is killed while waiting (default True).
    :param failure_log_lines: how many last lines of each worker's log a failure pulls into the task log.
    """

    template_fields: Sequence[str] = ("job_id", "version_id", "modelarts_conn_id")
    operator_extra_links = (ModelArtsTrainingJobLink(),)
    ui_color = "#f3c1c4"

    def __init__(self, *, job_id: int | str, version_id: int | str | None = None,
                 modelarts_conn_id: str = "modelarts_default",
                 print_log: bool = True,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                 max_run_time: float | timedelta | None = None, stop_job_on_kill: bool = True,
                 failure_log_lines: int = 50, **kwargs: Any) -> None:
        kwargs.setdefault("poke_interval", 30)
        super().__init__(**kwargs)
        self.job_id = job_id
        self.version_id = version_id
        self.modelarts_conn_id = modelarts_conn_id
        self.print_log = print_log
        self.deferrable = deferrable
        self.max_run_time = max_run_time.total_seconds() if isinstance(max_run_time, timedelta) else max_run_time
        self.stop_job_on_kill = stop_job_on_kill
        self.failure_log_lines = failure_log_lines
        self._watcher: JobWatcher | None = None
        if not any(isinstance(v, str) and "{{" in v for v in (job_id, version_id)):
            self._target()

    def _target(self) -> tuple[int | str, int | None]:
        """(job_id, version_id) of a v1 version, or (job_id, None) of a v2 job — a version_id that rendered
        empty or "None" (no such XCom on v2) means v2."""
        ref = job_ref(self.job_id, self.version_id)
        return ref.job_id, ref.version_id

    @cached_property
    def hook(self) -> ModelArtsHook:
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        return ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id)

    def _watcher_for(self, context: Context, cursor: dict[str, str] | None = None) -> JobWatcher:
        from airflow_provider_modelarts.watcher import JobWatcher

        job_id, version_id = self._target()
        return JobWatcher(self.hook, job_id, version_id, print_log=self.print_log, cursor=cursor, log=self.log)

    # ------------------------------------------------------------------ reschedule-mode cursor
    def _variable_name(self, context: Context) -> str:
        ti = context["ti"]
        return f"{CURSOR_VARIABLE_PREFIX}__{ti.dag_id}__{ti.task_id}__{ti.run_id}__{getattr(ti, 'map_index', -1)}"

    def _load_cursor(self, context: Context) -> dict[str, Any]:
        if self.mode != "reschedule" or not self.print_log:
            return {}
        from airflow.providers.common.compat.sdk import Variable

        try:
            return Variable.get(self._variable_name(context), default_var=None, deserialize_json=True) or {}
        except TypeError:  # Airflow 3: ``default`` instead of ``default_var``
            return Variable.get(self._variable_name(context), default=None, deserialize_json=True) or {}

    def _save_cursor(self, context: Context, state: dict[str, Any] | None) -> None:
        if self.mode != "reschedule" or not self.print_log:
            return
        from airflow.providers.common.compat.sdk import Variable

        name = self._variable_name(context)
        if state is None:
            Variable.delete(name)
        else:
            Variable.set(name, state, serialize_json=True)

    # ------------------------------------------------------------------ Airflow entry points
    def _deadline(self, context: Context) -> float | None:
        if not self.max_run_time:
            return None
        started = context["ti"].start_date
        return (started.timestamp() if started else time.time()) + self.max_run_time

    def execute(self, context: Context) -> Any:
        url = console_url(self.hook.config, *self._target())
        ModelArtsTrainingJobLink.persist(context, url)
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_modelarts import waiting
        from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

        watcher = self._watcher = self._watcher_for(context)
        version = watcher.poll()
        if version.state.is_terminal:
            watcher.tail()
            waiting.finish(watcher, version, failure_log_lines=self.failure_log_lines, log=self.log)
            return None
        self.defer(
            trigger=TrainingJobTrigger(job_id=watcher.job_id, version_id=watcher.version_id,
                                       modelarts_conn_id=self.modelarts_conn_id, poll_interval=self.poke_interval,
                                       deadline=self._deadline(context), print_log=self.print_log,
                                       log_cursor=watcher.cursor.to_json(), last_status=watcher.last_status,
                                       stop_on_kill=self.stop_job_on_kill),
            method_name="execute_complete",
        )
        return None

    def poke(self, context: Context) -> bool:
        from airflow_provider_modelarts import waiting
        from airflow_provider_modelarts.exceptions import ModelArtsJobError

        saved = self._load_cursor(context)
        if self._watcher is None or self.mode == "reschedule":
            self._watcher = self._watcher_for(context, saved.get("cursor"))
            self._watcher.last_status = saved.get("last_status")
        watcher = self._watcher
        version = watcher.poll()
        if version.state.is_terminal:
            watcher.tail()
            self._save_cursor(context, None)
            waiting.finish(watcher, version, failure_log_lines=self.failure_log_lines, log=self.log)
            return True
        deadline = self._deadline(context)
        if deadline is not None and time.time() >= deadline:
            self._save_cursor(context, None)
            waiting.stop_quietly(self.hook, watcher.job_id, watcher.version_id, self.log)
            raise ModelArtsJobError(f"max_run_time exceeded: stopped job_id={watcher.job_id} "
                                    f"version_id={watcher.version_id}")
        self._save_cursor(context, {"cursor": watcher.cursor.to_json(), "last_status": watcher.last_status})
        return False

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        from airflow_provider_modelarts import waiting

        watcher = self._watcher_for(context, (event or {}).get("log_cursor"))
        watcher.print_log = False
        waiting.complete_from_event(watcher, event, failure_log_lines=self.failure_log_lines, log=self.log)

    def on_kill(self) -> None:
        if not self.stop_job_on_kill:
            return
        from airflow_provider_modelarts import waiting

        waiting.stop_quietly(self.hook, *self._target(), self.log)
