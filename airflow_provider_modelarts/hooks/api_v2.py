"""The new-version training API (``shared/modelarts-api.md`` §3) as transport-free calls, like api_v1."""

from __future__ import annotations

from typing import Any

from airflow_provider_modelarts.catalogue import Algorithm, Engine, Flavor
from airflow_provider_modelarts.hooks.api_v1 import Operation
from airflow_provider_modelarts.hooks.http import ApiRequest
from airflow_provider_modelarts.models import JobV2, LogChunk

JOBS = "/v2/{project_id}/training-jobs"


def _job_path(job_id: str) -> str:
    if not isinstance(job_id, str) or not job_id or "/" in job_id:
        raise ValueError(f"job_id must be a v2 training job id (a UUID string), got {job_id!r}")
    return f"{JOBS}/{job_id}"


def create_job(body: dict[str, Any]) -> Operation[JobV2]:
    """Not idempotent: never retried blindly (look the name up again instead)."""
    return Operation(ApiRequest("POST", JOBS, body=body, idempotent=False, operation="create training job (v2)"),
                     JobV2.from_api)


def get_job(job_id: str) -> Operation[JobV2]:
    return Operation(ApiRequest("GET", _job_path(job_id), operation="get training job (v2)"), JobV2.from_api)


def search_jobs(*, name: str | None = None, limit: int = 50, offset: int = 0) -> Operation[tuple[int, list[JobV2]]]:
    """``POST training-job-searches``: a read, so retried like one. ``offset`` is a page index (0 = first page);
    returns (count of matching jobs, this page)."""
    body: dict[str, Any] = {"offset": offset, "limit": limit, "sort_by": "create_time", "order": "desc"}
    if name:
        body["filters"] = [{"key": "name", "operator": "like", "value": [name]}]
    return Operation(ApiRequest("POST", "/v2/{project_id}/training-job-searches", body=body,
                                operation="search training jobs (v2)"),
                     lambda b: (int(b.get("count") or 0), [JobV2.from_api(item) for item in b.get("items") or []]))


def terminate_job(job_id: str) -> Operation[JobV2]:
    """Stopping twice is harmless, so it is retried like a read."""
    return Operation(ApiRequest("POST", _job_path(job_id) + "/actions", body={"action_type": "terminate"},
                                operation="terminate training job (v2)"), JobV2.from_api)


def delete_job(job_id: str) -> Operation[dict[str, Any]]:
    return Operation(ApiRequest("DELETE", _job_path(job_id), operation="delete training job (v2)"), lambda b: b)


def aom_log(job_id: str, task_id: str, *, lines: int = 500, order: str = "asc",
            base_line: str = "") -> Operation[LogChunk]:
    """Line log of one task; in v2 ``order=asc`` reads old → new, i.e. the lines after ``base_line``."""
    # unset parameters are left out, as the SDK does (an empty base_line means "from the newest")
    query = [("base_line", base_line)] if base_line else []
    query += [("lines", lines), ("order", order)]
    return Operation(ApiRequest("GET", _job_path(job_id) + f"/logs/{task_id}", query=query,
                                operation="read job log (v2)"), LogChunk.from_api)


def log_preview(job_id: str, task_id: str) -> Operation[dict[str, Any]]:
    return Operation(ApiRequest("GET", _job_path(job_id) + f"/tasks/{task_id}/logs/preview",
                                operation="preview job log (v2)"), lambda b: b)


def engines() -> Operation[list[Engine]]:
    return Operation(ApiRequest("GET", "/v2/{project_id}/training-job-engines", operation="list engines (v2)"),
                     lambda b: [Engine.from_api(e) for e in b.get("items") or []])


def flavors() -> Operation[list[Flavor]]:
    return Operation(ApiRequest("GET", "/v2/{project_id}/training-job-flavors", operation="list flavors (v2)"),
                     lambda b: [Flavor.from_api(f) for f in b.get("flavors") or []])


def algorithms(*, offset: int = 0, limit: int = 50) -> Operation[tuple[int, list[Algorithm]]]:
    """``GET /v2/{project_id}/algorithms``: (count of matching algorithms, this page). ``offset`` counts items
    ("1 starts from the second one"), ``limit`` is 1–50 (ListAlgorithmsRequest)."""
    return Operation(ApiRequest("GET", "/v2/{project_id}/algorithms", query=[("offset", offset), ("limit", limit)],
                                operation="list algorithms (v2)"),
                     lambda b: (int(b.get("count", b.get("total")) or 0),
                                [Algorithm.from_api(a) for a in b.get("items") or []]))
