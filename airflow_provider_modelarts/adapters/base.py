"""The small protocol every API-version adapter speaks, and the submit policy both share.

An adapter (:mod:`.v1`, :mod:`.v2`) owns everything that differs between ModelArts' old-version (v1: jobs with
versions) and new-version (v2: one job per run) training APIs: catalogue lookups, request bodies, finding this
task's job, creating the first and the next run, the status and log endpoints, stopping, the console URL. The
operator, sensor, trigger and watcher talk to :class:`TrainingApi` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsConfigError, ModelArtsJobError

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.api_v1 import Operation
    from airflow_provider_modelarts.hooks.connection import ConnectionConfig
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.models import JobRef, JobV2, JobVersion, LogChunk
    from airflow_provider_modelarts.spec import TrainingJobSpec

    Job = JobVersion | JobV2

#: create attempts after an answer that leaves it unknown whether the job was created (5xx, dropped, timeout)
CREATE_ATTEMPTS = 3
#: how long a submit waits for a job that is being stopped to end (KILLING / Terminating)
STOPPING_WAIT = 120.0
IF_EXISTS_CHOICES = ("new_version", "reuse_completed", "fail")
E = TypeVar("E")
#: a generator of API operations (driven sync or async by :mod:`airflow_provider_modelarts.watcher`)
Steps = Generator["Operation[Any]", Any, Any]


@dataclass(frozen=True)
class Naming:
    """What a task instance calls its job (the same for every try), and the tag that proves a job is its own.

    The tag in the job's description is ``[airflow-ti:<task instance hash>/<request hash>]``: the first part says
    which task instance created the job, the second which request (the validated spec and API version). A job is
    reattached or reused only when both match; a job of another task instance is never adopted.
    """

    job_name: str
    marker: str
    fingerprint: str
    description: str

    @classmethod
    def for_task(cls, ti: Any, job_name: str | None, description: str | None,
                 spec: TrainingJobSpec | None = None, api_version: str = "") -> Naming:
        """The job name (given, or derived from dag/task/run/map index), the task-instance marker, the request
        fingerprint and the description with the tag appended."""
        from airflow_provider_modelarts.spec import (
            derive_job_name,
            request_fingerprint,
            task_marker,
            validate_job_name,
        )

        map_index = getattr(ti, "map_index", None)
        identity = (ti.dag_id, ti.task_id, ti.run_id, map_index if map_index is not None and map_index >= 0 else None)
        marker = task_marker(*identity)
        fingerprint = request_fingerprint(spec, api_version) if spec is not None else ""
        name = validate_job_name(job_name if job_name is not None else derive_job_name(*identity))
        tag = f"{marker}/{fingerprint}]" if fingerprint else f"{marker}]"
        return cls(name, marker, fingerprint, f"{description or ''} {tag}".strip())

    @property
    def tag(self) -> str:
        return f"{self.marker}/{self.fingerprint}]" if self.fingerprint else f"{self.marker}]"

    def owns(self, job: Job) -> bool:
        """This task instance created the job (any request)."""
        return self.marker in job.job_desc

    def same_request(self, job: Job) -> bool:
        """This task instance created the job with the request it would send now."""
        return self.tag in job.job_desc


class TrainingApi(Protocol):
    """One ModelArts training API version, as the operator, sensor, trigger and watcher use it."""

    api_version: str

    def submit(self, spec: TrainingJobSpec, naming: Naming, policy: SubmitPolicy) -> Job:
        """Resolve the spec's names, then create this task's job, the next run of it, or reattach."""

    def get(self, ref: JobRef) -> Operation[Job]:
        """The status poll."""

    def log_names(self, ref: JobRef, job: Job | None) -> Steps:
        """Steps returning the job's log streams (one per worker)."""

    def log_page(self, ref: JobRef, name: str, base_line: str, lines: int) -> Operation[LogChunk]:
        """Up to ``lines`` lines of one stream after the cursor ``base_line``, oldest first."""

    def log_latest(self, ref: JobRef, name: str, lines: int) -> Operation[LogChunk]:
        """The last ``lines`` lines of one stream."""

    def stop(self, ref: JobRef) -> Operation[Any]:
        """Stop the job (stopping twice is harmless)."""

    def count_jobs(self) -> Operation[tuple[int, list[Any]]]:
        """One cheap authenticated read: (number of jobs, first page of one)."""

    def console_url(self, config: ConnectionConfig, ref: JobRef) -> str:
        """Where a person sees the job."""


@dataclass
class AdapterBase:
    """What both adapters hold: the hook whose transport they use (None where only URLs are built)."""

    hook: ModelArtsHook


def find_entry(entries: Sequence[E], matches: Callable[[E], bool], *, field: str, what: str, value: Any,
               names: Callable[[E], str], hint: str = "") -> E:
    """The catalogue entry a seed name refers to; an unknown name lists the valid ones (and ``hint``)."""
    entry = next((e for e in entries if matches(e)), None)
    if entry is None:
        valid = ", ".join(names(e) for e in entries) or "none"
        raise ModelArtsConfigError(f"{field}: unknown {what} {value!r}; valid: {valid}{hint}")
    return entry


