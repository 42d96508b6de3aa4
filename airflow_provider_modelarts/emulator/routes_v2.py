"""New-version training jobs (API v2, ``shared/modelarts-api.md`` §3) on the same store and job runner as v1.

A v2 job is kept as an internal job with one version (so the runner, logs and OBS are shared) plus a row in
``v2_jobs`` with its UUID and the request body. Phases are derived from the v1 status code.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_modelarts.emulator import catalog
from airflow_provider_modelarts.emulator.errors import EmulatorError
from airflow_provider_modelarts.emulator.state import Emulator
from airflow_provider_modelarts.emulator.store import RUNNING_STATES, now_ms
from airflow_provider_modelarts.emulator.validation_v1 import validate_config
from airflow_provider_modelarts.emulator.validation_v2 import validate_v2_body

# v2 error codes with the HTTP status the OTC error-code appendix (api-ref/source/appendix/error_codes.rst) gives
V2_DUPLICATE_NAME = (400, "ModelArts.2751")  # DuplicateTrainingJobName
V2_NOT_FOUND = (400, "ModelArts.2775")  # TrainingJobNotFound
V2_CANNOT_TERMINATE = (409, "ModelArts.2796")  # NotAllowedToTerminate
V2_INVALID_JSON = (400, "ModelArts.2787")  # InvalidJsonBody
V2_INVALID = (400, "ModelArts.2788")  # InvalidParam
V2_LOG_NOT_GENERATED = (400, "ModelArts.2818")  # LogFileNotGenerated
V2_TASK_NOT_FOUND = (400, "ModelArts.4700")  # "The task ID does not exist"
V2_ALGORITHM_NOT_FOUND = (400, "ModelArts.2755")  # AiAlgorithmNotFound
V2_ENGINE_NOT_FOUND = (400, "ModelArts.2780")  # EngineNotFound

#: v1 status code → (phase, secondary_phase)
PHASES = {
    0: ("Creating", "Unknown"), 1: ("Creating", "Creating"), 2: ("Creating", "Creating"), 4: ("Creating", "Creating"),
    7: ("Pending", "Queuing"), 8: ("Running", "Running"), 9: ("Terminating", "Terminating"),
    10: ("Completed", "Completed"), 11: ("Failed", "Failed"), 12: ("Terminated", "Terminated"),
    13: ("Terminated", "Terminated"), 14: ("Abnormal", "Lost"), 3: ("Failed", "CreateFailed"),
    5: ("Failed", "CreateFailed"),
}
#: aom line API in v2: ``asc`` reads old → new (after base_line), ``desc`` new → old (§3; the reverse of v1's
#: wording) [inference]
V2_ORDER_TO_V1 = {"asc": "desc", "desc": "asc"}
V2_SCHEMA = """
CREATE TABLE IF NOT EXISTS v2_jobs (
    id TEXT PRIMARY KEY, job_id INTEGER NOT NULL, version_id INTEGER NOT NULL, body TEXT NOT NULL
);
"""


def v2_error(status_code: tuple[int, str], message: str) -> EmulatorError:
    return EmulatorError(status_code, message, style="v2")


def engine_v2_id(engine: dict[str, Any]) -> str:
    return f"{engine['engine_name'].lower().replace(' ', '-')}-{engine['engine_version']}"


def algorithm_answer(algorithm: dict[str, Any]) -> dict[str, Any]:
    """The algorithm as the v2 service answers it (SDK JobAlgorithmResponse): environments as a list of
    ``{key: value}``, each channel with its container ``local_dir`` (InputResp/OutputResp)."""
    answer = dict(algorithm)
    if isinstance(answer.get("environments"), dict):
        answer["environments"] = [{k: v} for k, v in answer["environments"].items()]
    for kind in ("inputs", "outputs"):
        if answer.get(kind):
            answer[kind] = [{**item, "local_dir": item.get("local_dir") or
                             f"/home/ma-user/modelarts/{kind}/{item.get('name')}_{index}",
                             "access_method": item.get("access_method") or "parameter"}
                            for index, item in enumerate(answer[kind])]
    return answer


def spec_answer(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as answered (SDK SpecResponse/Resource): the resource with its flavor name and policy."""
    resource = dict(spec.get("resource") or {})
    flavor = catalog.spec_by_code(str(resource.get("flavor_id"))) if resource.get("flavor_id") else None
    if flavor is not None:
        resource["flavor_name"] = flavor["flavor_name"]
    resource.setdefault("policy", "regular")
    return {**spec, "resource": resource}


