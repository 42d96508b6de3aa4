"""Value objects shared by the sync hook, the async hook, the trigger and the emulator.

They are plain frozen dataclasses built from API bodies (``from_api``) and, where they travel through
trigger events or XCom, serialisable (``to_json`` / ``from_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


def parse_id(value: Any, *, field_name: str = "id") -> int:
    """v1 ids are Longs that arrive as numbers or as strings (``shared/modelarts-api.md`` §2.4)."""
    if isinstance(value, bool):
        raise ValueError(f"{field_name} must be an integer id, got {value!r}")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{field_name} must be an integer id, got {value!r}") from None


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


class Outcome(str, Enum):
    """What a status code means to a waiting task."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    STOPPED = "stopped"


# code -> (name, outcome); §2.11. 9 KILLING is transitional (it ends in 12/13), 20 keeps waiting.
_STATUS_TABLE: dict[int, tuple[str, Outcome]] = {
    0: ("JOBSTAT_UNKNOWN", Outcome.RUNNING),
    1: ("JOBSTAT_INIT", Outcome.RUNNING),
    2: ("JOBSTAT_IMAGE_CREATING", Outcome.RUNNING),
    3: ("JOBSTAT_IMAGE_FAILED", Outcome.FAILED),
    4: ("JOBSTAT_SUBMIT_TRYING", Outcome.RUNNING),
    5: ("JOBSTAT_SUBMIT_FAILED", Outcome.FAILED),
    6: ("JOBSTAT_DELETE_FAILED", Outcome.FAILED),
    7: ("JOBSTAT_WAITING", Outcome.RUNNING),
    8: ("JOBSTAT_RUNNING", Outcome.RUNNING),
    9: ("JOBSTAT_KILLING", Outcome.RUNNING),
    10: ("JOBSTAT_COMPLETED", Outcome.SUCCESS),
    11: ("JOBSTAT_FAILED", Outcome.FAILED),
    12: ("JOBSTAT_KILLED", Outcome.STOPPED),
    13: ("JOBSTAT_CANCELED", Outcome.STOPPED),
    14: ("JOBSTAT_LOST", Outcome.FAILED),
    15: ("JOBSTAT_SCALING", Outcome.RUNNING),
    16: ("JOBSTAT_SUBMIT_MODEL_FAILED", Outcome.FAILED),
    17: ("JOBSTAT_DEPLOY_SERVICE_FAILED", Outcome.FAILED),
    18: ("JOBSTAT_CHECK_INIT", Outcome.RUNNING),
    19: ("JOBSTAT_CHECK_RUNNING", Outcome.RUNNING),
    20: ("JOBSTAT_CHECK_RUNNING_COMPLETED", Outcome.RUNNING),
    21: ("JOBSTAT_CHECK_FAILED", Outcome.FAILED),
    22: ("MOUNT_FAILED", Outcome.FAILED),
}

STATUS_CODES = {name: code for code, (name, _) in _STATUS_TABLE.items()}


