"""The emulator's shared state (store, runner, OBS, gatekeeper, faults, counters) and the helpers its routes use."""

from __future__ import annotations

import json
import secrets
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_provider_modelarts.emulator.auth import Account, Gatekeeper, Principal
from airflow_provider_modelarts.emulator.documented import query_problem
from airflow_provider_modelarts.emulator.errors import (
    DATASET_NOT_FOUND,
    INVALID_ARGUMENT,
    NOT_FOUND,
    EmulatorError,
)
from airflow_provider_modelarts.emulator.faults import FaultInjector
from airflow_provider_modelarts.emulator.runner import JobRunner, LocalObs
from airflow_provider_modelarts.emulator.store import Store, now_ms


@dataclass
class EmulatorSettings:
    root: Path
    account: Account
    max_running: int = 64
    step_delay: float = 0.1
    kill_grace: float = 5.0
    faults: str | None = None
    seed: int | None = None
    metadata_agency: bool = True
    metadata_token_api: bool = True  # False: PUT …/api/token answers 404 and securitykey needs no token
    record_responses: bool = False  # keep answer bodies in the request log (conformance tests)
    metadata_service: bool = True  # False: the instance metadata endpoints answer 404 (no env-auth credentials)
    virtual_jobs: bool = False  # every job runs without a process: its timeline and synthetic log lines


class Emulator:
    """Everything the routes share."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        root = settings.root
        root.mkdir(parents=True, exist_ok=True)
        self.store = Store(root / "state.sqlite")
        self.lost_on_start = self.store.mark_lost()
        self.obs = LocalObs(root / "obs")
        self.gate = Gatekeeper(self.store, settings.account)
        self.faults = FaultInjector(settings.faults, settings.seed)
        self.runner: JobRunner | None = None
        self.requests: Counter[str] = Counter()
        self.response_bytes: Counter[str] = Counter()
        self.auth_outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.metadata_tokens: set[str] = set()
        #: every API request received (endpoint, method, path, query, body), newest last, for conformance checks
        self.requests_log: deque[dict[str, Any]] = deque(maxlen=20_000)

    def record(self, endpoint: str, method: str, path: str, query: list[tuple[str, str]],
               chunks: list[bytes]) -> dict[str, Any]:
        """Log a request; its body (``chunks``) is filled in as the app reads it, the answer's status and (with
        ``record_responses``) body as it is sent; both are decoded when listed."""
        entry = {"endpoint": endpoint, "method": method, "path": path, "query": query, "chunks": chunks,
                 "status": None, "response_chunks": []}
        self.requests_log.append(entry)
        return entry

    def recorded(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in entry.items() if not k.endswith("chunks")}
                | {"body": _decoded(entry["chunks"]), "response": _decoded(entry["response_chunks"])}
                for entry in list(self.requests_log)]

    @property
    def account(self) -> Account:
        return self.settings.account

    def start_runner(self) -> None:
        root = self.settings.root
        self.runner = JobRunner(self.store, self.obs, root / "logs", root / "work", max_running=self.settings.max_running,
                                step_delay=self.settings.step_delay, kill_grace=self.settings.kill_grace,
                                virtual=self.settings.virtual_jobs)

    async def authenticate(self, request: Request, project_id: str | None) -> Principal:
        """Check the request's signature or token (recording the outcome for the stats)."""
        try:
            principal = self.gate.authenticate(method=request.method, raw_path=request.scope.get("raw_path")
                                               or request.url.path.encode(),
                                               raw_query=request.scope.get("query_string", b""),
                                               headers=dict(request.headers), body=await request.body(),
                                               url_project=project_id)
        except EmulatorError as err:
            request.state.auth = f"denied:{err.code}"
            raise
        request.state.auth = principal.method
        self.check_query(request)
        return principal

    @staticmethod
    def check_query(request: Request) -> None:
        """After authentication, as the gateway does: the query against the documented table (documented.py);
        v2 answers 400 ModelArts.2764 QueryParamsError (error-code appendix), IAM and v1 their invalid-argument
        codes."""
        endpoint = request.scope.get("state", {}).get("endpoint", "")
        problem = query_problem(endpoint, list(request.query_params.multi_items()))
        if problem is not None:
            code, style = ((400, "ModelArts.2764"), "v2") if endpoint.startswith("v2_") else \
                ((400, "IAM.0003"), "iam") if endpoint.startswith("iam_") else (INVALID_ARGUMENT, "v1")
            raise EmulatorError(code, f"Invalid query parameter ({problem}).", style=style)

    def job_or_404(self, job_id: int) -> dict[str, Any]:
        job = self.store.job(job_id)
        if job is None:
            raise EmulatorError(NOT_FOUND, f"Training job {job_id} does not exist.")
        return job

    def version_or_404(self, job_id: int, version_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        job = self.job_or_404(job_id)
        version = self.store.version(job_id, version_id)
        if version is None:
            raise EmulatorError(NOT_FOUND, f"Version {version_id} of training job {job_id} does not exist.")
        return job, version

    def check_dataset(self, dataset_id: Any, version_id: Any) -> None:
        row = self.store.one("SELECT 1 FROM datasets WHERE dataset_id=? AND version_id=?",
                             (str(dataset_id), str(version_id)))
        if row is None:
            raise EmulatorError(DATASET_NOT_FOUND, f"Failed to get the URL of dataset {dataset_id} version "
                                                   f"{version_id}: the dataset does not exist.")

    def start_version(self, job: dict[str, Any], desc: str, config: dict[str, Any], pre: int | None) -> dict[str, Any]:
        resource_id = "job" + secrets.token_hex(4)
        version = self.store.create_version(job["job_id"], config, desc, resource_id, pre)
        assert self.runner is not None
        self.runner.start(job, version)
        return version

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "auth": {k: dict(v) for k, v in self.auth_outcomes.items()},
                "response_bytes": dict(self.response_bytes), "faults_fired": self.faults.fired}


# --------------------------------------------------------------------------- helpers
def _decoded(chunks: list[bytes]) -> Any:
    raw = b"".join(chunks)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def require(condition: bool, message: str, code: tuple[int, str] = INVALID_ARGUMENT) -> None:
    if not condition:
        raise EmulatorError(code, message)


def int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise EmulatorError(INVALID_ARGUMENT, f"Invalid parameter {name}: {value!r} is not an integer.") from None
    require(low <= number <= high, f"Invalid parameter {name}: must be within [{low}, {high}].")
    return number


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise EmulatorError(INVALID_ARGUMENT, "The request body is not valid JSON.") from None
    require(isinstance(body, dict), "The request body must be a JSON object.")
    return body


def paging(q: Any, *, max_per_page: int = 1000) -> tuple[int, int]:
    """``per_page`` 1–1000 (default 10; built-in algorithms: 1–100) and ``page`` 1–65535 (default 1), as the v1
    list APIs document."""
    return (int_param(q.get("per_page"), "per_page", 10, 1, max_per_page),
            int_param(q.get("page"), "page", 1, 1, 65535))


def ok(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"is_success": True, **payload}, status_code=status, headers=headers)


def duration(version: dict[str, Any]) -> int:
    if not version.get("start_time"):
        return 0
    return int((version.get("end_time") or now_ms()) - version["start_time"])
