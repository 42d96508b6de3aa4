"""The emulator's own admin API (loopback only: see ``middleware.local_surface_refusal``)."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_modelarts.emulator.errors import EmulatorError
from airflow_provider_modelarts.emulator.state import Emulator
from airflow_provider_modelarts.models import JobState


def add_admin_routes(app: FastAPI, emu: Emulator) -> None:
    # ------------------------------------------------------------------ admin (loopback only)
    async def json_body(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError as err:
            raise EmulatorError((400, "Emulator.0002"), f"Expected a JSON object body: {err}", style="gateway") \
                from None
        if not isinstance(body, dict):
            raise EmulatorError((400, "Emulator.0002"), "Expected a JSON object body", style="gateway")
        return body

    @app.get("/_emulator/health", name="admin_health")
    async def admin_health(request: Request) -> Response:
        return JSONResponse({"ok": True, "lost_on_start": emu.lost_on_start})

    @app.get("/_emulator/stats", name="admin_stats")
    async def admin_stats(request: Request) -> Response:
        return JSONResponse(emu.stats())

    @app.post("/_emulator/stats/reset", name="admin_stats_reset")
    async def admin_stats_reset(request: Request) -> Response:
        emu.requests.clear()
        emu.auth_outcomes.clear()
        emu.response_bytes.clear()
        emu.requests_log.clear()
        return JSONResponse({"ok": True})

    @app.get("/_emulator/requests", name="admin_requests")
    async def admin_requests(request: Request) -> Response:
        """The API requests received since the last stats reset (endpoint, method, path, query, body)."""
        return JSONResponse({"requests": emu.recorded()})

    @app.post("/_emulator/faults", name="admin_faults")
    async def admin_faults(request: Request) -> Response:
        body = await json_body(request)
        try:
            emu.faults.set(body.get("spec"), body.get("seed"))
        except ValueError as err:
            raise EmulatorError((400, "Emulator.0002"), str(err), style="gateway") from None
        return JSONResponse({"ok": True})

    @app.get("/_emulator/faults", name="admin_faults_list")
    async def admin_faults_list(request: Request) -> Response:
        """The fault rules in force (each with how many times it may still fire; null: unlimited)."""
        return JSONResponse({"faults": [dataclasses.asdict(f) for f in emu.faults.faults], "fired": emu.faults.fired})

    @app.get("/_emulator/datasets", name="admin_datasets_list")
    async def admin_datasets_list(request: Request) -> Response:
        rows = emu.store.all("SELECT dataset_id, version_id, obs_path FROM datasets ORDER BY dataset_id, version_id")
        return JSONResponse({"datasets": rows})

    @app.get("/_emulator/jobs", name="admin_jobs")
    async def admin_jobs(request: Request) -> Response:
        """Every job version (v2 jobs with their UUID), newest first: what the console lists, as JSON."""
        mapped = {(r["job_id"], r["version_id"]): r["id"] for r in emu.store.all("SELECT * FROM v2_jobs")}
        rows = emu.store.all("SELECT j.job_id, j.job_name, v.version_id, v.version_name, v.status, v.create_time, "
                             "v.start_time, v.end_time FROM versions v JOIN jobs j USING(job_id) "
                             "ORDER BY v.create_time DESC, v.version_id DESC")
        jobs = [{**row, "api_version": "v2" if (row["job_id"], row["version_id"]) in mapped else "v1",
                 "training_job_id": mapped.get((row["job_id"], row["version_id"])),
                 "status_name": JobState(row["status"]).name} for row in rows]
        return JSONResponse({"total": len(jobs), "jobs": jobs})

    @app.post("/_emulator/datasets", name="admin_datasets")
    async def admin_datasets(request: Request) -> Response:
        body = await json_body(request)
        missing = [k for k in ("dataset_id", "version_id", "obs_path") if not body.get(k)]
        if missing:
            raise EmulatorError((400, "Emulator.0002"), f"Missing field(s): {', '.join(missing)} (expected "
                                '{"dataset_id": ..., "version_id": ..., "obs_path": "/bucket/dir/"})',
                                style="gateway")
        emu.obs.local(body["obs_path"])
        emu.store.execute("INSERT OR REPLACE INTO datasets(dataset_id, version_id, obs_path) VALUES (?,?,?)",
                          (str(body["dataset_id"]), str(body["version_id"]), body["obs_path"]))
        return JSONResponse({"ok": True})

    @app.post("/_emulator/config", name="admin_config")
    async def admin_config(request: Request) -> Response:
        body = await json_body(request)
        for key in ("token_lifetime", "temp_key_lifetime"):
            if key in body:
                setattr(emu.account, key, float(body[key]))
        for key in ("metadata_agency", "metadata_token_api", "record_responses", "metadata_service"):
            if key in body:
                setattr(emu.settings, key, bool(body[key]))
        return JSONResponse({"ok": True})