class _Outcomes:
    """What a state means to a waiting task, from its ``outcome``; shared by v1 and v2 states."""

    outcome: Outcome

    @property
    def is_terminal(self) -> bool:
        return self.outcome is not Outcome.RUNNING

    @property
    def is_successful(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    @property
    def is_stopping(self) -> bool:
        """Asked to stop and not yet stopped (v1 9 JOBSTAT_KILLING, v2 Terminating)."""
        return self.code in (9, "Terminating")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class JobState(_Outcomes):
    """The state of one job version: a status code with its name and what it means."""

    code: int

    @property
    def name(self) -> str:
        return _STATUS_TABLE.get(self.code, (f"STATUS_{self.code}", Outcome.RUNNING))[0]

    @property
    def outcome(self) -> Outcome:
        return _STATUS_TABLE.get(self.code, ("", Outcome.RUNNING))[1]

    @property
    def started(self) -> bool:
        """Past queueing: worker logs may exist."""
        return self.code not in (0, 1, 2, 4, 7)

    @classmethod
    def of(cls, name: str) -> JobState:
        return cls(STATUS_CODES[name])

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


#: v2 ``status.phase`` → outcome (§3; terminal phases [inference]: Completed; Failed, Abnormal; Terminated)
_PHASES: dict[str, Outcome] = {
    "Creating": Outcome.RUNNING, "Pending": Outcome.RUNNING, "Running": Outcome.RUNNING,
    "Terminating": Outcome.RUNNING, "Completed": Outcome.SUCCESS, "Failed": Outcome.FAILED,
    "Abnormal": Outcome.FAILED, "Terminated": Outcome.STOPPED,
}


@dataclass(frozen=True)
class PhaseState(_Outcomes):
    """The state of a v2 training job (``status.phase``), with the same interface as :class:`JobState`."""

    phase: str

    @property
    def code(self) -> str:
        return self.phase

    @property
    def name(self) -> str:
        return self.phase

    @property
    def outcome(self) -> Outcome:
        return _PHASES.get(self.phase, Outcome.RUNNING)

    @property
    def started(self) -> bool:
        return self.phase not in ("Creating", "Pending")

    def __str__(self) -> str:
        return self.phase


@dataclass(frozen=True)
class JobRef:
    """Which job a task watches: a v1 job version (``job_id`` + ``version_id``) or a v2 job (``job_id``).

    It is what travels in XCom and trigger kwargs; :func:`airflow_provider_modelarts.adapters.for_ref` picks the
    API adapter that speaks to it.
    """

    api_version: str
    job_id: int | str
    version_id: int | None = None

    def ids(self) -> dict[str, Any]:
        """The ids a task publishes (XCom keys ``job_id``, and ``version_id`` where the API has versions)."""
        return {k: v for k, v in (("job_id", self.job_id), ("version_id", self.version_id)) if v is not None}

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.ids().items())


@dataclass(frozen=True)
class JobV2:
    """A new-version (v2) training job: a UUID, no versions; tasks ``worker-0``, ``worker-1``, …"""

    job_id: str
    job_name: str
    state: PhaseState
    description: str = ""
    tasks: tuple[str, ...] = ()
    train_url: str | None = None
    error_info: str | None = None
    duration_ms: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    #: v2 jobs have no versions; kept so code that reports a job can treat both alike
    version_id = None

    @property
    def version_name(self) -> str:
        return ""

    @property
    def job_desc(self) -> str:
        return self.description

    @property
    def ref(self) -> JobRef:
        return JobRef("v2", self.job_id)

    @property
    def label(self) -> str:
        return f"ModelArts job {self.job_name} (job_id={self.job_id})"

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> JobV2:
        metadata = body.get("metadata") or {}
        status = body.get("status") or {}
        outputs = (body.get("algorithm") or {}).get("outputs") or []
        train_url = next((((o.get("remote") or {}).get("obs") or {}).get("obs_url") for o in outputs), None)
        messages = [t.get("message") for t in status.get("task_statuses") or [] if t.get("message")]
        return cls(
            job_id=str(metadata.get("id") or ""),
            job_name=str(metadata.get("name") or ""),
            state=PhaseState(str(status.get("phase") or "Creating")),
            description=str(metadata.get("description") or ""),
            tasks=tuple(status.get("tasks") or ()),
            train_url=train_url,
            error_info="; ".join(dict.fromkeys(messages)) or None,
            duration_ms=_int_or_none(status.get("duration")),
            raw=body,
        )


@dataclass(frozen=True)
class JobVersion:
    """A training job version as ``GET …/versions/{version_id}`` or create returns it."""

    job_id: int
    version_id: int
    job_name: str
    version_name: str
    state: JobState
    job_desc: str = ""
    duration_ms: int | None = None
    train_url: str | None = None
    log_url: str | None = None
    worker_server_num: int | None = None
    resource_id: str | None = None
    error_info: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ref(self) -> JobRef:
        return JobRef("v1", self.job_id, self.version_id)

    @property
    def label(self) -> str:
        return (f"ModelArts job {self.job_name} {self.version_name} (job_id={self.job_id}, "
                f"version_id={self.version_id})")

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> JobVersion:
        return cls(
            job_id=parse_id(body.get("job_id"), field_name="job_id"),
            version_id=parse_id(body.get("version_id"), field_name="version_id"),
            job_name=str(body.get("job_name") or ""),
            version_name=str(body.get("version_name") or ""),
            state=JobState(int(body.get("status", 0))),
            job_desc=str(body.get("job_desc") or ""),
            duration_ms=_int_or_none(body.get("duration")),
            train_url=body.get("train_url"),
            log_url=body.get("log_url"),
            worker_server_num=_int_or_none(body.get("worker_server_num")),
            resource_id=body.get("resource_id"),
            error_info=_error_info(body),
            raw=body,
        )


