"""``CreateTrainingJobOperator``: the seed SDK's ``Estimator(...).fit(...)`` as an Airflow task."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsConfigError, ModelArtsJobError
from airflow_provider_modelarts.links.training import ModelArtsTrainingJobLink, console_url
from airflow_provider_modelarts.spec import (
    TrainingJobSpec,
    attempt_name,
    attempt_of,
    derive_job_name,
    task_marker,
    validate_job_name,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.models import JobV2, JobVersion

SPEC_FIELDS = (
    "framework_type", "framework_version", "code_dir", "boot_file", "log_url", "hyperparameters", "output_path",
    "train_instance_type", "train_instance_count", "job_description", "model_name", "user_image_url",
    "user_command", "pool_id", "inputs", "dataset_id", "dataset_version_id", "data_source",
)
IF_EXISTS_CHOICES = ("new_version", "reuse_completed", "fail")
#: create attempts after an answer that leaves it unknown whether the job was created (5xx, dropped, timeout)
CREATE_ATTEMPTS = 3


def _is_templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_is_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_is_templated(v) for v in value)
    return False


def _ambiguous(err: ModelArtsApiError) -> bool:
    """No answer, or a server error: the job may or may not exist now."""
    return err.http_status == 0 or err.http_status >= 500


class CreateTrainingJobOperator(BaseOperator):
    """Create a ModelArts training job (v1) from the seed SDK's ``Estimator`` and ``fit`` arguments.

    Estimator arguments:

    :param framework_type: AI engine name, e.g. ``PyTorch`` (framework jobs).
    :param framework_version: engine version, e.g. ``PyTorch-1.0.0-python3.6``.
    :param code_dir: OBS code directory (``/bucket/dir/`` or ``obs://bucket/dir/``).
    :param boot_file: OBS boot file inside ``code_dir``.
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

    :param modelarts_conn_id: connection id, ``modelarts_default`` by default.
    :param poll_interval: seconds between status polls while waiting.
    :param deferrable: wait in the triggerer instead of a worker slot (with ``wait=True``).
    :param print_log: tail every worker's log into the task log while waiting.
    :param max_run_time: stop the job and fail when it runs longer (seconds or timedelta).
    :param if_exists: when the job already exists and its latest version has ended: ``new_version``
        (default: the retry becomes V0002, V0003, …), ``reuse_completed`` (return a completed version instead of
        retraining) or ``fail``. A running version started by this same task instance is always reattached;
        one started by another run is never adopted.
    :param failure_log_lines: how many last lines of each worker's log a failure pulls into the task log.
    :param api_version: ``v1`` (old-version jobs: job_id + version_id) or ``v2`` (new-version jobs: a job id);
        default: the connection's ``api_version`` extra (``v2`` when absent). On v2 a retry of a finished job
        is a new job named ``<job_name>-a2``, ``-a3``…; XCom carries ``job_id`` only.
    """

    template_fields: Sequence[str] = (*SPEC_FIELDS, "job_name", "modelarts_conn_id")
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
        api_version: str | None = None,
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
        self.poll_interval = float(poll_interval)
        self.deferrable = deferrable
        self.print_log = print_log
        self.max_run_time = max_run_time.total_seconds() if isinstance(max_run_time, timedelta) else max_run_time
        self.if_exists = if_exists
        self.failure_log_lines = failure_log_lines
        self.api_version = api_version
        self._job_id: int | str | None = None
        self._version_id: int | None = None
        if api_version not in (None, "v1", "v2"):
            raise ModelArtsConfigError(f"api_version: expected 'v1' or 'v2' (or None: the connection's), got "
                                       f"{api_version!r}")
        if if_exists not in IF_EXISTS_CHOICES:
            raise ModelArtsConfigError(f"if_exists: expected one of {', '.join(IF_EXISTS_CHOICES)}, got {if_exists!r}")
        if self.poll_interval <= 0:
            raise ModelArtsConfigError(f"poll_interval: expected a number of seconds > 0, got {poll_interval!r}")
        if self.max_run_time is not None and self.max_run_time <= 0:
            raise ModelArtsConfigError(f"max_run_time: expected seconds > 0, got {max_run_time!r}")
        if job_name is not None and not _is_templated(job_name):
            validate_job_name(job_name)
        if not any(_is_templated(getattr(self, name)) for name in SPEC_FIELDS):
            self.spec()  # static values: fail at DAG parse time, not at run time

    # ------------------------------------------------------------------ building the request
    def spec(self) -> TrainingJobSpec:
        return TrainingJobSpec.validated(**{name: getattr(self, name) for name in SPEC_FIELDS})

    @cached_property
    def hook(self) -> ModelArtsHook:
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        return ModelArtsHook(modelarts_conn_id=self.modelarts_conn_id)

    def resolve_ids(self, spec: TrainingJobSpec) -> dict[str, int | None]:
        """Names → ids through the lookup APIs (cached per hook); unknown names list the valid ones."""
        ids: dict[str, int | None] = {"spec_id": None, "engine_id": None, "model_id": None}
        if spec.train_instance_type:
            specs = self.hook.get_resource_specs()
            match = next((s for s in specs if s.spec_code == spec.train_instance_type), None)
            if match is None:
                raise ModelArtsConfigError(f"train_instance_type: unknown resource spec {spec.train_instance_type!r};"
                                           f" valid: {', '.join(s.spec_code for s in specs)}")
            if spec.train_instance_count and spec.train_instance_count > match.max_num:
                raise ModelArtsConfigError(f"train_instance_count: {spec.train_instance_count} exceeds max_num "
                                           f"{match.max_num} of {match.spec_code}")
            ids["spec_id"] = match.spec_id
        if spec.kind == "framework":
            engines = self.hook.get_ai_engines()
            engine = next((e for e in engines if e.engine_name == spec.framework_type
                           and e.engine_version == spec.framework_version), None)
            if engine is None:
                valid = ", ".join(f"{e.engine_name} / {e.engine_version}" for e in engines)
                raise ModelArtsConfigError(f"framework_type/framework_version: unknown AI engine "
                                           f"{spec.framework_type!r} / {spec.framework_version!r}; valid: {valid}")
            ids["engine_id"] = engine.engine_id
        if spec.kind == "built-in":
            algorithms = self.hook.get_built_in_algorithms()
            algorithm = next((a for a in algorithms if a.model_name == spec.model_name), None)
            if algorithm is None:
                raise ModelArtsConfigError(f"model_name: unknown built-in algorithm {spec.model_name!r}; valid: "
                                           f"{', '.join(a.model_name for a in algorithms)}")
            ids["model_id"] = algorithm.model_id
        return ids

    def _naming(self, context: Context, spec: TrainingJobSpec) -> tuple[str, str, str]:
        """(job name, task-identity marker, description with the marker): the same for every try."""
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        identity = (ti.dag_id, ti.task_id, ti.run_id, map_index if map_index is not None and map_index >= 0 else None)
        job_name = validate_job_name(self.job_name or derive_job_name(*identity))
        marker = task_marker(*identity)
        return job_name, marker, f"{spec.job_description or ''} {marker}".strip()

    # ------------------------------------------------------------------ submit, reattach, retry
    def _create_job(self, name: str, marker: str, create: Any, lookup: Any) -> JobVersion | JobV2:
        """Create; after an answer that leaves it unknown whether the job exists, look the name up first."""
        last: ModelArtsApiError | None = None
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                job = create()
                self.log.info("Created ModelArts job %s (job_id=%s, version_id=%s)", name, job.job_id, job.version_id)
                return job
            except ModelArtsApiError as err:
                if not _ambiguous(err):
                    raise
                last = err
                self.log.warning("Create job %s: %s — looking the name up before trying again", name, err)
                found = lookup()
                if found is not None:
                    if marker in found.job_desc:
                        self.log.info("The job was created after all (job_id=%s); using it", found.job_id)
                        return found
                    raise ModelArtsJobError(f"Job {name} appeared, created by someone else") from err
                if attempt < CREATE_ATTEMPTS:
                    time.sleep(min(2.0 * attempt, 10.0))
        assert last is not None
        raise last

    def _create_version(self, job_id: int, pre_version_id: int, body: dict[str, Any], marker: str) -> JobVersion:
        try:
            version = self.hook.create_job_version(job_id, body)
        except ModelArtsApiError as err:
            if not _ambiguous(err):
                raise
            self.log.warning("Create version: %s — checking whether it was created", err)
            newest = self.hook.list_job_versions(job_id)
            if newest and newest[0].version_id != pre_version_id and marker in newest[0].job_desc:
                version = newest[0]
            else:
                raise
        self.log.info("Created version %s of job_id=%s (version_id=%s, based on %s)", version.version_name, job_id,
                      version.version_id, pre_version_id)
        return version

    def _use_existing(self, latest: JobVersion | JobV2, marker: str, label: str) -> bool:
        """True: use ``latest`` (reattach to our running one, or reuse a completed one); False: create the next
        version (v1) or attempt (v2). Raises for a running job another run started, or ``if_exists='fail'``."""
        if not latest.state.is_terminal:
            if marker in latest.job_desc:
                self.log.info("Reattaching to %s, started by an earlier try of this task instance; nothing new "
                              "is created", label)
                return True
            raise ModelArtsJobError(f"{label} is running and another DAG run or task started it; not adopting it. "
                                    "Give this task its own job_name or stop that job.")
        if self.if_exists == "fail":
            raise ModelArtsJobError(f"{label} already exists ({latest.state}) and if_exists='fail'")
        if self.if_exists == "reuse_completed" and latest.state.is_successful:
            self.log.info("Reusing completed %s (if_exists='reuse_completed')", label)
            return True
        self.log.info("%s ended %s: creating a new one", label, latest.state)
        return False

    def submit(self, context: Context, spec: TrainingJobSpec) -> JobVersion:
        """Create the job, a new version of it, or reattach — never a duplicate, never an orphan."""
        config = spec.v1_config(**self.resolve_ids(spec))
        job_name, marker, desc = self._naming(context, spec)
        existing = self.hook.find_job_by_name(job_name)
        if existing is None:
            def lookup() -> JobVersion | None:
                found = self.hook.find_job_by_name(job_name)
                return self.hook.get_job_version(found.job_id, found.version_id) if found else None

            body = {"job_name": job_name, "job_desc": desc, "config": config}
            return self._create_job(job_name, marker, lambda: self.hook.create_training_job(body), lookup)
        latest = self.hook.get_job_version(existing.job_id, existing.version_id)
        if self._use_existing(latest, marker, f"Job {job_name} version {latest.version_name} "
                                              f"(version_id={latest.version_id})"):
            return latest
        return self._create_version(latest.job_id, latest.version_id,
                                    {"job_desc": desc, "config": {**config, "pre_version_id": latest.version_id}},
                                    marker)

    def effective_api_version(self) -> str:
        return self.api_version or self.hook.config.api_version

    def resolve_v2(self, spec: TrainingJobSpec) -> dict[str, Any]:
        """v2 names: flavors (``flavor_id`` is the spec code), engines, algorithms — unknown names list choices."""
        resolved: dict[str, Any] = {"engine": None, "algorithm_id": None}
        if spec.train_instance_type:
            flavors = self.hook.get_v2_flavors()
            flavor = next((f for f in flavors if f.get("flavor_id") == spec.train_instance_type), None)
            if flavor is None:
                raise ModelArtsConfigError(f"train_instance_type: unknown flavor {spec.train_instance_type!r}; valid: "
                                           f"{', '.join(str(f.get('flavor_id')) for f in flavors)}")
            max_num = (flavor.get("flavor_info") or {}).get("max_num")
            if max_num and spec.train_instance_count and spec.train_instance_count > int(max_num):
                raise ModelArtsConfigError(f"train_instance_count: {spec.train_instance_count} exceeds max_num "
                                           f"{max_num} of {spec.train_instance_type}")
        if spec.kind == "framework":
            engines = self.hook.get_v2_engines()
            engine = next((e for e in engines if e.get("engine_name") == spec.framework_type
                           and e.get("engine_version") == spec.framework_version), None)
            if engine is None:
                valid = ", ".join(f"{e.get('engine_name')} / {e.get('engine_version')}" for e in engines)
                raise ModelArtsConfigError(f"framework_type/framework_version: unknown AI engine "
                                           f"{spec.framework_type!r} / {spec.framework_version!r}; valid: {valid}")
            resolved["engine"] = {"engine_name": engine["engine_name"], "engine_version": engine["engine_version"]}
        if spec.kind == "built-in":
            algorithms = self.hook.get_v2_algorithms()
            match = next((a for a in algorithms if (a.get("metadata") or {}).get("name") == spec.model_name), None)
            if match is None:
                names = ", ".join(str((a.get("metadata") or {}).get("name")) for a in algorithms)
                raise ModelArtsConfigError(f"model_name: unknown algorithm {spec.model_name!r}; valid: {names}")
            resolved["algorithm_id"] = match["metadata"]["id"]
        return resolved

    def submit_v2(self, context: Context, spec: TrainingJobSpec) -> JobV2:
        """v2 has no versions: reattach to our running job, else a new job per attempt (``<name>-aN``)."""
        resolved = self.resolve_v2(spec)
        base, marker, desc = self._naming(context, spec)

        def attempts() -> list[tuple[int, JobV2]]:
            jobs = self.hook.search_training_jobs_v2(base[:50])  # attempt names may shorten the base
            return sorted(((n, j) for j in jobs if (n := attempt_of(base, j.job_name))), key=lambda t: t[0])

        found = attempts()
        attempt = 1
        if found:
            attempt, latest = found[-1]
            if self._use_existing(latest, marker, f"Job {latest.job_name} (job_id={latest.job_id})"):
                return latest
            attempt += 1
        name = attempt_name(base, attempt)
        body = spec.v2_body(name=name, description=desc, marker=marker, **resolved)

        def lookup() -> JobV2 | None:
            return next((j for n, j in attempts() if n == attempt), None)

        return self._create_job(name, marker, lambda: self.hook.create_training_job_v2(body), lookup)

    # ------------------------------------------------------------------ Airflow entry points
    def result(self, version: JobVersion | JobV2) -> dict[str, Any]:
        return {
            "job_id": version.job_id, "version_id": version.version_id, "job_name": version.job_name,
            "version_name": version.version_name, "status_code": version.state.code,
            "status_name": version.state.name, "train_url": version.train_url or self.spec().output_path,
            "console_url": console_url(self.hook.config, version.job_id, version.version_id),
        }

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_modelarts import waiting
        from airflow_provider_modelarts.watcher import JobWatcher

        spec = self.spec()  # again, after templating, before any request
        if self.effective_api_version() == "v2":
            version: JobVersion | JobV2 = self.submit_v2(context, spec)
        else:
            version = self.submit(context, spec)
        self._job_id, self._version_id = version.job_id, version.version_id
        context["ti"].xcom_push(key="job_id", value=version.job_id)
        if version.version_id is not None:  # v2 jobs have no versions
            context["ti"].xcom_push(key="version_id", value=version.version_id)
        url = console_url(self.hook.config, version.job_id, version.version_id)
        ModelArtsTrainingJobLink.persist(context, url)
        self.log.info("ModelArts console: %s", url)
        if not self.wait:
            return self.result(self.hook.get_job(version.job_id, version.version_id))
        watcher = JobWatcher(self.hook, version.job_id, version.version_id, print_log=self.print_log, log=self.log)
        deadline = time.time() + self.max_run_time if self.max_run_time else None
        if self.deferrable:
            current = watcher.poll()
            if current.state.is_terminal:  # finished before we could defer
                watcher.tail()
                return self.result(waiting.finish(watcher, current, failure_log_lines=self.failure_log_lines,
                                                  log=self.log))
            self._defer(watcher, deadline)
        final = waiting.wait(watcher, poll_interval=self.poll_interval, deadline=deadline,
                             failure_log_lines=self.failure_log_lines, log=self.log)
        return self.result(final)

    def _defer(self, watcher: Any, deadline: float | None) -> None:
        from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

        self.defer(
            trigger=TrainingJobTrigger(job_id=watcher.job_id, version_id=watcher.version_id,
                                       modelarts_conn_id=self.modelarts_conn_id, poll_interval=self.poll_interval,
                                       deadline=deadline, print_log=self.print_log,
                                       log_cursor=watcher.cursor.to_json(), last_status=watcher.last_status),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_modelarts import waiting
        from airflow_provider_modelarts.watcher import JobWatcher

        event = event or {}
        watcher = JobWatcher(self.hook, event.get("job_id", 0), event.get("version_id"), print_log=False,
                             cursor=event.get("log_cursor"), log=self.log)
        self._job_id, self._version_id = watcher.job_id, watcher.version_id
        return self.result(waiting.complete_from_event(watcher, event, failure_log_lines=self.failure_log_lines,
                                                       log=self.log))

    def on_kill(self) -> None:
        """The task was killed while waiting in this worker: stop the remote version too."""
        if self._job_id is None:
            return
        from airflow_provider_modelarts import waiting

        waiting.stop_quietly(self.hook, self._job_id, self._version_id, self.log)
