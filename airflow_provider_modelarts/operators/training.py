"""``CreateTrainingJobOperator``: the seed SDK's ``Estimator(...).fit(...)`` as an Airflow task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_modelarts.adapters.base import IF_EXISTS_CHOICES
from airflow_provider_modelarts.assets import annotate_outlets, asset_outlets
from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.links.training import ModelArtsTrainingJobLink, console_url
from airflow_provider_modelarts.models import TrainingResult
from airflow_provider_modelarts.spec import (
    TrainingJobSpec,
    count,
    is_local_code,
    is_templated,
    normalise_obs,
    seconds,
    validate_job_name,
)
from airflow_provider_modelarts.task_state import TaskIdentity

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.models import JobRef, JobV2, JobVersion
    from airflow_provider_modelarts.watcher import JobWatcher

SPEC_FIELDS = (
    "framework_type", "framework_version", "code_dir", "boot_file", "log_url", "hyperparameters", "output_path",
    "train_instance_type", "train_instance_count", "job_description", "model_name", "user_image_url",
    "user_command", "pool_id", "inputs", "dataset_id", "dataset_version_id", "data_source",
)


class CreateTrainingJobOperator(BaseOperator):
    """Create a ModelArts training job (v1 or v2) from the seed SDK's ``Estimator`` and ``fit`` arguments.

    Estimator arguments:

    :param framework_type: AI engine name, e.g. ``PyTorch`` (framework jobs).
    :param framework_version: engine version, e.g. ``PyTorch-1.0.0-python3.6``.
    :param code_dir: OBS code directory (``/bucket/dir/`` or ``obs://bucket/dir/``), or a local directory — a
        path relative to the DAG file's folder, or ``file:///absolute/dir`` — uploaded to OBS before the job is
        submitted (see ``code_upload_path``).
    :param boot_file: boot file inside ``code_dir`` (for a local ``code_dir``: relative to it, or starting with it).
    :param log_url: OBS directory the job's logs are copied to.
    :param hyperparameters: ``[{"label": ..., "value": ...}]`` or ``{label: value}``.
    :param output_path: OBS output directory (``train_url``).
    :param train_instance_type: resource spec code, e.g. ``modelarts.vm.cpu.2u``.
    :param train_instance_count: number of workers (≤ the spec's ``max_num``).
    :param job_description: description (≤ 200 characters; the task identity is appended).
    :param model_name: built-in algorithm name (excludes the framework fields).
    :param user_image_url: custom image (with ``user_command``; excludes the framework fields).
    :param user_command: container start command for ``user_image_url``.
    :param pool_id: dedicated resource pool id.

    fit arguments:

    :param inputs: OBS data directory. Exactly one of ``inputs``, ``dataset_id`` + ``dataset_version_id``,
        ``data_source``.
    :param dataset_id: ModelArts dataset id.
    :param dataset_version_id: dataset version id.
    :param data_source: list of ``{"type": "obs", "data_url": ...}`` / ``{"type": "dataset", ...}``.
    :param job_name: job name; derived from dag_id, task_id and the run when omitted (stable across tries).
    :param wait: wait for the job to end (the SDK's default False: use ``TrainingJobSensor`` downstream).

    Airflow arguments:

    :param modelarts_conn_id: connection id, ``modelarts_default`` by default (also used for OBS).
    :param code_upload_path: OBS directory a local ``code_dir`` is uploaded below, to
        ``<code_upload_path>/<dir name>-<content hash>/`` (unchanged code is uploaded once, whatever the number
        of runs and retries); default ``/<output_path's bucket>/modelarts-code/``.
    :param poll_interval: seconds from the start of one status poll to the start of the next while waiting.
    :param deferrable: wait in the triggerer instead of a worker slot (with ``wait=True``).
    :param print_log: tail every worker's log into the task log while waiting.
    :param max_run_time: stop the job and fail when it runs longer (seconds or timedelta).
    :param if_exists: when the job already exists and its latest version has ended: ``new_version``
        (default: the retry becomes V0002, V0003, …), ``reuse_completed`` (return a completed version instead of
        retraining) or ``fail``. A running version started by this same task instance is always reattached
        (after a crash, a retry or a clear); one started by another run is never adopted.
    :param failure_log_lines: how many last lines of each worker's log a failure pulls into the task log.
    :param outage_window: while waiting, ride out an unreachable ModelArts (connection failures, 5xx, 429) for
        this many seconds (default 600) — the job runs on regardless; after it the task fails (a retry
        reattaches).
    :param api_version: ``v1`` (old-version jobs: job_id + version_id) or ``v2`` (new-version jobs: a job id);
        default: the connection's ``api_version`` extra (``v2`` when absent). On v2 a retry of a finished job
        is a new job named ``<job_name>-a2``, ``-a3``…; XCom carries ``job_id`` only.

    Returns a :class:`~airflow_provider_modelarts.models.TrainingResult` as a dict (XCom ``return_value``).
    Killing the task or marking it failed/success stops the job; clearing it does not (the next try
    reattaches to the running job): see :mod:`airflow_provider_modelarts.task_state`.
    """

    template_fields: Sequence[str] = (*SPEC_FIELDS, "job_name", "modelarts_conn_id", "code_upload_path")
    template_fields_renderers = {"hyperparameters": "json", "data_source": "json"}
    operator_extra_links = (ModelArtsTrainingJobLink(),)
    ui_color = "#c7000b"

    def __init__(
        self,
        *,
        framework_type: str | None = None,
        framework_version: str | None = None,
        code_dir: str | None = None,
        boot_file: str | None = None,
        log_url: str | None = None,
        hyperparameters: list[dict[str, Any]] | dict[str, Any] | None = None,
        output_path: str | None = None,
        train_instance_type: str | None = None,
        train_instance_count: int | str | None = None,
        job_description: str | None = None,
        model_name: str | None = None,
        user_image_url: str | None = None,
        user_command: str | None = None,
        pool_id: str | None = None,
        inputs: str | None = None,
        dataset_id: str | None = None,
        dataset_version_id: str | None = None,
        data_source: list[dict[str, Any]] | None = None,
        job_name: str | None = None,
        wait: bool = False,
        modelarts_conn_id: str = "modelarts_default",
        poll_interval: float = 30.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        print_log: bool = True,
        max_run_time: float | timedelta | None = None,
        if_exists: str = "new_version",
        failure_log_lines: int = 50,
        outage_window: float | timedelta = 600.0,
        api_version: str | None = None,
        code_upload_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.framework_type = framework_type
        self.framework_version = framework_version
        self.code_dir = code_dir
        self.boot_file = boot_file
        self.log_url = log_url
        self.hyperparameters = hyperparameters
        self.output_path = output_path
        self.train_instance_type = train_instance_type
        self.train_instance_count = train_instance_count
        self.job_description = job_description
        self.model_name = model_name
        self.user_image_url = user_image_url
        self.user_command = user_command
        self.pool_id = pool_id
        self.inputs = inputs
        self.dataset_id = dataset_id
        self.dataset_version_id = dataset_version_id
        self.data_source = data_source
        self.job_name = job_name
        self.wait = wait
        self.modelarts_conn_id = modelarts_conn_id
        self.poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self.deferrable = deferrable
        self.print_log = print_log
        self.max_run_time = None if max_run_time is None else seconds(max_run_time, "max_run_time", positive=True)
        self.if_exists = if_exists
        self.failure_log_lines = count(failure_log_lines, "failure_log_lines")
        self.outage_window = seconds(outage_window, "outage_window", minimum=0)
        self.api_version = api_version
        self.code_upload_path = code_upload_path
        if code_upload_path is not None and not is_templated(code_upload_path):
            normalise_obs(code_upload_path, "code_upload_path")
        self._ref: JobRef | None = None
        self._result: dict[str, Any] | None = None
        self._identity: TaskIdentity | None = None
        #: the console URL of this try's job, for the extra link at the end of the try (no job: no link)
        self.modelarts_console_url: str | None = None
        if api_version not in (None, "v1", "v2"):
            raise ModelArtsConfigError(f"api_version: expected 'v1' or 'v2' (or None: the connection's), got "
                                       f"{api_version!r}")
        if if_exists not in IF_EXISTS_CHOICES:
            raise ModelArtsConfigError(f"if_exists: expected one of {', '.join(IF_EXISTS_CHOICES)}, got {if_exists!r}")
        if not wait and asset_outlets(self.outlets):
            self.log.warning("%s: asset outlets with wait=False are emitted when the job is submitted, before "
                             "anything is trained; set wait=True (or put the outlets on a TrainingJobSensor)",
                             self.task_id)
        if job_name is not None and not is_templated(job_name):
            validate_job_name(job_name)
        # static values fail at DAG parse time; templated ones are checked after rendering (and then fail the
        # task without retries: ModelArtsConfigError is an AirflowFailException)
        TrainingJobSpec.check_static({name: getattr(self, name) for name in SPEC_FIELDS},
                                     frozenset(name for name in SPEC_FIELDS if is_templated(getattr(self, name))))

    # ------------------------------------------------------------------ building the request
    def spec(self) -> TrainingJobSpec:
        return TrainingJobSpec.validated(**{name: getattr(self, name) for name in SPEC_FIELDS})

    @cached_property
    def hook(self) -> ModelArtsHook:
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        return ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id)

    def effective_api_version(self) -> str:
        return self.api_version or self.hook.config.api_version

    # ------------------------------------------------------------------ Airflow entry points
    def result(self, job: JobVersion | JobV2, context: Context | None = None) -> dict[str, Any]:
        """The task's return value; a successful job also goes into the events of the asset ``outlets``."""
        self._result = TrainingResult.of(job, console_url=console_url(self.hook.config, job.job_id, job.version_id),
                                         output_path=self.spec().output_path).to_dict()
        if context is not None:
            annotate_outlets(self.outlets, context, self._result)
        return self._result

    # ------------------------------------------------------------------ OpenLineage (called by its provider only)
    def _lineage(self, error: str | None = None) -> Any:
        from airflow_provider_modelarts import lineage

        try:
            spec: TrainingJobSpec | None = self.spec()
            api_version = self.effective_api_version()
            region = self.hook.config.region
        except Exception as err:  # lineage never fails a task; a bad spec fails it elsewhere, with its message
            self.log.debug("No lineage: %s", err)
            spec, api_version, region = None, self.api_version or "", ""
        result = self._result
        if result is None and self._ref is not None:  # the job exists but did not succeed (or is still running)
            result = {"job_id": self._ref.job_id, "version_id": self._ref.version_id,
                      "console_url": self.modelarts_console_url}
        return lineage.training_lineage(spec, region=region, api_version=api_version, result=result, error=error)

    def get_openlineage_facets_on_start(self) -> Any:
        """Inputs (OBS paths, ModelArts datasets), the output path and what is trained."""
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """As on start, with the job (id, version, status, console URL, duration) and its ``train_url``."""
        return self._lineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on complete, with the error."""
        error = getattr(task_instance, "error", None)
        return self._lineage(error=str(error) if error else None)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_modelarts import waiting
        from airflow_provider_modelarts.adapters import Naming, SubmitPolicy, for_version

        spec = self.spec()  # again, after templating, before any request
        if self.code_upload_path is not None:
            normalise_obs(self.code_upload_path, "code_upload_path")
        if is_local_code(spec.code_dir):
            spec = self._upload_code(spec, context)
        api = for_version(self.hook, self.effective_api_version())
        naming = Naming.for_task(context["ti"], self.job_name, spec.job_description, spec, api.api_version)
        self._identity = TaskIdentity.of(context["ti"])
        job = api.submit(spec, naming, SubmitPolicy(self.if_exists, self.log))
        self._ref = job.ref
        for key, value in job.ref.ids().items():
            context["ti"].xcom_push(key=key, value=value)
        url = self.modelarts_console_url = api.console_url(self.hook.config, job.ref)
        ModelArtsTrainingJobLink.persist(context, url)
        self.log.info("ModelArts console: %s", url)
        if not self.wait:
            return self.result(self.hook.run(api.get(job.ref)))
        watcher = self._watcher(context, job.ref)
        watcher.restore()  # a retry reattaching after a worker died continues the log where it stopped
        with waiting.concluding(watcher, context):
            if self.deferrable:
                current = watcher.poll()
                if current.state.is_terminal:  # finished before we could defer
                    watcher.tail()
                    return self.result(waiting.finish(watcher, current, failure_log_lines=self.failure_log_lines,
                                                      log=self.log), context)
                # in the worker Airflow enforces execution_timeout; in the triggerer the trigger does
                timeout = self.execution_timeout.total_seconds() if self.execution_timeout else None
                self._defer(watcher, *waiting.deadline_for(context, {"max_run_time": self.max_run_time,
                                                                     "execution_timeout": timeout}))
            deadline, _ = waiting.deadline_for(context, {"max_run_time": self.max_run_time})
            final = waiting.wait(watcher, poll_interval=self.poll_interval, deadline=deadline,
                                 failure_log_lines=self.failure_log_lines, log=self.log,
                                 outage_window=self.outage_window)
            return self.result(final, context)

    def _upload_code(self, spec: TrainingJobSpec, context: Context) -> TrainingJobSpec:
        """Put the local code_dir on OBS (once per content) and submit with its OBS paths."""
        from airflow_provider_modelarts import local_code
        from airflow_provider_modelarts.hooks.obs import ObsHook

        dag = context.get("dag") or (self.dag if self.has_dag() else None)
        return local_code.upload(ObsHook(modelarts_conn_id=self.modelarts_conn_id), spec,
                                 dag_file=getattr(dag, "fileloc", None), upload_path=self.code_upload_path,
                                 log=self.log)

    def _watcher(self, context: Context, ref: JobRef) -> JobWatcher:
        from airflow_provider_modelarts.cursor_store import CursorStore
        from airflow_provider_modelarts.watcher import JobWatcher

        return JobWatcher(self.hook, ref.job_id, ref.version_id, print_log=self.print_log, log=self.log,
                          store=CursorStore.for_task(context["ti"], ref) if self.print_log else None)

    def _defer(self, watcher: JobWatcher, deadline: float | None, reason: str) -> None:
        from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

        self.defer(
            trigger=TrainingJobTrigger(job_id=watcher.job_id, version_id=watcher.version_id,
                                       modelarts_conn_id=self.modelarts_conn_id, poll_interval=self.poll_interval,
                                       deadline=deadline, deadline_reason=reason, print_log=self.print_log,
                                       outage_window=self.outage_window,
                                       log_cursor=watcher.cursor.to_json(), last_status=watcher.last_status),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_modelarts import waiting
        from airflow_provider_modelarts.adapters import job_ref

        event = waiting.valid_event(event)
        self._identity = TaskIdentity.of(context["ti"])
        self._ref = job_ref(event.get("job_id", 0), event.get("version_id"))
        self.modelarts_console_url = console_url(self.hook.config, self._ref.job_id, self._ref.version_id)
        watcher = self._watcher(context, self._ref)  # prints what the trigger left (its event's log_cursor)
        with waiting.concluding(watcher, context):
            return self.result(waiting.complete_from_event(watcher, event, failure_log_lines=self.failure_log_lines,
                                                           log=self.log), context)

    def on_kill(self) -> None:
        """The task was killed while waiting in this worker: stop the remote job — unless the task instance was
        cleared (the next try reattaches to the job instead)."""
        if self._ref is None:
            return
        from airflow_provider_modelarts import waiting

        waiting.stop_on_kill(self.hook, self._ref, self._identity, self.log, in_trigger=False)
