"""The emulator's own admin API and console page (loopback only: see ``middleware.local_surface_refusal``)."""

from __future__ import annotations

import html
import json

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from airflow_provider_modelarts.emulator.errors import EmulatorError
from airflow_provider_modelarts.emulator.routes_v1 import version_detail
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

    @app.post("/_emulator/datasets", name="admin_datasets")
    async def admin_datasets(request: Request) -> Response:
        body = await json_body(request)
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

    # ------------------------------------------------------------------ console page (loopback only)
    @app.get("/console/training-jobs/{job_id}/versions/{version_id}", name="console")
    async def console(job_id: int, version_id: int, request: Request) -> Response:
        job, version = emu.version_or_404(job_id, version_id)
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