def _error_info(body: dict[str, Any]) -> str | None:
    err = body.get("error_result") or body.get("error_info")
    if not err:
        return None
    return err if isinstance(err, str) else str(err)


@dataclass(frozen=True)
class JobSummary:
    """One row of ``GET /training-jobs``: a job with its latest version."""

    job_id: int
    job_name: str
    version_id: int
    state: JobState
    job_desc: str = ""
    version_count: int = 1

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> JobSummary:
        return cls(
            job_id=parse_id(body.get("job_id"), field_name="job_id"),
            job_name=str(body.get("job_name") or ""),
            version_id=parse_id(body.get("version_id"), field_name="version_id"),
            state=JobState(int(body.get("status", 0))),
            job_desc=str(body.get("job_desc") or ""),
            version_count=int(body.get("version_count") or 1),
        )


@dataclass(frozen=True)
class LogChunk:
    """A page of ``aom-log`` lines with its cursors (strings of ~19 digits)."""

    start_line: str
    end_line: str
    lines: int
    content: str

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> LogChunk:
        return cls(
            start_line=str(body.get("start_line") or ""),
            end_line=str(body.get("end_line") or ""),
            lines=int(body.get("lines") or 0),
            content=str(body.get("content") or ""),
        )

    def oldest_first(self) -> LogChunk:
        """The same lines from oldest to newest, for a page read newest-first (v2 ``order=desc``)."""
        return LogChunk(self.end_line, self.start_line, self.lines, "\n".join(reversed(self.content.split("\n")))
                        if self.content else "")

    def text_lines(self) -> list[str]:
        if not self.content:
            return []
        return self.content.split("\n")[: self.lines] if self.lines else []


@dataclass(frozen=True)
class ByteLogChunk:
    """A slice of the byte-offset ``log`` API."""

    log: str
    end_byte: int
    count: int

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> ByteLogChunk:
        return cls(
            log=str(body.get("log") or ""),
            end_byte=int(body.get("end_byte") or 0),
            count=int(body.get("log_byte_count", body.get("count")) or 0),
        )


@dataclass
class LogCursor:
    """Where tailing stopped in each worker's log file: serialisable for triggers and reschedules."""

    positions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, str]:
        return dict(self.positions)

    @classmethod
    def from_json(cls, data: dict[str, str] | None) -> LogCursor:
        return cls(dict(data or {}))


def obs_url(path: str | None) -> str | None:
    """``/bucket/dir/`` (how the APIs spell OBS paths) → ``obs://bucket/dir/``; other forms unchanged."""
    if not path:
        return None
    return "obs://" + path[1:] if path.startswith("/") else path


@dataclass(frozen=True)
class TrainingResult:
    """What the operator and the sensor return (XCom ``return_value``): the same keys and types on v1 and v2.

    ``status_code`` and ``status_name`` are strings on both APIs (v1: ``"10"`` / ``JOBSTAT_COMPLETED``; v2: the
    phase twice, ``Completed``); ``outcome`` is ``success`` | ``failed`` | ``stopped`` | ``running``.
    ``version_id`` and ``version_name`` exist on v1 only. ``train_url`` is the output directory as
    ``obs://bucket/dir/``; ``duration_seconds`` is the run time ModelArts reports (None before it starts).
    """

    api_version: str
    job_id: int | str
    job_name: str
    status_code: str
    status_name: str
    outcome: str
    train_url: str | None
    console_url: str
    duration_seconds: float | None = None
    version_id: int | None = None
    version_name: str | None = None

    @classmethod
    def of(cls, job: JobVersion | JobV2, *, console_url: str, output_path: str | None = None) -> TrainingResult:
        return cls(
            api_version=job.ref.api_version, job_id=job.job_id, job_name=job.job_name,
            status_code=str(job.state.code), status_name=job.state.name, outcome=job.state.outcome.value,
            train_url=obs_url(job.train_url or output_path), console_url=console_url,
            duration_seconds=job.duration_ms / 1000 if job.duration_ms is not None else None,
            version_id=job.version_id, version_name=job.version_name or None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The XCom value: v2 results carry no version keys."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if self.api_version == "v2":
            del out["version_id"], out["version_name"]
        return out