def find_engine(engines: Sequence[E], spec: TrainingJobSpec) -> E:
    """The AI engine named by ``framework_type`` + ``framework_version`` (v1 and v2 entries alike)."""
    return find_entry(engines, lambda e: (e.engine_name, e.engine_version) == (spec.framework_type,  # type: ignore
                                                                                spec.framework_version),
                      field="framework_type/framework_version", what="AI engine",
                      value=f"{spec.framework_type} / {spec.framework_version}",
                      names=lambda e: f"{e.engine_name} / {e.engine_version}")  # type: ignore[attr-defined]


def check_node_count(spec: TrainingJobSpec, max_num: int | None, code: str) -> None:
    if max_num and spec.train_instance_count and spec.train_instance_count > max_num:
        raise ModelArtsConfigError(f"train_instance_count: {spec.train_instance_count} exceeds max_num {max_num} "
                                   f"of {code}")


def _ambiguous(err: ModelArtsApiError) -> bool:
    """No answer, or a server error: the job may or may not exist now."""
    return err.http_status == 0 or err.http_status >= 500


class SubmitPolicy:
    """What a submit does with an existing job and with a create whose answer was lost — for both versions.

    :param if_exists: ``new_version`` | ``reuse_completed`` | ``fail`` (see the operator).
    :param log: the task's logger.
    """

    def __init__(self, if_exists: str, log: Any) -> None:
        self.if_exists = if_exists
        self.log = log

    def settled(self, job: Job, refresh: Callable[[], Job], timeout: float = STOPPING_WAIT) -> Job:
        """A job that is being stopped (a kill or mark-failed just before this try) is waited for, so this try
        does not reattach to a job about to end as stopped: it then creates the next version / attempt."""
        deadline = time.monotonic() + timeout
        while job.state.is_stopping and time.monotonic() < deadline:
            self.log.info("%s is being stopped (%s): waiting for it to end before going on", job.label, job.state)
            time.sleep(2.0)
            job = refresh()
        return job

    def use_existing(self, latest: Job, naming: Naming, label: str) -> bool:
        """True: use ``latest`` (reattach to our running one, or reuse a completed one); False: create the next
        version (v1) or attempt (v2). Raises for a job another task instance started, a running one with other
        parameters, or ``if_exists='fail'``."""
        if not naming.owns(latest):
            if not latest.state.is_terminal:
                raise ModelArtsJobError(f"{label} is running and another DAG run or task started it; not adopting "
                                        "it. Give this task its own job_name or stop that job.")
            raise ModelArtsConfigError(
                f"job_name: {naming.job_name!r} is taken by {label}, which another task (or DAG run, or "
                "deployment) created; not adopting it. Give this task its own job_name, or leave job_name unset "
                "(a name is derived from the dag, task and run)")
        if not latest.state.is_terminal:
            if naming.same_request(latest):
                self.log.info("Reattaching to %s, started by an earlier try of this task instance; nothing new "
                              "is created", label)
                return True
            raise ModelArtsJobError(
                f"{label} is running, started by this task instance with other parameters (the DAG changed since, or "
                "another deployment uses the same dag, task and run ids); not adopting it. Stop it (mark this task "
                "failed), or let it end: a retry then trains with the current parameters.")
        if self.if_exists == "fail":
            raise ModelArtsJobError(f"{label} already exists ({latest.state}) and if_exists='fail'")
        if self.if_exists == "reuse_completed" and latest.state.is_successful:
            if naming.same_request(latest):
                self.log.info("Reusing completed %s (if_exists='reuse_completed')", label)
                return True
            self.log.info("%s completed with other parameters: training again", label)
            return False
        self.log.info("%s ended %s: creating a new one", label, latest.state)
        return False

    def create(self, name: str, naming: Naming, create: Callable[[], Job], lookup: Callable[[], Job | None]) -> Job:
        """Create; after an answer that leaves it unknown whether the job exists, look the name up first."""
        last: ModelArtsApiError | None = None
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                job = create()
                self.log.info("Created ModelArts job %s (%s)", name, job.ref)
                return job
            except ModelArtsApiError as err:
                if not _ambiguous(err):
                    raise
                last = err
                self.log.warning("Create job %s: %s — looking the name up before trying again", name, err)
                found = lookup()
                if found is not None:
                    if naming.same_request(found):
                        self.log.info("The job was created after all (%s); using it", found.ref)
                        return found
                    raise ModelArtsJobError(f"Job {name} appeared, created by someone else") from err
                if attempt < CREATE_ATTEMPTS:
                    time.sleep(min(2.0 * attempt, 10.0))
        assert last is not None
        raise last

    def create_once(self, create: Callable[[], Job], find_created: Callable[[], Job | None]) -> Job:
        """A create that is not repeated: after an ambiguous answer, ``find_created`` decides whether it landed."""
        try:
            return create()
        except ModelArtsApiError as err:
            if not _ambiguous(err):
                raise
            self.log.warning("%s — checking whether it was created", err)
            found = find_created()
            if found is None:
                raise
            return found
