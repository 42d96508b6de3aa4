"""The emulator's HTTP surface: IAM, metadata service, ModelArts v1 training API, admin, console."""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Match

from airflow_provider_modelarts.emulator import catalog
from airflow_provider_modelarts.emulator.auth import Account, Gatekeeper, Principal, iso
from airflow_provider_modelarts.emulator.errors import (
    BUCKET_ROOT,
    DATASET_NOT_FOUND,
    DUPLICATE_NAME,
    INJECTED,
    INJECTED_MESSAGES,
    INVALID_ARGUMENT,
    NOT_FOUND,
    NOT_RUNNING,
    EmulatorError,
    error_body,
    new_request_id,
)
from airflow_provider_modelarts.emulator.faults import FaultInjector
from airflow_provider_modelarts.emulator.runner import JobRunner, LocalObs, ObsPathError
from airflow_provider_modelarts.emulator.store import RUNNING_STATES, Store, now_ms
from airflow_provider_modelarts.emulator.v2 import add_v2_routes
from airflow_provider_modelarts.models import JobState

JOB_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SORT_KEYS = ("job_name", "job_desc", "status", "duration", "version_count", "create_time")
METADATA_PREFIX = "/metadata"


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

    @property
    def account(self) -> Account:
        return self.settings.account

    def start_runner(self) -> None:
        root = self.settings.root
        self.runner = JobRunner(self.store, self.obs, root / "logs", root / "work", max_running=self.settings.max_running,
                                step_delay=self.settings.step_delay, kill_grace=self.settings.kill_grace)

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "auth": {k: dict(v) for k, v in self.auth_outcomes.items()},
                "response_bytes": dict(self.response_bytes), "faults_fired": self.faults.fired}


# --------------------------------------------------------------------------- helpers
def _require(condition: bool, message: str, code: tuple[int, str] = INVALID_ARGUMENT) -> None:
    if not condition:
        raise EmulatorError(code, message)


def _int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise EmulatorError(INVALID_ARGUMENT, f"Invalid parameter {name}: {value!r} is not an integer.") from None
    _require(low <= number <= high, f"Invalid parameter {name}: must be within [{low}, {high}].")
    return number


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise EmulatorError(INVALID_ARGUMENT, "The request body is not valid JSON.") from None
    _require(isinstance(body, dict), "The request body must be a JSON object.")
    return body


def _paging(q: Any) -> tuple[int, int]:
    """``per_page`` 1–1000 (default 10) and ``page`` 1–65535 (default 1), as the v1 list APIs document."""
    return (_int_param(q.get("per_page"), "per_page", 10, 1, 1000),
            _int_param(q.get("page"), "page", 1, 1, 65535))


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def _ok(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"is_success": True, **payload}, status_code=status, headers=headers)


def _duration(version: dict[str, Any]) -> int:
    if not version.get("start_time"):
        return 0
    return int((version.get("end_time") or now_ms()) - version["start_time"])