def add_v2_routes(app: FastAPI, emu: Emulator) -> None:
    emu.store.db.executescript(V2_SCHEMA)

    def row(training_job_id: str) -> dict[str, Any]:
        found = emu.store.one("SELECT * FROM v2_jobs WHERE id=?", (training_job_id,))
        if found is None:
            raise v2_error(V2_NOT_FOUND, f"Training job {training_job_id} not found.")
        return found

    def job_object(found: dict[str, Any]) -> dict[str, Any]:
        body = json.loads(found["body"])
        job = emu.store.job(found["job_id"])
        version = emu.store.version(found["job_id"], found["version_id"])
        if job is None or version is None:
            raise v2_error(V2_NOT_FOUND, f"Training job {found['id']} not found.")
        phase, secondary = PHASES.get(version["status"], ("Creating", "Unknown"))
        count = int(version["config"].get("worker_server_num") or 1)
        end = version["end_time"]
        duration = ((end or now_ms()) - version["start_time"]) if version["start_time"] else 0
        metadata = {**body.get("metadata", {}), "id": found["id"], "create_time": version["create_time"],
                    "user_name": emu.account.user, "workspace_id": body.get("metadata", {}).get("workspace_id", "0")}
        return {
            "kind": body.get("kind", "job"), "metadata": metadata,
            "status": {"phase": phase, "secondary_phase": secondary, "duration": duration, "node_count_metrics": [],
                       "start_time": version["start_time"], "tasks": [f"worker-{i}" for i in range(count)],
                       "task_statuses": [{"task": f"worker-{i}", "exit_code": 0 if phase == "Completed" else None,
                                          "message": version["error_result"] or ""} for i in range(count)]},
            "algorithm": algorithm_answer(body.get("algorithm") or {}), "spec": spec_answer(body.get("spec") or {}),
        }

    def to_config(body: dict[str, Any]) -> dict[str, Any]:
        algorithm = body.get("algorithm") or {}
        spec = body.get("spec") or {}
        resource = spec.get("resource") or {}
        engine = algorithm.get("engine") or {}
        config: dict[str, Any] = {
            "worker_server_num": resource.get("node_count", 1),
            "parameter": [{"label": p.get("name"), "value": p.get("value")} for p in algorithm.get("parameters") or []],
            # v2: parameters are always command-line arguments, environments the container's env
            "parameters_as_arguments": True,
            "environments": dict(algorithm.get("environments") or {}),
        }
        if resource.get("pool_id"):  # its flavor was checked against the pool (validation_v2)
            config["pool_id"] = resource["pool_id"]
        elif resource.get("flavor_id"):
            config["flavor"] = {"code": resource["flavor_id"]}
        # every channel reaches the job as --<name>=<local dir> (Input/Output.name; access_method "parameter")
        inputs, outputs = algorithm.get("inputs") or [], algorithm.get("outputs") or []
        config["data_source"] = [
            {"type": "obs", "data_url": item["remote"]["obs"]["obs_url"]} if (item["remote"].get("obs")) else
            {"type": "dataset", "dataset_id": item["remote"]["dataset"]["id"],
             "dataset_version": item["remote"]["dataset"]["version_id"]} for item in inputs]
        config["channels"] = {"inputs": [item["name"] for item in inputs],
                              "outputs": [[item["name"], item["remote"]["obs"]["obs_url"]] for item in outputs]}
        if outputs:
            config["train_url"] = outputs[0]["remote"]["obs"]["obs_url"]
        if (spec.get("log_export_path") or {}).get("obs_url"):
            config["log_url"] = spec["log_export_path"]["obs_url"]
        if engine.get("image_url"):
            config["user_image_url"] = engine["image_url"]
            config["user_command"] = algorithm.get("command")
            if algorithm.get("code_dir") or algorithm.get("boot_file"):
                config["app_url"], config["boot_file_url"] = algorithm.get("code_dir"), algorithm.get("boot_file")
        elif algorithm.get("id"):
            match = re.fullmatch(r"builtin-(\d+)", str(algorithm["id"]))
            if not match:
                raise v2_error(V2_ALGORITHM_NOT_FOUND, "algorithm not found.")
            config["model_id"] = int(match.group(1))
        else:
            found = next((e for e in catalog.AI_ENGINES if engine.get("engine_id") in (engine_v2_id(e),)
                          or (e["engine_name"], e["engine_version"]) == (engine.get("engine_name"),
                                                                         engine.get("engine_version"))), None)
            if found is None:
                raise v2_error(V2_ENGINE_NOT_FOUND, f"AI engine({engine!r}) not found.")
            config["engine_id"] = found["engine_id"]
            config["app_url"], config["boot_file_url"] = algorithm.get("code_dir"), algorithm.get("boot_file")
        return config

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise v2_error(V2_INVALID_JSON, "Invalid JSON request body.") from None
        if not isinstance(body, dict):
            raise v2_error(V2_INVALID_JSON, "Invalid JSON request body: expected an object.")
        return body

    @app.post("/v2/{project_id}/training-jobs", name="v2_create_job")
    async def create(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        body = await body_of(request)
        validate_v2_body(body)
        name = body["metadata"]["name"]
        if emu.store.job_by_name(name):
            raise v2_error(V2_DUPLICATE_NAME, f"The training job name {name} already exists.")
        try:
            config = validate_config(emu, to_config(body))
        except EmulatorError as err:
            if err.style == "v2":
                raise
            raise v2_error((err.status, err.code), err.message) from None
        description = (body.get("metadata") or {}).get("description") or ""
        job_id = emu.store.create_job(name, description[:256], str((body.get("metadata") or {}).get("workspace_id")
                                                                   or "0"))
        job = emu.store.job(job_id)
        version = emu.start_version(job, description[:256], config, None)
        training_job_id = str(uuid.uuid4())
        emu.store.execute("INSERT INTO v2_jobs(id, job_id, version_id, body) VALUES (?,?,?,?)",
                          (training_job_id, job_id, version["version_id"], json.dumps(body)))
        return JSONResponse(job_object(row(training_job_id)), status_code=201)

    @app.get("/v2/{project_id}/training-jobs/{training_job_id}", name="v2_get_job")
    async def show(project_id: str, training_job_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        return JSONResponse(job_object(row(training_job_id)))

    @app.post("/v2/{project_id}/training-job-searches", name="v2_search_jobs")
    async def search(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        body = await body_of(request)
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
        if not 0 <= offset or not 1 <= limit <= 50:
            raise v2_error(V2_INVALID, "offset must be >= 0 and limit within [1, 50].")
        items = [job_object(found) for found in emu.store.all("SELECT * FROM v2_jobs")]
        total = len(items)
        for flt in body.get("filters") or []:
            key, operator, values = flt.get("key"), flt.get("operator", "in"), flt.get("value") or []

            def value_of(item: dict[str, Any], key: str = key) -> str:
                return str(item["status"]["phase"] if key == "phase" else item["metadata"].get(key, ""))

            if operator == "like":
                items = [i for i in items if any(v in value_of(i) for v in values)]
            elif operator == "not":
                items = [i for i in items if value_of(i) not in values]
            else:
                items = [i for i in items if value_of(i) in values]
        sort_by = body.get("sort_by") or "create_time"
        items.sort(key=lambda i: str(i["metadata"].get(sort_by, i["metadata"]["create_time"])).zfill(20),
                   reverse=(body.get("order") or "desc") == "desc")
        # JobSearches (SDK model / API reference): offset is the page index (0 = the first page), limit the page
        # size; total counts all of the user's jobs, count the jobs that match the filters
        page = items[offset * limit: (offset + 1) * limit]
        return JSONResponse({"total": total, "count": len(items), "limit": limit, "offset": offset,
                             "sort_by": sort_by, "order": body.get("order") or "desc", "group_by": "",
                             "workspace_id": body.get("workspace_id") or "0", "items": page})

    @app.post("/v2/{project_id}/training-jobs/{training_job_id}/actions", name="v2_job_action")
    async def action(project_id: str, training_job_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        found = row(training_job_id)
        body = await body_of(request)
        if body.get("action_type") != "terminate":
            raise v2_error(V2_INVALID, "action_type must be 'terminate'.")
        status = emu.store.status(found["version_id"])
        if status not in RUNNING_STATES or status == 9:
            raise v2_error(V2_CANNOT_TERMINATE, "The training job cannot be terminated in its current phase.")
        await emu.runner.stop(found["version_id"])
        return JSONResponse(job_object(found), status_code=202)

    @app.delete("/v2/{project_id}/training-jobs/{training_job_id}", name="v2_delete_job")
    async def delete(project_id: str, training_job_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        found = row(training_job_id)
        if found["version_id"] in emu.runner.executions:
            await emu.runner.stop(found["version_id"])
        emu.store.execute("DELETE FROM v2_jobs WHERE id=?", (training_job_id,))
        emu.store.execute("DELETE FROM versions WHERE job_id=?", (found["job_id"],))
        emu.store.execute("DELETE FROM jobs WHERE job_id=?", (found["job_id"],))
        return Response(status_code=202)

    def task_log(found: dict[str, Any], task_id: str):
        job = emu.store.job(found["job_id"])
        version = emu.store.version(found["job_id"], found["version_id"])
        files = list(emu.runner.log_files(job, version).values())
        match = re.fullmatch(r"worker-(\d+)", task_id)
        if not match or int(match.group(1)) >= len(files):
            raise v2_error(V2_TASK_NOT_FOUND, f"The task ID {task_id} does not exist.")
        log = files[int(match.group(1))]
        if not log.path.exists():
            raise v2_error(V2_LOG_NOT_GENERATED, "The log has not been generated yet.")
        return log

    @app.get("/v2/{project_id}/training-jobs/{training_job_id}/tasks/{task_id}/logs/preview", name="v2_log_preview")
    async def preview(project_id: str, training_job_id: str, task_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        text = (await asyncio.to_thread(task_log(row(training_job_id), task_id).text)).encode()
        limit = 5 * 1024 * 1024
        return JSONResponse({"content": text[-limit:].decode("utf-8", "replace"), "current_size": min(len(text), limit),
                             "full_size": len(text)})

    @app.get("/v2/{project_id}/training-jobs/{training_job_id}/logs/{task_id}", name="v2_aom_log")
    async def aom(project_id: str, training_job_id: str, task_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        q = request.query_params
        order = q.get("order") or "desc"
        lines = q.get("lines") or "50"
        base_line = q.get("base_line") or ""
        if order not in V2_ORDER_TO_V1 or not lines.isdigit() or not 1 <= int(lines) <= 500 or not (
                base_line == "" or base_line.isdigit()):
            raise v2_error(V2_INVALID, "order must be asc|desc, lines within [1, 500], base_line a cursor.")
        log = task_log(row(training_job_id), task_id)
        page = await asyncio.to_thread(log.page, base_line=base_line, lines=int(lines), order=V2_ORDER_TO_V1[order])
        if order == "desc" and page["lines"]:  # "desc：降序（从新到旧）": newest first, the cursor walks back
            page = {"start_line": page["end_line"], "end_line": page["start_line"], "lines": page["lines"],
                    "content": "\n".join(reversed(page["content"].split("\n")))}
        return JSONResponse(page)

    @app.get("/v2/{project_id}/training-job-engines", name="v2_engines")
    async def engines(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        items = [{"engine_id": engine_v2_id(e), "engine_name": e["engine_name"], "engine_version": e["engine_version"],
                  "v1_compatible": True, "run_user": "1000", "image_info": {"cpu_image_url": "", "gpu_image_url": "",
                                                                   "image_version": e["engine_version"]}}
                 for e in catalog.AI_ENGINES]
        return JSONResponse({"total": len(items), "items": items})

    @app.get("/v2/{project_id}/algorithms", name="v2_algorithms")
    async def algorithms(project_id: str, request: Request) -> Response:
        """ListAlgorithms: ``offset`` counts items, ``limit`` 1–50 (checked by the documented query table)."""
        await emu.authenticate(request, project_id)
        items = [{"metadata": {"id": f"builtin-{a['model_id']}", "name": a["model_name"],
                               "description": a["model_train_dataset"]},
                  "job_config": {"engine": {"engine_name": a["engine_name"], "engine_version": a["engine_version"]}}}
                 for a in catalog.BUILT_IN_ALGORITHMS]
        offset = int(request.query_params.get("offset") or 0)
        limit = int(request.query_params.get("limit") or 50)
        return JSONResponse({"total": len(items), "count": len(items), "limit": limit, "offset": offset,
                             "sort_by": "create_time", "order": "desc", "group_by": "",
                             "items": items[offset: offset + limit]})

    @app.get("/v2/{project_id}/training-job-flavors", name="v2_flavors")
    async def flavors(project_id: str, request: Request) -> Response:
        await emu.authenticate(request, project_id)
        wanted = request.query_params.get("flavor_type")
        items = [{"flavor_id": s["spec_code"], "flavor_name": s["flavor_name"],
                  "flavor_type": "GPU" if s["gpu_num"] else "CPU", "billing": {"code": s["spec_code"], "unit_num": 1},
                  "flavor_info": {"max_num": s["max_num"], "cpu": {"arch": "x86", "core_num": int(s["core"])},
                                  "memory": {"size": int(s["cpu"]), "unit": "GB"},
                                  "disk": {"size": 50, "unit": "GB"}},
                  "attributes": {}} for s in catalog.RESOURCE_SPECS]
        if wanted:
            items = [i for i in items if i["flavor_type"] == wanted]
        return JSONResponse({"total_count": len(items), "flavors": items})
