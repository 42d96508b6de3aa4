"""The emulator's console: a list of training jobs and a page per job, for a person (loopback only, see
``middleware.local_surface_refusal``).

v1 jobs appear in v1's vocabulary (numeric job id, version ``V0001``, ``JOBSTAT_*`` codes), v2 jobs in v2's
(the job's UUID, its phase). A job page shows the status with a timeline, the parameters, inputs and outputs, a
live tail of every worker's log and a Stop button; it updates itself from ``/console/api/…`` without a reload.
Times are shown in UTC and as "… ago"; the provider's ``[airflow-ti:…]`` tag is shown as "started by an
Airflow task", never as text.
"""

from __future__ import annotations

import html
import json
import re
import time
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from airflow_provider_modelarts.emulator.errors import NOT_RUNNING, EmulatorError
from airflow_provider_modelarts.emulator.state import Emulator
from airflow_provider_modelarts.emulator.store import RUNNING_STATES
from airflow_provider_modelarts.models import JobState, Outcome

MARKER_RE = re.compile(r"\s*\[airflow-ti:[0-9a-f]+(?:/[0-9a-f]+)?\]")
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1f2328}
header{background:#c7000b;color:#fff;padding:10px 24px;display:flex;gap:16px;align-items:baseline}
header a{color:#fff;text-decoration:none;font-weight:600} main{padding:20px 24px;max-width:1200px}
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0001}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #eaecef;vertical-align:top}
th{background:#fafbfc;font-weight:600;color:#57606a;white-space:nowrap}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600}
.running{background:#ddf4ff;color:#0969da}.success{background:#dafbe1;color:#1a7f37}
.failed{background:#ffebe9;color:#cf222e}.stopped{background:#eaeef2;color:#57606a}
.muted{color:#6e7781;font-size:12px} h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 8px}
pre{background:#0d1117;color:#e6edf3;padding:10px;border-radius:6px;max-height:420px;overflow:auto;font-size:12px}
button{background:#cf222e;color:#fff;border:0;border-radius:6px;padding:6px 14px;font-weight:600;cursor:pointer}
button[disabled]{background:#8c959f;cursor:default} .grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
ol.timeline{list-style:none;padding:0;margin:0;display:flex;gap:8px;flex-wrap:wrap}
ol.timeline li{background:#fff;padding:6px 12px;border-radius:6px;box-shadow:0 1px 2px #0001}
"""


def _when(ms: int | None) -> str:
    if not ms:
        return "—"
    stamp = datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f'{stamp} <span class="muted" data-ago="{ms}">({_ago(ms)})</span>'


def _ago(ms: int) -> str:
    seconds = max(0, int(time.time() - ms / 1000))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _duration(start: int | None, end: int | None) -> str:
    if not start:
        return "—"
    seconds = int(((end or time.time() * 1000) - start) / 1000)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def _description(text: str) -> tuple[str, bool]:
    """(description without the provider's tag, whether an Airflow task started the job)."""
    return MARKER_RE.sub("", text or "").strip(), bool(MARKER_RE.search(text or ""))


class JobView:
    """One job (v1: a job version; v2: a training job) as the console shows it."""

    def __init__(self, emu: Emulator, job: dict[str, Any], version: dict[str, Any], v2_id: str | None) -> None:
        from airflow_provider_modelarts.emulator.routes_v2 import PHASES

        self.emu, self.job, self.version, self.v2_id = emu, job, version, v2_id
        state = JobState(version["status"])
        self.outcome = state.outcome
        self.running = version["status"] in RUNNING_STATES and version["status"] != 9
        if v2_id:
            self.api, self.status = "v2", PHASES.get(version["status"], ("Creating", ""))[0]
            self.title, self.ident = job["job_name"], v2_id
            self.url = f"/console/training-jobs/v2/{v2_id}"
        else:
            self.api, self.status = "v1", f"{state.name.removeprefix('JOBSTAT_').replace('_', ' ').title()}"
            self.title = f"{job['job_name']} {version['version_name']}"
            self.ident = f"job {job['job_id']} · version {version['version_id']} ({version['version_name']})"
            self.url = f"/console/training-jobs/{job['job_id']}/versions/{version['version_id']}"
        self.status_detail = "" if v2_id else f"{state.name} ({state.code})"

    @property
    def css(self) -> str:
        return {Outcome.SUCCESS: "success", Outcome.FAILED: "failed", Outcome.STOPPED: "stopped"}.get(
            self.outcome, "running")

    def live(self, lines: int = 200) -> dict[str, Any]:
        assert self.emu.runner is not None
        logs = {name: log.page(base_line="", lines=lines, order="desc")["content"]
                for name, log in self.emu.runner.log_files(self.job, self.version).items()}
        v = self.version
        return {"status": self.status, "status_detail": self.status_detail, "css": self.css, "running": self.running,
                "active": self.outcome == Outcome.RUNNING,
                "timeline": self.timeline(), "duration": _duration(v.get("start_time"), v.get("end_time")),
                "logs": logs, "error": v.get("error_result") or ""}

    def timeline(self) -> list[tuple[str, str]]:
        v = self.version
        steps = [("Created", _when(v["create_time"]))]
        if v.get("start_time"):
            steps.append(("Started", _when(v["start_time"])))
        if v.get("end_time"):
            steps.append((self.status, _when(v["end_time"])))
        return steps

    def parameters(self) -> list[tuple[str, str]]:
        from airflow_provider_modelarts.emulator.catalog import AI_ENGINES

        c = self.version["config"]
        known = next((e for e in AI_ENGINES if e["engine_id"] == c.get("engine_id")), None)
        engine = f"{known['engine_name']} {known['engine_version']}" if known else c.get("engine_id")
        flavor = c.get("flavor") or c.get("spec_code") or c.get("spec_id")
        if isinstance(flavor, dict):
            flavor = flavor.get("code")
        rows = [("Engine", engine),
                ("Built-in algorithm", c.get("model_id")), ("Image", c.get("user_image_url")),
                ("Command", c.get("user_command")), ("Code directory", c.get("app_url")),
                ("Boot file", c.get("boot_file_url")), ("Flavor", flavor),
                ("Nodes", c.get("worker_server_num")), ("Pool", c.get("pool_id"))]
        for item in c.get("parameter") or []:
            rows.append((f"Hyperparameter {item.get('label')}", item.get("value")))
        for key, value in (c.get("environments") or {}).items():
            rows.append((f"Environment {key}", value))
        return [(k, str(v)) for k, v in rows if v not in (None, "", [])]

    def inputs_outputs(self) -> list[tuple[str, str]]:
        c = self.version["config"]
        rows = [("Input", c.get("data_url"))]
        if c.get("dataset_id"):
            rows.append(("Dataset", f"{c['dataset_id']} version {c.get('dataset_version_id', '')}"))
        for source in c.get("data_source") or []:
            rows.append(("Input", source.get("data_url") or f"dataset {source.get('dataset_id')}"))
        rows += [("Output", c.get("train_url")), ("Logs copied to", c.get("log_url"))]
        return [(k, str(v)) for k, v in rows if v]


def _page(title: str, body: str, script: str = "") -> HTMLResponse:
    esc = html.escape
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)} · ModelArts emulator</title>"
        f"<style>{_CSS}</style></head><body><header><a href='/console'>ModelArts emulator</a>"
        f"<span>training jobs</span></header><main>{body}</main>"
        f"<script>{script}</script></body></html>")


_LIVE_JS = """
const api = document.body.dataset.api;
function ago(ms){const s=Math.max(0,Math.floor((Date.now()-ms)/1000));
  for(const [u,n] of [["d",86400],["h",3600],["min",60]]) if(s>=n) return `${Math.floor(s/n)} ${u} ago`;
  return `${s} s ago`;}
async function refresh(){
  const r = await fetch(api, {headers:{"Accept":"application/json"}}); if(!r.ok) return;
  const d = await r.json();
  const badge = document.getElementById("status");
  badge.textContent = d.status; badge.className = "badge " + d.css;
  document.getElementById("status-detail").textContent = d.status_detail;
  document.getElementById("duration").textContent = d.duration;
  document.getElementById("timeline").innerHTML = d.timeline.map(([k,v]) => `<li><b>${k}</b> ${v}</li>`).join("");
  document.getElementById("error").textContent = d.error;
  for (const [name, text] of Object.entries(d.logs)) {
    const pre = document.getElementById("log-" + name); if (pre && pre.textContent !== text) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = text; if (atEnd) pre.scrollTop = pre.scrollHeight; } }
  const stop = document.getElementById("stop"); stop.disabled = !d.running;
  stop.textContent = d.running ? "Stop" : "Ended";
  document.querySelectorAll("[data-ago]").forEach(e => e.textContent = `(${ago(+e.dataset.ago)})`);
  if (d.active) setTimeout(refresh, 1500);
}
document.getElementById("stop").addEventListener("click", async (event) => {
  event.target.disabled = true; event.target.textContent = "Stopping…";
  await fetch(api + "/stop", {method: "POST"}); refresh(); });
setTimeout(refresh, 1500);
"""


def add_console_routes(app: FastAPI, emu: Emulator) -> None:
    def view_v1(job_id: int, version_id: int) -> JobView:
        job, version = emu.version_or_404(job_id, version_id)
        mapped = emu.store.one("SELECT id FROM v2_jobs WHERE job_id=? AND version_id=?", (job_id, version_id))
        return JobView(emu, job, version, mapped["id"] if mapped else None)

    def view_v2(training_job_id: str) -> JobView:
        row = emu.store.one("SELECT * FROM v2_jobs WHERE id=?", (training_job_id,))
        if row is None:
            raise EmulatorError((404, "ModelArts.2775"), f"Training job {training_job_id} not found.", style="v2")
        job, version = emu.version_or_404(row["job_id"], row["version_id"])
        return JobView(emu, job, version, training_job_id)

    def views() -> list[JobView]:
        mapped = {(r["job_id"], r["version_id"]): r["id"] for r in emu.store.all("SELECT * FROM v2_jobs")}
        rows = emu.store.all("SELECT v.*, j.job_name, j.job_desc AS job_job_desc, j.workspace_id, "
                             "j.create_time AS job_create_time FROM versions v JOIN jobs j USING(job_id) "
                             "ORDER BY v.create_time DESC, v.version_id DESC LIMIT 500")
        out = []
        for row in rows:
            job = {"job_id": row["job_id"], "job_name": row["job_name"], "job_desc": row["job_job_desc"]}
            row["config"] = json.loads(row["config"])
            out.append(JobView(emu, job, row, mapped.get((row["job_id"], row["version_id"]))))
        return out

    @app.get("/console", name="console_jobs")
    async def console_jobs(request: Request) -> Response:
        esc = html.escape
        items = views()
        rows = "".join(
            f"<tr><td><span class='badge {v.css}'>{esc(v.status)}</span></td>"
            f"<td><a href='{esc(v.url)}'>{esc(v.title)}</a><div class='muted'>{esc(v.ident)}</div></td>"
            f"<td>{v.api}</td><td>{_when(v.version['create_time'])}</td>"
            f"<td>{_duration(v.version.get('start_time'), v.version.get('end_time'))}</td></tr>" for v in items)
        body = (f"<h1>Training jobs</h1><p class='muted'>{len(items)} shown, newest first · this emulator's "
                f"region {esc(emu.account.region)}</p><table id='jobs'><thead><tr><th>Status</th><th>Job</th>"
                f"<th>API</th><th>Created</th><th>Duration</th></tr></thead><tbody>{rows or ''}</tbody></table>"
                + ("" if items else "<p>No training jobs yet.</p>"))
        return _page("Training jobs", body, "setTimeout(() => location.reload(), 5000);")

    def job_page(view: JobView, api: str) -> Response:
        esc = html.escape
        live = view.live()
        description, by_airflow = _description(view.version.get("job_desc") or view.job.get("job_desc", ""))
        table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in view.parameters())
        io = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in view.inputs_outputs())
        logs = "".join(f"<h3>{esc(name)}</h3><pre id='log-{esc(name)}'>{esc(text)}</pre>"
                       for name, text in live["logs"].items())
        timeline = "".join(f"<li><b>{esc(k)}</b> {v}</li>" for k, v in live["timeline"])
        body = (
            f"<h1>{esc(view.title)} <span id='status' class='badge {live['css']}'>{esc(live['status'])}</span></h1>"
            f"<div class='muted'>{esc(view.api)} · {esc(view.ident)} <span id='status-detail'>"
            f"{esc(live['status_detail'])}</span></div>"
            + (f"<p>{esc(description)}</p>" if description else "")
            + ("<p class='muted'>Started by an Airflow task.</p>" if by_airflow else "")
            + f"<p><button id='stop' {'' if live['running'] else 'disabled'}>"
            f"{'Stop' if live['running'] else 'Ended'}</button> <span class='muted'>run time "
            f"<span id='duration'>{esc(live['duration'])}</span></span></p>"
            f"<h2>Timeline</h2><ol id='timeline' class='timeline'>{timeline}</ol>"
            f"<p id='error' class='failed'>{esc(live['error'])}</p>"
            f"<div class='grid'><div><h2>Parameters</h2><table id='parameters'>{table}</table></div>"
            f"<div><h2>Inputs and outputs</h2><table id='io'>{io}</table></div></div>"
            f"<h2>Log</h2>{logs or '<p class=muted>No log yet.</p>'}")
        page = _page(view.title, body, _LIVE_JS)
        page.body = page.body.replace(b"<body>", f"<body data-api='{esc(api)}'>".encode(), 1)
        page.headers["content-length"] = str(len(page.body))
        return page

    async def stop(view: JobView) -> Response:
        if not view.running:
            raise EmulatorError(NOT_RUNNING, "The job is not running.", style="gateway")
        assert emu.runner is not None
        await emu.runner.stop(view.version["version_id"])
        return JSONResponse({"ok": True})

    @app.get("/console/training-jobs/{job_id}/versions/{version_id}", name="console")
    async def console_v1(job_id: int, version_id: int, request: Request) -> Response:
        return job_page(view_v1(job_id, version_id), f"/console/api/training-jobs/{job_id}/versions/{version_id}")

    @app.get("/console/training-jobs/v2/{training_job_id}", name="console_v2")
    async def console_v2(training_job_id: str, request: Request) -> Response:
        return job_page(view_v2(training_job_id), f"/console/api/training-jobs/v2/{training_job_id}")

    @app.get("/console/api/training-jobs/{job_id}/versions/{version_id}", name="console_api_v1")
    async def console_api_v1(job_id: int, version_id: int, request: Request) -> Response:
        return JSONResponse(view_v1(job_id, version_id).live())

    @app.get("/console/api/training-jobs/v2/{training_job_id}", name="console_api_v2")
    async def console_api_v2(training_job_id: str, request: Request) -> Response:
        return JSONResponse(view_v2(training_job_id).live())

    @app.post("/console/api/training-jobs/{job_id}/versions/{version_id}/stop", name="console_stop_v1")
    async def console_stop_v1(job_id: int, version_id: int, request: Request) -> Response:
        return await stop(view_v1(job_id, version_id))

    @app.post("/console/api/training-jobs/v2/{training_job_id}/stop", name="console_stop_v2")
    async def console_stop_v2(training_job_id: str, request: Request) -> Response:
        return await stop(view_v2(training_job_id))
