"""``TrainingJobSensor``: wait for a ModelArts training job version (poke, reschedule or deferrable)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_modelarts.adapters import job_ref
from airflow_provider_modelarts.assets import annotate_outlets
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsConfigError
from airflow_provider_modelarts.links.training import ModelArtsTrainingJobLink, console_url
from airflow_provider_modelarts.models import TrainingResult
from airflow_provider_modelarts.spec import count, seconds
from airflow_provider_modelarts.task_state import TaskIdentity

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.models import JobRef, JobV2, JobVersion
    from airflow_provider_modelarts.watcher import JobWatcher

#: what a failed job's sensor says about training again (a sensor retry would only watch the same job again)
RETRAIN_HINT = ("\nThis sensor watches one job: its retries cannot train again. To retrain, clear the task that "
                "created the job (it creates the next version / attempt), or create the job with "
                "CreateTrainingJobOperator(wait=True, deferrable=True), whose retries retrain.")


class TrainingJobSensor(BaseSensorOperator):
    """Succeed when the job (v1 version or v2 job) completes; fail (with its last log lines in the task log)
    otherwise. Returns the same :class:`~airflow_provider_modelarts.models.TrainingResult` dict as the operator.

    :param job_id: the job id, typically ``"{{ ti.xcom_pull(task_ids='train', key='job_id') }}"``.
    :param version_id: v1 version id, typically pulled the same way (key ``version_id``); None, empty or
        "None" (what that template renders on v2, where there are no versions) watches a v2 job.
    :param modelarts_conn_id: connection id.
    :param print_log: tail every worker's log into the task log. The cursor is saved per task instance between
        pokes, deferrals and retries (an Airflow Variable, deleted when the wait ends), so no line repeats.
    :param deferrable: wait in the triggerer (default from ``[operators] default_deferrable``).
    :param poll_interval: seconds between polls: the operator's name for ``poke_interval`` (give one of them;
        default 30).
    :param max_run_time: stop the job and fail when it runs longer than this (seconds or timedelta),
        counted from this sensor's start.
    :param stop_job_on_kill: stop the job when this task is killed or marked failed/success while waiting.
        Default False: a sensor watches a job another task created. Clearing the sensor never stops the job.
    :param failure_log_lines: how many last lines of each worker's log a failure pulls into the task log.
    :param outage_window: ride out an unreachable ModelArts (connection failures, 5xx, 429) for this many seconds
        (default 600), across pokes; after it the sensor fails saying the job may still run.
    """

    template_fields: Sequence[str] = ("job_id", "version_id", "modelarts_conn_id")
    operator_extra_links = (ModelArtsTrainingJobLink(),)
    ui_color = "#f3c1c4"

    def __init__(self, *, job_id: int | str, version_id: int | str | None = None,
                 modelarts_conn_id: str = "modelarts_default",
                 print_log: bool = True,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                 poll_interval: float | timedelta | None = None,
                 max_run_time: float | timedelta | None = None, stop_job_on_kill: bool = False,
                 failure_log_lines: int = 50, outage_window: float | timedelta = 600.0, **kwargs: Any) -> None:
        if poll_interval is not None:
            if "poke_interval" in kwargs:
                raise ModelArtsConfigError("poll_interval and poke_interval: give one of them (the same setting)")
            kwargs["poke_interval"] = seconds(poll_interval, "poll_interval", positive=True)
        kwargs["poke_interval"] = seconds(kwargs.get("poke_interval", 30), "poke_interval", positive=True)
        super().__init__(**kwargs)
        self.job_id = job_id
        self.version_id = version_id
        self.modelarts_conn_id = modelarts_conn_id
        self.print_log = print_log
        self.deferrable = deferrable
        self.max_run_time = None if max_run_time is None else seconds(max_run_time, "max_run_time", positive=True)
        self.stop_job_on_kill = stop_job_on_kill
        self.failure_log_lines = count(failure_log_lines, "failure_log_lines")
        self.outage_window = seconds(outage_window, "outage_window", minimum=0)
        self._watcher: JobWatcher | None = None
        self._identity: TaskIdentity | None = None
        self.modelarts_console_url: str | None = None
        if not any(isinstance(v, str) and "{{" in v for v in (job_id, version_id)):
            self._ref()

    @property
    def poll_interval(self) -> float:
        return float(self.poke_interval)

    def _ref(self) -> JobRef:
        """A v1 version (job_id + version_id), or a v2 job — a version_id that rendered empty or "None" (no such
        XCom on v2) means v2."""
        return job_ref(self.job_id, self.version_id)

    @cached_property
    def hook(self) -> ModelArtsHook:
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        return ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id)

    def _watcher_for(self, context: Context) -> JobWatcher:
        from airflow_provider_modelarts.cursor_store import CursorStore
        from airflow_provider_modelarts.watcher import JobWatcher

        ref = self._ref()
        watcher = JobWatcher(self.hook, ref.job_id, ref.version_id, print_log=self.print_log, log=self.log,
                             store=CursorStore.for_task(context["ti"], ref) if self.print_log else None)
        watcher.restore()
        return watcher

    def result(self, job: JobVersion | JobV2, context: Context | None = None) -> dict[str, Any]:
        """The task's return value; a successful job also goes into the events of the asset ``outlets``."""
        self._result = TrainingResult.of(job, console_url=console_url(self.hook.config, job.job_id,
                                                                      job.version_id)).to_dict()
        if context is not None:
            annotate_outlets(self.outlets, context, self._result)
        return self._result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (called by its provider only): the watched job (run facet) and its output path."""
        from airflow_provider_modelarts import lineage

        result = getattr(self, "_result", None)
        return lineage.training_lineage(None, region="", api_version=(result or {}).get("api_version", ""),
                                        result=result)

    # ------------------------------------------------------------------ Airflow entry points

    def execute(self, context: Context) -> Any:
        self._identity = TaskIdentity.of(context["ti"])
        ref = self._ref()
        url = self.modelarts_console_url = console_url(self.hook.config, ref.job_id, ref.version_id)
        ModelArtsTrainingJobLink.persist(context, url)
        from airflow_provider_modelarts import waiting

        if not self.deferrable:  # poke / reschedule: Airflow's loop calls poke(); its timeout ends the wait too
            self._watcher = self._watcher_for(context)
            with waiting.concluding(self._watcher, context):
                return super().execute(context)
        from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

        watcher = self._watcher = self._watcher_for(context)
        with waiting.concluding(watcher, context):
            version = watcher.poll()
            if version.state.is_terminal:
                watcher.tail()
                return self.result(waiting.finish(watcher, version, failure_log_lines=self.failure_log_lines,
                                                  log=self.log, hint=RETRAIN_HINT), context)
            # Airflow enforces the sensor's timeout between pokes; in the triggerer the trigger does
            deadline, reason = waiting.deadline_for(context, {"max_run_time": self.max_run_time,
                                                              "timeout": self.timeout})
            self.defer(
                trigger=TrainingJobTrigger(job_id=watcher.job_id, version_id=watcher.version_id,
                                           modelarts_conn_id=self.modelarts_conn_id,
                                           poll_interval=self.poke_interval, deadline=deadline,
                                           deadline_reason=reason,
                                           print_log=self.print_log, log_cursor=watcher.cursor.to_json(),
                                           last_status=watcher.last_status, stop_on_kill=self.stop_job_on_kill,
                                           outage_window=self.outage_window),
                method_name="execute_complete",
            )
        return None

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_modelarts import waiting

        self._identity = TaskIdentity.of(context["ti"])
        if self._watcher is None:  # one per process: each reschedule-mode poke starts from the saved cursor
            self._watcher = self._watcher_for(context)
        watcher = self._watcher
        with waiting.concluding(watcher, context):  # (execute's covers Airflow's own timeout)
            outage = waiting.Outage(self.outage_window, self.log, since=watcher.outage_since)
            try:
                version = watcher.poll()
            except ModelArtsApiError as err:
                outage.ride_out(err, watcher.ref)  # raises when it is no outage, or a too long one
                watcher.outage_since = outage.since  # a reschedule-mode poke continues the count
                watcher.save()
                return PokeReturnValue(is_done=False)
            outage.over()
            if watcher.outage_since is not None:
                watcher.outage_since = None
                watcher.save()
            if version.state.is_terminal:
                watcher.tail()
                job = waiting.finish(watcher, version, failure_log_lines=self.failure_log_lines, log=self.log,
                                     hint=RETRAIN_HINT)
                return PokeReturnValue(is_done=True, xcom_value=self.result(job, context))
            deadline, _ = waiting.deadline_for(context, {"max_run_time": self.max_run_time})
            if deadline is not None and time.time() >= deadline:
                watcher.concluded = True
                raise waiting.out_of_time(self.hook, watcher.ref, "max_run_time", self.log)
        return PokeReturnValue(is_done=False)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_modelarts import waiting

        self._identity = TaskIdentity.of(context["ti"])
        watcher = self._watcher_for(context)  # prints what the trigger left (its event's log_cursor)
        with waiting.concluding(watcher, context):
            return self.result(waiting.complete_from_event(watcher, event, failure_log_lines=self.failure_log_lines,
                                                           log=self.log, hint=RETRAIN_HINT,
                                                           stop_on_timeout=self.stop_job_on_kill), context)

    def on_kill(self) -> None:
        if not self.stop_job_on_kill:
            return
        from airflow_provider_modelarts import waiting

        waiting.stop_on_kill(self.hook, self._ref(), self._identity, self.log, in_trigger=False)
