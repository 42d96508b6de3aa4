"""IAM (tokens, projects, temporary AK/SK) and the instance metadata service (§4.5)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from airflow_provider_modelarts.emulator.auth import iso
from airflow_provider_modelarts.emulator.errors import EmulatorError
from airflow_provider_modelarts.emulator.state import Emulator, json_body

METADATA_PREFIX = "/metadata"


def add_iam_routes(app: FastAPI, emu: Emulator) -> None:
    # ------------------------------------------------------------------ IAM
    @app.post("/v3/auth/tokens", name="iam_token")
    async def iam_token(request: Request) -> Response:
        body = await json_body(request)
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
                      "roles": [{"id": "0", "name": "op_service"}]}}
        if request.query_params.get("nocatalog") != "true":  # nocatalog=true: the token comes without a catalog
            payload["token"]["catalog"] = [{"type": "modelarts", "name": "modelarts", "endpoints": []}]
        if project_info:
            payload["token"]["project"] = project_info
        else:
            payload["token"]["domain"] = {"id": acct.domain_id, "name": acct.domain}
        return JSONResponse(payload, status_code=201, headers={"X-Subject-Token": token})

    @app.get("/v3/projects", name="iam_projects")
    async def iam_projects(request: Request) -> Response:
        await emu.authenticate(request, None)
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
        body = await json_body(request)
        duration = ((body.get("auth") or {}).get("identity") or {}).get("token", {}).get("duration_seconds", 900)
        if not isinstance(duration, int) or not 900 <= duration <= 86400:
            raise EmulatorError((400, "IAM.0003"), "duration_seconds must be an integer in [900, 86400].", style="iam")
        request.state.auth = "token"
        credential = emu.gate.issue_temp_key(min(duration, emu.account.temp_key_lifetime))
        return JSONResponse({"credential": credential}, status_code=201)

    # ------------------------------------------------------------------ instance metadata (§4.5)
    @app.put(METADATA_PREFIX + "/meta-data/latest/api/token", name="metadata_token")
    async def metadata_token(request: Request) -> Response:
        if not emu.settings.metadata_token_api:  # older metadata services have no token API
            raise EmulatorError((404, "Metadata.0404"), "Not Found", style="gateway")
        token = secrets.token_urlsafe(32)
        emu.metadata_tokens.add(token)
        return PlainTextResponse(token)

    @app.get(METADATA_PREFIX + "/openstack/latest/securitykey", name="metadata_securitykey")
    async def metadata_securitykey(request: Request) -> Response:
        if emu.settings.metadata_token_api and request.headers.get("x-metadata-token") not in emu.metadata_tokens:
            raise EmulatorError((401, "Metadata.0001"), "The metadata token is missing or invalid.", style="gateway")
        if not emu.settings.metadata_agency:
            raise EmulatorError((401, "Metadata.0002"), "Please configure Cloud Service Agency first.",
                                style="gateway")
        return JSONResponse({"credential": emu.gate.issue_temp_key()})
