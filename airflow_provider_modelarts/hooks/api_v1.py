"""The v1 training-job API (``shared/modelarts-api.md`` §2.1 rows 1–12, 14–16) as transport-free calls.

Each function returns an :class:`Operation`: the request to send and how to read the answer. The sync
and async hook methods are thin pairs over these, so each endpoint is described exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from airflow_provider_modelarts.catalogue import AiEngine, BuiltInAlgorithm, ResourceSpec
from airflow_provider_modelarts.hooks.http import ApiRequest
from airflow_provider_modelarts.models import ByteLogChunk, JobSummary, JobVersion, LogChunk, parse_id

T = TypeVar("T")
JOBS = "/v1/{project_id}/training-jobs"


@dataclass(frozen=True)
class Operation(Generic[T]):
    request: ApiRequest
    parse: Callable[[dict[str, Any]], T]


def _version_path(job_id: int | str, version_id: int | str) -> str:
    return f"{JOBS}/{parse_id(job_id, field_name='job_id')}/versions/{parse_id(version_id, field_name='version_id')}"


def _identity(body: dict[str, Any]) -> dict[str, Any]:
    return body


def _created(body: dict[str, Any]) -> JobVersion:
    return JobVersion.from_api({**body, "status": body.get("status", 1)})


def create_job(body: dict[str, Any]) -> Operation[JobVersion]:
    """Row 1. Not idempotent: never retried blindly (look the name up again instead)."""
    return Operation(ApiRequest("POST", JOBS, body=body, idempotent=False, operation="create training job"), _created)


def create_version(job_id: int | str, body: dict[str, Any]) -> Operation[JobVersion]:
    """Row 2; ``body["config"]["pre_version_id"]`` is required by the service."""
    path = f"{JOBS}/{parse_id(job_id, field_name='job_id')}/versions"
    return Operation(ApiRequest("POST", path, body=body, idempotent=False, operation="create job version"), _created)


def list_jobs(*, search_content: str | None = None, status: int | None = None, per_page: int = 10, page: int = 1,
              sort_by: str = "job_name", order: str = "asc") -> Operation[tuple[int, list[JobSummary]]]:
    """Row 3. Returns (job_total_count, jobs on this page)."""
    query = [("per_page", per_page), ("page", page), ("sortBy", sort_by), ("order", order)]
    if search_content:
        query.append(("search_content", search_content))
    if status is not None:
        query.append(("status", status))
    return Operation(
        ApiRequest("GET", JOBS, query=query, operation="list training jobs"),
        lambda b: (int(b.get("job_total_count") or 0), [JobSummary.from_api(j) for j in b.get("jobs") or []]),
    )


def get_version(job_id: int | str, version_id: int | str) -> Operation[JobVersion]:
    """Row 4: the status poll."""
    return Operation(ApiRequest("GET", _version_path(job_id, version_id), operation="get job version"),
                     JobVersion.from_api)


def list_versions(job_id: int | str, *, per_page: int = 10, page: int = 0) -> Operation[list[JobVersion]]:
    """Row 5 (page 0 = no paging). Versions come newest first."""
    path = f"{JOBS}/{parse_id(job_id, field_name='job_id')}/versions"

    def parse(body: dict[str, Any]) -> list[JobVersion]:
        job = {"job_id": body.get("job_id"), "job_name": body.get("job_name")}
        return [JobVersion.from_api({**job, **v}) for v in body.get("versions") or []]

    return Operation(ApiRequest("GET", path, query=[("per_page", per_page), ("page", page)],
                                operation="list job versions"), parse)


def stop_version(job_id: int | str, version_id: int | str) -> Operation[dict[str, Any]]:
    """Row 6. Stopping twice is harmless, so it is retried like a read."""
    return Operation(ApiRequest("POST", _version_path(job_id, version_id) + "/stop", operation="stop job version"),
                     _identity)


def delete_job(job_id: int | str) -> Operation[dict[str, Any]]:
    """Row 7."""
    return Operation(ApiRequest("DELETE", f"{JOBS}/{parse_id(job_id, field_name='job_id')}",
                                operation="delete training job"), _identity)


def delete_version(job_id: int | str, version_id: int | str) -> Operation[dict[str, Any]]:
    """Row 8."""
    return Operation(ApiRequest("DELETE", _version_path(job_id, version_id), operation="delete job version"),
                     _identity)


def update_description(job_id: int | str, job_desc: str) -> Operation[dict[str, Any]]:
    """Row 9."""
    return Operation(ApiRequest("PUT", f"{JOBS}/{parse_id(job_id, field_name='job_id')}", body={"job_desc": job_desc},
                                operation="update job description"), _identity)


def log_file_names(job_id: int | str, version_id: int | str) -> Operation[list[str]]:
    """Row 10: one file per worker, ``job-<name>.<index>``."""
    return Operation(
        ApiRequest("GET", _version_path(job_id, version_id) + "/log/file-names", operation="list log files"),
        lambda b: [str(name) for name in b.get("log_file_list") or []],
    )


def aom_log(job_id: int | str, version_id: int | str, *, log_file: str, lines: int = 500, order: str = "desc",
            base_line: str = "") -> Operation[LogChunk]:
    """Row 11: line-based log. ``order=desc`` with a ``base_line`` reads the lines after it."""
    query = [("log_file", log_file), ("lines", lines), ("order", order), ("base_line", base_line)]
    return Operation(ApiRequest("GET", _version_path(job_id, version_id) + "/aom-log", query=query,
                                operation="read job log"), LogChunk.from_api)


def byte_log(job_id: int | str, version_id: int | str, *, log_file: str, start_byte: int = 0,
             offset: int = 2048) -> Operation[ByteLogChunk]:
    """Row 12: byte-offset log (query parameters, [inference] §2.10)."""
    query = [("log_file", log_file), ("start_byte", start_byte), ("offset", offset)]
    return Operation(ApiRequest("GET", _version_path(job_id, version_id) + "/log", query=query,
                                operation="read job log bytes"), ByteLogChunk.from_api)


def resource_specs() -> Operation[list[ResourceSpec]]:
    """Row 14."""
    return Operation(ApiRequest("GET", "/v1/{project_id}/job/resource-specs", query=[("job_type", "train")],
                                operation="list resource specs"),
                     lambda b: [ResourceSpec.from_api(s) for s in b.get("specs") or []])


def ai_engines() -> Operation[list[AiEngine]]:
    """Row 15."""
    return Operation(ApiRequest("GET", "/v1/{project_id}/job/ai-engines", query=[("job_type", "train")],
                                operation="list AI engines"),
                     lambda b: [AiEngine.from_api(e) for e in b.get("engines") or []])


def built_in_algorithms(*, per_page: int = 100, page: int = 1) -> Operation[tuple[int, list[BuiltInAlgorithm]]]:
    """Row 16: (model_total_count, this page); ``per_page`` is documented within [1, 100]."""
    return Operation(ApiRequest("GET", "/v1/{project_id}/built-in-algorithms",
                                query=[("per_page", per_page), ("page", page)], operation="list built-in algorithms"),
                     lambda b: (int(b.get("model_total_count") or 0),
                                [BuiltInAlgorithm.from_api(m) for m in b.get("models") or []]))