def create_app(emu: Emulator) -> FastAPI:  # noqa: C901 - one place for all the routes
    app = FastAPI(title="ModelArts emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.on_event("startup")
    async def _startup() -> None:
        emu.start_runner()

    @app.on_event("shutdown")
    async def _shutdown() -> None:
        if emu.runner:
            await emu.runner.shutdown()

    @app.exception_handler(EmulatorError)
    async def _emulator_error(request: Request, err: EmulatorError) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id") or new_request_id()
        return JSONResponse(err.body(request_id), status_code=err.status, headers=err.headers)

    @app.exception_handler(404)
    async def _not_found(request: Request, err: Exception) -> JSONResponse:
        if isinstance(err, EmulatorError):
            return await _emulator_error(request, err)
        request_id = request.scope.get("state", {}).get("request_id") or new_request_id()
        return JSONResponse(error_body(404, "APIG.0101", "The API does not exist or has not been published in the "
                                       "environment", "gateway", request_id), status_code=404)

    async def authenticate(request: Request, project_id: str | None) -> Principal:
        try:
            principal = emu.gate.authenticate(method=request.method, raw_path=request.scope.get("raw_path")
                                              or request.url.path.encode(), raw_query=request.scope.get("query_string", b""),
                                              headers=dict(request.headers), body=await request.body(),
                                              url_project=project_id)
        except EmulatorError as err:
            request.state.auth = f"denied:{err.code}"
            raise
        request.state.auth = principal.method
        return principal

    # ------------------------------------------------------------------ IAM
    @app.post("/v3/auth/tokens", name="iam_token")
    async def iam_token(request: Request) -> Response:
        body = await _json_body(request)
        try:
            identity = body["auth"]["identity"]
            user = identity["password"]["user"]
            name, password, domain = user["name"], user["password"], (user.get("domain") or {}).get("name")
        except (KeyError, TypeError):
            raise EmulatorError((400, "IAM.0003"), "The request body is invalid: auth.identity.password.user "
                                                   "{name, password, domain} is required.", style="iam") from None
        acct = emu.account
        if (name, password, domain) != (acct.user, acct.password, acct.domain):
            request.state.auth = "denied:password"
            raise EmulatorError((401, "IAM.0001"), "The username or password is wrong.", style="iam")
        scope = body["auth"].get("scope") or {}
        project = scope.get("project")
        project_info = None
        if project:
            if project.get("id") not in (None, acct.project_id) or project.get("name") not in (None, acct.region):
                raise EmulatorError((400, "IAM.0004"), "The project in the scope does not exist.", style="iam")
            project_info = {"id": acct.project_id, "name": acct.region,
                            "domain": {"id": acct.domain_id, "name": acct.domain}}
        token, expires = emu.gate.issue_token(project_id=project_info["id"] if project_info else None)
        request.state.auth = "password"
        now = time.time()
        payload: dict[str, Any] = {
            "token": {"expires_at": iso(expires), "issued_at": iso(now), "methods": ["password"],
                      "user": {"id": secrets.token_hex(16), "name": acct.user,
                               "domain": {"id": acct.domain_id, "name": acct.domain}},
                      "roles": [{"id": "0", "name": "op_service"}],
                      "catalog": [] if request.query_params.get("nocatalog") == "true" else [
                          {"type": "modelarts", "name": "modelarts", "endpoints": []}]}}
        if project_info:
            payload["token"]["project"] = project_info
        else:
            payload["token"]["domain"] = {"id": acct.domain_id, "name": acct.domain}
        return JSONResponse(payload, status_code=201, headers={"X-Subject-Token": token})

    @app.get("/v3/projects", name="iam_projects")
    async def iam_projects(request: Request) -> Response:
        await authenticate(request, None)
        acct = emu.account
        name = request.query_params.get("name")
        projects = [{"id": acct.project_id, "name": acct.region, "domain_id": acct.domain_id,
                     "parent_id": acct.domain_id, "enabled": True, "is_domain": False, "description": "",
                     "links": {"self": f"/v3/projects/{acct.project_id}"}}]
        if name is not None:
            projects = [p for p in projects if p["name"] == name]
        return JSONResponse({"projects": projects, "links": {"self": "/v3/projects"}})

    @app.post("/v3.0/OS-CREDENTIAL/securitytokens", name="iam_securitytokens")
    async def iam_security_tokens(request: Request) -> Response:
        token = request.headers.get("x-auth-token")
        if not token:
            raise EmulatorError((401, "IAM.0001"), "The request you have made requires authentication.", style="iam")
        emu.gate.token_principal(token)
        body = await _json_body(request)
        duration = ((body.get("auth") or {}).get("identity") or {}).get("token", {}).get("duration_seconds", 900)
        if not isinstance(duration, int) or not 900 <= duration <= 86400:
            raise EmulatorError((400, "IAM.0003"), "duration_seconds must be an integer in [900, 86400].", style="iam")
        request.state.auth = "token"
        credential = emu.gate.issue_temp_key(min(duration, emu.account.temp_key_lifetime))
        return JSONResponse({"credential": credential}, status_code=201)

    # ------------------------------------------------------------------ instance metadata (§4.5)
    @app.put(METADATA_PREFIX + "/meta-data/latest/api/token", name="metadata_token")
    async def metadata_token(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        emu.metadata_tokens.add(token)
        return PlainTextResponse(token)

    @app.get(METADATA_PREFIX + "/openstack/latest/securitykey", name="metadata_securitykey")
    async def metadata_securitykey(request: Request) -> Response:
        if request.headers.get("x-metadata-token") not in emu.metadata_tokens:
            raise EmulatorError((401, "Metadata.0001"), "The metadata token is missing or invalid.", style="gateway")
        if not emu.settings.metadata_agency:
            raise EmulatorError((401, "Metadata.0002"), "Please configure Cloud Service Agency first.",
                                style="gateway")
        return JSONResponse({"credential": emu.gate.issue_temp_key()})

    # ------------------------------------------------------------------ v1 training jobs
    def job_or_404(job_id: int) -> dict[str, Any]:
        job = emu.store.job(job_id)
        if job is None:
            raise EmulatorError(NOT_FOUND, f"Training job {job_id} does not exist.")
        return job

    def version_or_404(job_id: int, version_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        job = job_or_404(job_id)
        version = emu.store.version(job_id, version_id)
        if version is None:
            raise EmulatorError(NOT_FOUND, f"Version {version_id} of training job {job_id} does not exist.")
        return job, version

    def obs_path(value: Any, field: str, *, must_exist: bool = False, bucket_root_ok: bool = True) -> str:
        _require(isinstance(value, str) and value, f"config.{field} is required.")
        try:
            local = emu.obs.local(value, field_name=field, allow_bucket_root=bucket_root_ok)
        except ObsPathError as err:
            raise EmulatorError(BUCKET_ROOT if err.code == "ModelArts.2606" else (400, err.code), str(err)) from None
        if must_exist and not local.exists():
            raise EmulatorError(INVALID_ARGUMENT, f"Invalid OBS path '{value}'.")
        return value

    def validate_config(config: Any) -> dict[str, Any]:
        _require(isinstance(config, dict), "config is required and must be an object.")
        cfg = dict(config)
        workers = cfg.get("worker_server_num", 1)
        _require(isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1,
                 "config.worker_server_num must be an integer >= 1.")
        spec = None
        if cfg.get("spec_id") is not None:
            spec = catalog.spec_by_id(int(cfg["spec_id"])) if str(cfg["spec_id"]).isdigit() else None
            _require(spec is not None, f"Invalid spec_id {cfg['spec_id']!r}.")
        elif isinstance(cfg.get("flavor"), dict) and cfg["flavor"].get("code"):
            spec = catalog.spec_by_code(str(cfg["flavor"]["code"]))
            _require(spec is not None, f"Invalid flavor code {cfg['flavor']['code']!r}.")
        elif not cfg.get("pool_id"):
            raise EmulatorError(INVALID_ARGUMENT, "config.spec_id (or flavor.code, or pool_id) is required.")
        if spec is not None:
            _require(workers <= spec["max_num"], f"config.worker_server_num {workers} exceeds max_num "
                                                 f"{spec['max_num']} of spec {spec['spec_code']}.")
            cfg["spec_id"], cfg["spec_code"] = spec["spec_id"], spec["spec_code"]
        sources = [bool(cfg.get("data_url")), bool(cfg.get("dataset_id") or cfg.get("dataset_version_id")),
                   bool(cfg.get("data_source"))]
        _require(sum(sources) == 1, "Exactly one of config.data_url, config.dataset_id + "
                                    "config.dataset_version_id, config.data_source is required.")
        if cfg.get("data_url"):
            obs_path(cfg["data_url"], "data_url", must_exist=True, bucket_root_ok=False)
        if sources[1]:
            _require(bool(cfg.get("dataset_id")) and bool(cfg.get("dataset_version_id")),
                     "config.dataset_id and config.dataset_version_id go together.")
            check_dataset(cfg["dataset_id"], cfg["dataset_version_id"])
        if cfg.get("data_source"):
            _require(isinstance(cfg["data_source"], list), "config.data_source must be a list.")
            for source in cfg["data_source"]:
                _require(isinstance(source, dict), "config.data_source entries must be objects.")
                if source.get("data_url"):
                    obs_path(source["data_url"], "data_source.data_url", must_exist=True, bucket_root_ok=False)
                elif source.get("dataset_id"):
                    check_dataset(source["dataset_id"], source.get("dataset_version"))
                else:
                    raise EmulatorError(INVALID_ARGUMENT, "config.data_source entries need data_url or dataset_id.")
        obs_path(cfg.get("train_url"), "train_url", bucket_root_ok=False)
        if cfg.get("log_url"):
            obs_path(cfg["log_url"], "log_url")
        params = cfg.get("parameter") or []
        _require(isinstance(params, list) and all(isinstance(p, dict) and isinstance(p.get("label"), str)
                                                  and isinstance(p.get("value"), str) for p in params),
                 "config.parameter must be a list of {label, value} strings.")
        if cfg.get("model_id") is not None:
            _require(catalog.algorithm(int(cfg["model_id"])) is not None if str(cfg["model_id"]).isdigit() else False,
                     f"Built-in algorithm {cfg['model_id']!r} does not exist.")
        elif cfg.get("user_image_url"):
            _require(bool(cfg.get("user_command")), "config.user_command is required with config.user_image_url.")
        else:
            engine_id = cfg.get("engine_id", 1)
            _require(catalog.engine(int(engine_id)) is not None if str(engine_id).isdigit() else False,
                     f"Invalid engine_id {engine_id!r}.")
            cfg["engine_id"] = int(engine_id)
            app_url = obs_path(cfg.get("app_url"), "app_url", must_exist=True)
            boot = obs_path(cfg.get("boot_file_url"), "boot_file_url", must_exist=True)
            _require(boot.startswith(app_url.rstrip("/") + "/"), f"Invalid OBS path '{boot}'.")
        return cfg

    def check_dataset(dataset_id: Any, version_id: Any) -> None:
        row = emu.store.one("SELECT 1 FROM datasets WHERE dataset_id=? AND version_id=?",
                            (str(dataset_id), str(version_id)))
        if row is None:
            raise EmulatorError(DATASET_NOT_FOUND, f"Failed to get the URL of dataset {dataset_id} version "
                                                   f"{version_id}: the dataset does not exist.")

    def start_version(job: dict[str, Any], desc: str, config: dict[str, Any], pre: int | None) -> dict[str, Any]:
        resource_id = "job" + secrets.token_hex(4)
        version = emu.store.create_version(job["job_id"], config, desc, resource_id, pre)
        assert emu.runner is not None
        emu.runner.start(job, version)
        return version

    def created(job: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        return {"job_id": job["job_id"], "job_name": job["job_name"], "status": version["status"],
                "create_time": version["create_time"], "version_id": version["version_id"],
                "version_name": version["version_name"], "resource_id": version["resource_id"]}

    @app.post("/v1/{project_id}/training-jobs", name="create_job")
    async def create_job(project_id: str, request: Request) -> Response:
        await authenticate(request, project_id)
        body = await _json_body(request)
        name = body.get("job_name")
        _require(isinstance(name, str) and bool(JOB_NAME_RE.match(name)),
                 "job_name must be 1-64 characters from letters, digits, '-' and '_'.")
        desc = body.get("job_desc") or ""
        _require(isinstance(desc, str) and len(desc) <= 256, "job_desc must be a string of at most 256 characters.")
        if emu.store.job_by_name(name):
            raise EmulatorError(DUPLICATE_NAME, f"Job name:{name} is existed")
        config = validate_config(body.get("config"))
        job_id = emu.store.create_job(name, desc, str(body.get("workspace_id") or "0"))
        job = emu.store.job(job_id)
        assert job is not None
        if body.get("create_version", True) is False:
            return _ok({"job_id": job_id, "job_name": name, "create_time": job["create_time"]})
        return _ok(created(job, start_version(job, desc, config, None)))

    @app.post("/v1/{project_id}/training-jobs/{job_id}/versions", name="create_version")
    async def create_version(project_id: str, job_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        job = job_or_404(job_id)
        body = await _json_body(request)
        config = body.get("config")
        _require(isinstance(config, dict), "config is required and must be an object.")
        pre = config.get("pre_version_id")
        _require(pre is not None and str(pre).isdigit(), "config.pre_version_id is required.")
        _, previous = version_or_404(job_id, int(pre))
        merged = {k: v for k, v in previous["config"].items() if k not in ("spec_code",)}
        if any(config.get(k) for k in ("data_url", "dataset_id", "data_source")):
            for key in ("data_url", "dataset_id", "dataset_version_id", "data_source"):
                merged.pop(key, None)
        merged.update({k: v for k, v in config.items() if k != "pre_version_id"})
        merged = validate_config(merged)
        desc = body.get("job_desc") if isinstance(body.get("job_desc"), str) else job["job_desc"]
        return _ok(created(job, start_version(job, desc, merged, int(pre))))

    @app.get("/v1/{project_id}/training-jobs", name="list_jobs")
    async def list_jobs(project_id: str, request: Request) -> Response:
        await authenticate(request, project_id)
        q = request.query_params
        per_page, page = _paging(q)
        sort_by = q.get("sortBy") or q.get("sort_by") or "job_name"
        _require(sort_by in SORT_KEYS, f"Invalid parameter sortBy: expected one of {', '.join(SORT_KEYS)}.")
        order = q.get("order") or "asc"
        _require(order in ("asc", "desc"), "Invalid parameter order: expected asc or desc.")
        search = q.get("search_content") or ""
        _require(len(search) <= 64, "Invalid parameter search_content: at most 64 characters.")
        rows = []
        for job in emu.store.all("SELECT * FROM jobs WHERE instr(job_name, ?) > 0", (search,)):
            versions = emu.store.versions(job["job_id"])
            if not versions:
                continue
            latest = versions[0]
            rows.append({"job_id": job["job_id"], "job_name": job["job_name"], "version_id": latest["version_id"],
                         "status": latest["status"], "create_time": job["create_time"], "duration": _duration(latest),
                         "job_desc": job["job_desc"], "version_count": len(versions)})
        if q.get("status"):
            rows = [r for r in rows if str(r["status"]) == q.get("status")]
        rows.sort(key=lambda r: (r[sort_by], r["job_id"]), reverse=order == "desc")
        page_rows = rows[(page - 1) * per_page: page * per_page]
        running = sum(1 for r in rows if r["status"] in RUNNING_STATES)
        return _ok({"quotas": 1000, "job_total_count": len(rows), "job_count_limit": max(0, 1000 - running),
                    "jobs": page_rows})

    def version_detail(job: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        cfg = version["config"]
        eng = catalog.engine(int(cfg["engine_id"])) if cfg.get("engine_id") is not None else None
        spec = catalog.spec_by_id(int(cfg["spec_id"])) if cfg.get("spec_id") is not None else None
        return {
            "job_id": job["job_id"], "job_name": job["job_name"], "job_desc": version["job_desc"],
            "version_id": version["version_id"], "version_name": version["version_name"],
            "pre_version_id": version["pre_version_id"], "status": version["status"],
            "engine_type": eng["engine_type"] if eng else None, "engine_name": eng["engine_name"] if eng else None,
            "engine_id": cfg.get("engine_id"), "engine_version": eng["engine_version"] if eng else None,
            "app_url": cfg.get("app_url"), "boot_file_url": cfg.get("boot_file_url"),
            "create_time": version["create_time"], "start_time": version["start_time"],
            "parameter": cfg.get("parameter") or [], "duration": _duration(version),
            "spec_id": cfg.get("spec_id"), "spec_code": cfg.get("spec_code"), "flavor_code": cfg.get("spec_code"),
            "core": spec["core"] if spec else None, "cpu": spec["cpu"] if spec else None,
            "gpu_num": spec["gpu_num"] if spec else 0, "gpu_type": spec["gpu_type"] if spec else "",
            "max_num": spec["max_num"] if spec else None,
            "worker_server_num": cfg.get("worker_server_num", 1), "data_url": cfg.get("data_url"),
            "train_url": cfg.get("train_url"), "log_url": cfg.get("log_url"),
            "dataset_id": cfg.get("dataset_id"), "dataset_version_id": cfg.get("dataset_version_id"),
            "data_source": cfg.get("data_source") or [], "model_id": cfg.get("model_id"),
            "model_metric_list": "{}", "system_metric_list": {"cpuUsage": [], "memUsage": [], "gpuUtil": [],
                                                              "interval": 1},
            "user_image_url": cfg.get("user_image_url"), "user_command": cfg.get("user_command"),
            "resource_id": version["resource_id"], "pool_id": cfg.get("pool_id"), "pool_type": "SYSTEM_DEFINED",
            "job_type": 1, "error_result": version["error_result"], "status_name": JobState(version["status"]).name,
        }

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}", name="get_version")
    async def get_version(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        job, version = version_or_404(job_id, version_id)
        return _ok(version_detail(job, version))

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions", name="list_versions")
    async def list_versions(project_id: str, job_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        job = job_or_404(job_id)
        per_page = _int_param(request.query_params.get("per_page"), "per_page", 10, 1, 1000)
        page = _int_param(request.query_params.get("page"), "page", 0, 0, 65535)
        versions = emu.store.versions(job_id)
        if page:
            versions = versions[(page - 1) * per_page: page * per_page]
        items = []
        for version in versions:
            detail = version_detail(job, version)
            for key in ("job_id", "job_name"):
                detail.pop(key)
            detail["system_metric_list"] = json.dumps(detail["system_metric_list"])
            items.append(detail)
        return _ok({"job_id": job_id, "job_name": job["job_name"], "job_desc": job["job_desc"],
                    "version_count": len(emu.store.versions(job_id)), "versions": items})

    @app.post("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/stop", name="stop_version")
    async def stop_version(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        _, version = version_or_404(job_id, version_id)
        if version["status"] not in RUNNING_STATES or version["status"] == 9:
            raise EmulatorError(NOT_RUNNING, f"The job version is not running (status "
                                             f"{JobState(version['status']).name}).")
        assert emu.runner is not None
        await emu.runner.stop(version_id)
        return _ok({})

    async def _stop_all(job_id: int, versions: list[dict[str, Any]]) -> None:
        assert emu.runner is not None
        for version in versions:
            if version["version_id"] in emu.runner.executions:
                await emu.runner.stop(version["version_id"])

    @app.delete("/v1/{project_id}/training-jobs/{job_id}", name="delete_job")
    async def delete_job(project_id: str, job_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        job_or_404(job_id)
        await _stop_all(job_id, emu.store.versions(job_id))
        emu.store.execute("DELETE FROM versions WHERE job_id=?", (job_id,))
        emu.store.execute("DELETE FROM jobs WHERE job_id=?", (job_id,))
        return _ok({})

    @app.delete("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}", name="delete_version")
    async def delete_version(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        _, version = version_or_404(job_id, version_id)
        await _stop_all(job_id, [version])
        emu.store.execute("DELETE FROM versions WHERE version_id=?", (version_id,))
        return _ok({})

    @app.put("/v1/{project_id}/training-jobs/{job_id}", name="update_job")
    async def update_job(project_id: str, job_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        job_or_404(job_id)
        body = await _json_body(request)
        desc = body.get("job_desc")
        _require(isinstance(desc, str) and len(desc) <= 256, "job_desc must be a string of at most 256 characters.")
        emu.store.execute("UPDATE jobs SET job_desc=? WHERE job_id=?", (desc, job_id))
        return _ok({})

    def log_file(job_id: int, version_id: int, name: str | None):
        job, version = version_or_404(job_id, version_id)
        assert emu.runner is not None
        files = emu.runner.log_files(job, version)
        _require(bool(name), "Invalid parameter log_file: required.")
        if name not in files:
            raise EmulatorError(NOT_FOUND, f"Log file {name} does not exist.")
        return files[name]

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/log/file-names", name="log_file_names")
    async def log_file_names(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        job, version = version_or_404(job_id, version_id)
        assert emu.runner is not None
        return _ok({"log_file_list": list(emu.runner.log_files(job, version))})

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/aom-log", name="aom_log")
    async def aom_log(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        q = request.query_params
        log = log_file(job_id, version_id, q.get("log_file"))
        lines = _int_param(q.get("lines"), "lines", 50, 0, 500)
        order = q.get("order") or "desc"
        _require(order in ("asc", "desc"), "Invalid parameter order: expected asc or desc.")
        base_line = q.get("base_line") or ""
        _require(base_line == "" or base_line.isdigit(), "Invalid parameter base_line.")
        return _ok(await asyncio.to_thread(log.page, base_line=base_line, lines=lines, order=order))

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/log", name="byte_log")
    async def byte_log(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await authenticate(request, project_id)
        q = request.query_params
        log = log_file(job_id, version_id, q.get("log_file"))
        start = _int_param(q.get("start_byte"), "start_byte", 0, -1, 2**62)
        offset = _int_param(q.get("offset"), "offset", 2048, -2048, 2048)
        data = (await asyncio.to_thread(log.text)).encode()
        begin = len(data) if start == -1 else min(start, len(data))
        chunk = data[begin:begin + offset] if offset >= 0 else data[max(0, begin + offset):begin]
        end = begin + len(chunk) if offset >= 0 else begin
        return _ok({"log": chunk.decode("utf-8", "replace"), "log_byte_count": len(data), "end_byte": end})

    @app.get("/v1/{project_id}/job/resource-specs", name="resource_specs")
    async def resource_specs(project_id: str, request: Request) -> Response:
        await authenticate(request, project_id)
        return _ok({"spec_total_count": len(catalog.RESOURCE_SPECS), "specs": catalog.RESOURCE_SPECS})

    @app.get("/v1/{project_id}/job/ai-engines", name="ai_engines")
    async def ai_engines(project_id: str, request: Request) -> Response:
        await authenticate(request, project_id)
        return _ok({"engines": catalog.AI_ENGINES})

    @app.get("/v1/{project_id}/built-in-algorithms", name="built_in_algorithms")
    async def built_in_algorithms(project_id: str, request: Request) -> Response:
        await authenticate(request, project_id)
        q = request.query_params
        per_page, page = _paging(q)
        search = q.get("search_content") or ""
        models = [catalog.public_algorithm(a) for a in catalog.BUILT_IN_ALGORITHMS if search in a["model_name"]]
        sort_by = q.get("sortBy") or "model_name"
        if sort_by in ("model_name", "model_id", "create_time", "model_size"):
            models.sort(key=lambda m: m[sort_by], reverse=q.get("order") == "desc")
        return _ok({"model_total_count": len(models), "models": models[(page - 1) * per_page: page * per_page]})

    add_v2_routes(app, emu, authenticate, validate_config, start_version)

    # ------------------------------------------------------------------ admin (loopback only)
    def admin_guard(request: Request) -> None:
        if not _is_loopback(request):
            raise EmulatorError((403, "Emulator.0001"), "The emulator's admin API is only reachable from loopback.",
                                style="gateway")

    @app.get("/_emulator/health", name="admin_health")
    async def admin_health(request: Request) -> Response:
        admin_guard(request)
        return JSONResponse({"ok": True, "lost_on_start": emu.lost_on_start})

    @app.get("/_emulator/stats", name="admin_stats")
    async def admin_stats(request: Request) -> Response:
        admin_guard(request)
        return JSONResponse(emu.stats())

    @app.post("/_emulator/stats/reset", name="admin_stats_reset")
    async def admin_stats_reset(request: Request) -> Response:
        admin_guard(request)
        emu.requests.clear()
        emu.auth_outcomes.clear()
        emu.response_bytes.clear()
        return JSONResponse({"ok": True})

    @app.post("/_emulator/faults", name="admin_faults")
    async def admin_faults(request: Request) -> Response:
        admin_guard(request)
        body = await request.json()
        try:
            emu.faults.set(body.get("spec"), body.get("seed"))
        except ValueError as err:
            raise EmulatorError((400, "Emulator.0002"), str(err), style="gateway") from None
        return JSONResponse({"ok": True})

    @app.post("/_emulator/datasets", name="admin_datasets")
    async def admin_datasets(request: Request) -> Response:
        admin_guard(request)
        body = await request.json()
        emu.obs.local(body["obs_path"])
        emu.store.execute("INSERT OR REPLACE INTO datasets(dataset_id, version_id, obs_path) VALUES (?,?,?)",
                          (str(body["dataset_id"]), str(body["version_id"]), body["obs_path"]))
        return JSONResponse({"ok": True})

    @app.post("/_emulator/config", name="admin_config")
    async def admin_config(request: Request) -> Response:
        admin_guard(request)
        body = await request.json()
        for key in ("token_lifetime", "temp_key_lifetime"):
            if key in body:
                setattr(emu.account, key, float(body[key]))
        if "metadata_agency" in body:
            emu.settings.metadata_agency = bool(body["metadata_agency"])
        return JSONResponse({"ok": True})

    # ------------------------------------------------------------------ console page (loopback only)
    @app.get("/console/training-jobs/{job_id}/versions/{version_id}", name="console")
    async def console(job_id: int, version_id: int, request: Request) -> Response:
        admin_guard(request)
        job, version = version_or_404(job_id, version_id)
        detail = version_detail(job, version)
        assert emu.runner is not None
        tails = {name: log.page(base_line="", lines=100, order="desc")["content"]
                 for name, log in emu.runner.log_files(job, version).items()}
        esc = html.escape
        rows = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(json.dumps(v))}</td></tr>" for k, v in detail.items()
                       if v not in (None, "", []))
        logs = "".join(f"<h3>{esc(n)}</h3><pre>{esc(t)}</pre>" for n, t in tails.items())
        state = JobState(version["status"])
        refresh = "" if state.is_terminal else '<meta http-equiv="refresh" content="3">'
        page = (f"<!doctype html><html><head><meta charset='utf-8'>{refresh}<title>{esc(job['job_name'])} "
                f"{esc(version['version_name'])}</title></head><body><h1>{esc(job['job_name'])} "
                f"{esc(version['version_name'])}: {esc(state.name)}</h1><table>{rows}</table>"
                f"<h2>Log tail</h2>{logs}</body></html>")
        return HTMLResponse(page)

    return app


# --------------------------------------------------------------------------- ASGI middleware
API_ENDPOINTS_EXCLUDED_FROM_STAR = ("admin_", "console", "metadata_")


class EmulatorMiddleware:
    """Request ids, request counting and fault injection in front of the app."""

    def __init__(self, app: FastAPI, emu: Emulator) -> None:
        self.app = app
        self.emu = emu

    def _endpoint(self, scope: dict) -> str:
        for route in self.app.router.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "name", "unknown")
        return "unknown"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        endpoint = self._endpoint(scope)
        self.emu.requests[endpoint] += 1
        faultable = endpoint != "unknown" and not endpoint.startswith(API_ENDPOINTS_EXCLUDED_FROM_STAR)
        before = self.emu.faults.pick(endpoint, "before") if faultable else None
        if before and await self._apply(before, scope, send, request_id):
            self.emu.auth_outcomes[endpoint]["fault"] += 1
            return
        after = self.emu.faults.pick(endpoint, "after") if faultable else None
        captured: list[dict] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                self.emu.response_bytes[endpoint] += len(message.get("body", b""))
            if after is not None:
                captured.append(message)
            else:
                await send(message)

        await self.app(scope, receive, capture)
        self.emu.auth_outcomes[endpoint][state.get("auth", "none")] += 1
        if after is not None:
            if not await self._apply(after, scope, send, request_id):
                for message in captured:
                    await send(message)

    async def _apply(self, fault: Any, scope: dict, send: Any, request_id: str) -> bool:
        """Apply a fault; True when it replaced the answer."""
        if fault.kind == "latency":
            await asyncio.sleep(fault.arg or 0)
            return False
        if fault.kind == "drop":
            transport = scope.get("state", {}).get("_transport")
            if transport is not None:
                transport.abort()
                return True
            return False
        status, code = INJECTED[fault.status]
        body = error_body(status, code, INJECTED_MESSAGES[fault.status],
                          "gateway" if code.startswith("APIG") else "v1", request_id)
        headers = [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())]
        if fault.status == 429 and fault.arg is not None:
            headers.append((b"retry-after", str(int(fault.arg)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
        return True
