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
IF_EXISTS_CHOICES = ("new_version", "reuse_completed", "fail")
E = TypeVar("E")
#: a generator of API operations (driven sync or async by :mod:`airflow_provider_modelarts.watcher`)
Steps = Generator["Operation[Any]", Any, Any]


@dataclass(frozen=True)
class Naming:
    """What a task instance calls its job: the same for every try."""

    job_name: str
    marker: str
    description: str

    @classmethod
    def for_task(cls, ti: Any, job_name: str | None, description: str | None) -> Naming:
        """The job name (given, or derived from dag/task/run/map index), the task-identity marker, and the
        description with the marker appended."""
        from airflow_provider_modelarts.spec import derive_job_name, task_marker, validate_job_name

        map_index = getattr(ti, "map_index", None)
        identity = (ti.dag_id, ti.task_id, ti.run_id, map_index if map_index is not None and map_index >= 0 else None)
        marker = task_marker(*identity)
        return cls(validate_job_name(job_name or derive_job_name(*identity)), marker,
                   f"{description or ''} {marker}".strip())


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

    def use_existing(self, latest: Job, marker: str, label: str) -> bool:
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

    def create(self, name: str, marker: str, create: Callable[[], Job], lookup: Callable[[], Job | None]) -> Job:
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
                    if marker in found.job_desc:
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
