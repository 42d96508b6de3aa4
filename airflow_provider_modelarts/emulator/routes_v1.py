"""The v1 training-job API: jobs, versions, logs and the lookup catalogues."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from airflow_provider_modelarts.emulator import catalog
from airflow_provider_modelarts.emulator.errors import DUPLICATE_NAME, NOT_FOUND, NOT_RUNNING, EmulatorError
from airflow_provider_modelarts.emulator.state import (
    Emulator,
    duration,
    int_param,
    json_body,
    ok,
    paging,
    require,
)
from airflow_provider_modelarts.emulator.store import RUNNING_STATES
from airflow_provider_modelarts.emulator.validation_v1 import validate_config
from airflow_provider_modelarts.models import JobState

JOB_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SORT_KEYS = ("job_name", "job_desc", "status", "duration", "version_count", "create_time")


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
        "parameter": cfg.get("parameter") or [], "duration": duration(version),
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
        "job_type": 1, "error_result": version["error_result"],
    }


def created(job: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": job["job_id"], "job_name": job["job_name"], "status": version["status"],
            "create_time": version["create_time"], "version_id": version["version_id"],
            "version_name": version["version_name"], "resource_id": version["resource_id"]}


def add_v1_routes(app: FastAPI, emu: Emulator) -> None:
    @app.post("/v1/{project_id}/training-jobs", name="create_job")
    async def create_job(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        body = await json_body(request)
        name = body.get("job_name")
        require(isinstance(name, str) and bool(JOB_NAME_RE.match(name)),
                 "job_name must be 1-64 characters from letters, digits, '-' and '_'.")
        desc = body.get("job_desc") or ""
        require(isinstance(desc, str) and len(desc) <= 256, "job_desc must be a string of at most 256 characters.")
        if emu.store.job_by_name(name):
            raise EmulatorError(DUPLICATE_NAME, f"Job name:{name} is existed")
        config = validate_config(emu, body.get("config"))
        job_id = emu.store.create_job(name, desc, str(body.get("workspace_id") or "0"))
        job = emu.store.job(job_id)
        assert job is not None
        if body.get("create_version", True) is False:
            return ok({"job_id": job_id, "job_name": name, "create_time": job["create_time"]})
        return ok(created(job, emu.start_version(job, desc, config, None)))

    @app.post("/v1/{project_id}/training-jobs/{job_id}/versions", name="create_version")
    async def create_version(project_id: str, job_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        job = emu.job_or_404(job_id)
        body = await json_body(request)
        config = body.get("config")
        require(isinstance(config, dict), "config is required and must be an object.")
        pre = config.get("pre_version_id")
        require(pre is not None and str(pre).isdigit(), "config.pre_version_id is required.")
        _, previous = emu.version_or_404(job_id, int(pre))
        merged = {k: v for k, v in previous["config"].items() if k not in ("spec_code",)}
        if any(config.get(k) for k in ("data_url", "dataset_id", "data_source")):
            for key in ("data_url", "dataset_id", "dataset_version_id", "data_source"):
                merged.pop(key, None)
        if config.get("pool_id") or config.get("spec_id") is not None:  # the new version picks its resources anew
            for key in ("spec_id", "spec_code", "pool_id"):
                merged.pop(key, None)
        merged.update({k: v for k, v in config.items() if k != "pre_version_id"})
        merged = validate_config(emu, merged)
        desc = body.get("job_desc") if isinstance(body.get("job_desc"), str) else job["job_desc"]
        return ok(created(job, emu.start_version(job, desc, merged, int(pre))))

    @app.get("/v1/{project_id}/training-jobs", name="list_jobs")
    async def list_jobs(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        q = request.query_params
        per_page, page = paging(q)
        sort_by = q.get("sortBy") or q.get("sort_by") or "job_name"
        require(sort_by in SORT_KEYS, f"Invalid parameter sortBy: expected one of {', '.join(SORT_KEYS)}.")
        order = q.get("order") or "asc"
        require(order in ("asc", "desc"), "Invalid parameter order: expected asc or desc.")
        search = q.get("search_content") or ""
        require(len(search) <= 64, "Invalid parameter search_content: at most 64 characters.")
        rows = []
        for job in emu.store.all("SELECT * FROM jobs WHERE instr(job_name, ?) > 0", (search,)):
            versions = emu.store.versions(job["job_id"])
            if not versions:
                continue
            latest = versions[0]
            rows.append({"job_id": job["job_id"], "job_name": job["job_name"], "version_id": latest["version_id"],
                         "status": latest["status"], "create_time": job["create_time"], "duration": duration(latest),
                         "job_desc": job["job_desc"], "version_count": len(versions)})
        if q.get("status"):
            rows = [r for r in rows if str(r["status"]) == q.get("status")]
        rows.sort(key=lambda r: (r[sort_by], r["job_id"]), reverse=order == "desc")
        page_rows = rows[(page - 1) * per_page: page * per_page]
        running = sum(1 for r in rows if r["status"] in RUNNING_STATES)
        return ok({"quotas": 1000, "job_total_count": len(rows), "job_count_limit": max(0, 1000 - running),
                    "jobs": page_rows})

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}", name="get_version")
    async def get_version(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        job, version = emu.version_or_404(job_id, version_id)
        return ok(version_detail(job, version))

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions", name="list_versions")
    async def list_versions(project_id: str, job_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        job = emu.job_or_404(job_id)
        per_page = int_param(request.query_params.get("per_page"), "per_page", 10, 1, 1000)
        page = int_param(request.query_params.get("page"), "page", 0, 0, 65535)
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
        return ok({"job_id": job_id, "job_name": job["job_name"], "job_desc": job["job_desc"],
                    "version_count": len(emu.store.versions(job_id)), "versions": items})

    @app.post("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/stop", name="stop_version")
    async def stop_version(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        _, version = emu.version_or_404(job_id, version_id)
        if version["status"] not in RUNNING_STATES or version["status"] == 9:
            raise EmulatorError(NOT_RUNNING, f"The job version is not running (status "
                                             f"{JobState(version['status']).name}).")
        assert emu.runner is not None
        await emu.runner.stop(version_id)
        return ok({})

    async def _stop_all(job_id: int, versions: list[dict[str, Any]]) -> None:
        assert emu.runner is not None
        for version in versions:
            if version["version_id"] in emu.runner.executions:
                await emu.runner.stop(version["version_id"])

    @app.delete("/v1/{project_id}/training-jobs/{job_id}", name="delete_job")
    async def delete_job(project_id: str, job_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        emu.job_or_404(job_id)
        await _stop_all(job_id, emu.store.versions(job_id))
        emu.store.execute("DELETE FROM versions WHERE job_id=?", (job_id,))
        emu.store.execute("DELETE FROM jobs WHERE job_id=?", (job_id,))
        return ok({})

    @app.delete("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}", name="delete_version")
    async def delete_version(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        _, version = emu.version_or_404(job_id, version_id)
        await _stop_all(job_id, [version])
        emu.store.execute("DELETE FROM versions WHERE version_id=?", (version_id,))
        return ok({})

    @app.put("/v1/{project_id}/training-jobs/{job_id}", name="update_job")
    async def update_job(project_id: str, job_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        emu.job_or_404(job_id)
        body = await json_body(request)
        desc = body.get("job_desc")
        require(isinstance(desc, str) and len(desc) <= 256, "job_desc must be a string of at most 256 characters.")
        emu.store.execute("UPDATE jobs SET job_desc=? WHERE job_id=?", (desc, job_id))
        return ok({})

    def log_file(job_id: int, version_id: int, name: str | None):
        job, version = emu.version_or_404(job_id, version_id)
        assert emu.runner is not None
        files = emu.runner.log_files(job, version)
        require(bool(name), "Invalid parameter log_file: required.")
        if name not in files:
            raise EmulatorError(NOT_FOUND, f"Log file {name} does not exist.")
        return files[name]

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/log/file-names", name="log_file_names")
    async def log_file_names(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        job, version = emu.version_or_404(job_id, version_id)
        assert emu.runner is not None
        return ok({"log_file_list": list(emu.runner.log_files(job, version))})

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/aom-log", name="aom_log")
    async def aom_log(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        q = request.query_params
        log = log_file(job_id, version_id, q.get("log_file"))
        lines = int_param(q.get("lines"), "lines", 50, 0, 500)
        order = q.get("order") or "desc"
        require(order in ("asc", "desc"), "Invalid parameter order: expected asc or desc.")
        base_line = q.get("base_line") or ""
        require(base_line == "" or base_line.isdigit(), "Invalid parameter base_line.")
        return ok(await asyncio.to_thread(log.page, base_line=base_line, lines=lines, order=order))

    @app.get("/v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/log", name="byte_log")
    async def byte_log(project_id: str, job_id: int, version_id: int, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        q = request.query_params
        log = log_file(job_id, version_id, q.get("log_file"))
        start = int_param(q.get("start_byte"), "start_byte", 0, -1, 2**62)
        offset = int_param(q.get("offset"), "offset", 2048, -2048, 2048)
        data = (await asyncio.to_thread(log.text)).encode()
        begin = len(data) if start == -1 else min(start, len(data))
        chunk = data[begin:begin + offset] if offset >= 0 else data[max(0, begin + offset):begin]
        end = begin + len(chunk) if offset >= 0 else begin
        return ok({"log": chunk.decode("utf-8", "replace"), "log_byte_count": len(data), "end_byte": end})

    @app.get("/v1/{project_id}/job/resource-specs", name="resource_specs")
    async def resource_specs(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        specs = [{k: v for k, v in spec.items() if k != "flavor_name"} for spec in catalog.RESOURCE_SPECS]  # v2's
        return ok({"spec_total_count": len(specs), "specs": specs})

    @app.get("/v1/{project_id}/job/ai-engines", name="ai_engines")
    async def ai_engines(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        return ok({"engines": catalog.AI_ENGINES})

    @app.get("/v1/{project_id}/built-in-algorithms", name="built_in_algorithms")
    async def built_in_algorithms(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        q = request.query_params
        per_page, page = paging(q, max_per_page=100)  # [1, 100] for this API
        search = q.get("search_content") or ""
        models = [catalog.public_algorithm(a) for a in catalog.BUILT_IN_ALGORITHMS if search in a["model_name"]]
        sort_by = q.get("sortBy") or "model_name"
        if sort_by in ("model_name", "model_id", "create_time", "model_size"):
            models.sort(key=lambda m: m[sort_by], reverse=q.get("order") == "desc")
        return ok({"model_total_count": len(models), "models": models[(page - 1) * per_page: page * per_page]})
