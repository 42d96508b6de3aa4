"""ASGI middleware in front of the emulator: request ids, request counting and fault injection."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.routing import Match

from airflow_provider_modelarts.emulator.errors import (
    DOCUMENTED_CODES,
    INJECTED,
    INJECTED_MESSAGES,
    error_body,
    new_request_id,
)
from airflow_provider_modelarts.emulator.state import Emulator

API_ENDPOINTS_EXCLUDED_FROM_STAR = ("admin_", "console", "metadata_")
#: the emulator's own surfaces: they carry no signature, so only this machine may use them
LOCAL_SURFACES = ("admin_", "console", "metadata_")


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name (127.0.0.1.evil.example is one)
        return False


def _host_name(host_header: str) -> str:
    """``127.0.0.1:8080`` → ``127.0.0.1``; ``[::1]:8080`` → ``::1``."""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def local_surface_refusal(scope: dict, endpoint: str, metadata_service: bool) -> tuple[int, str, str] | None:
    """Why a request to an admin, console or metadata route is refused (status, code, message), or None.

    Like a real metadata service, which answers only its own instance, these answer only loopback clients; the
    ``Host`` header must name a loopback host too (a DNS-rebinding page reaches 127.0.0.1 under its own name);
    a browser ``Origin`` other than the emulator's own is refused (cross-site requests), and the admin API takes
    bodies as ``application/json`` only (a cross-site "simple" request cannot send that type)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    client = (scope.get("client") or ("",))[0]
    host = headers.get("host", "")
    if endpoint.startswith("metadata_") and not metadata_service:
        return 404, "Emulator.0404", "The instance metadata service is switched off."
    if not _is_loopback_host(client):
        return 403, "Emulator.0001", "Only reachable from this machine (loopback)."
    if not _is_loopback_host(_host_name(host)):
        return 403, "Emulator.0003", f"Unexpected Host header {host!r}: use 127.0.0.1, localhost or [::1]."
    origin = headers.get("origin")
    if origin is not None and not endpoint.startswith("metadata_") and origin != f"http://{host}":
        return 403, "Emulator.0004", f"Cross-site request from {origin!r} refused."
    if endpoint.startswith("admin_") and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return 415, "Emulator.0005", f"Expected Content-Type: application/json, got {content_type or 'none'!r}."
    return None


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
        endpoint = state["endpoint"] = self._endpoint(scope)
        self.emu.requests[endpoint] += 1
        if endpoint.startswith(LOCAL_SURFACES):
            refusal = local_surface_refusal(scope, endpoint, self.emu.settings.metadata_service)
            if refusal is not None:
                status, code, message = refusal
                await self._answer(send, status, error_body(status, code, message, "gateway", request_id),
                                   request_id)
                return
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        chunks: list[bytes] = []
        entry: dict[str, Any] | None = None
        # OBS bodies (files, parts) are not kept in the request log: they are data, not API conformance
        if endpoint != "unknown" and not endpoint.startswith(("admin_", "console", "obs_")):
            receive = self._recording(receive, chunks)
            entry = self.emu.record(endpoint, scope["method"], scope["path"], query, chunks)
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
                if entry is not None:
                    entry["status"] = message["status"]
            elif message["type"] == "http.response.body":
                self.emu.response_bytes[endpoint] += len(message.get("body", b""))
                if entry is not None and self.emu.settings.record_responses:
                    entry["response_chunks"].append(message.get("body", b""))
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

    @staticmethod
    def _recording(receive: Any, chunks: list[bytes]) -> Any:
        """``receive`` that also keeps the request body (for the request log the conformance tests read)."""
        async def recv() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        return recv

    async def _apply(self, fault: Any, scope: dict, send: Any, request_id: str) -> bool:
        """Apply a fault; True when it replaced the answer (OBS routes answer in OBS's XML)."""
        if fault.kind == "latency":
            await asyncio.sleep(fault.arg or 0)
            return False
        if fault.kind == "drop":
            transport = scope.get("state", {}).get("_transport")
            if transport is not None:
                transport.abort()
                return True
            return False
        if scope.get("state", {}).get("endpoint", "").startswith("obs_") and fault.kind != "code":
            from airflow_provider_modelarts import obs_api
            from airflow_provider_modelarts.emulator.routes_obs import error_response

            error = {429: obs_api.TOO_MANY_REQUESTS, 500: obs_api.INTERNAL_ERROR}.get(
                fault.status, obs_api.ObsError(fault.status, "ServiceUnavailable", INJECTED_MESSAGES[fault.status]))
            response = error_response(error, request_id, method=scope["method"])
            await response(scope, None, send)
            return True
        if fault.kind == "code":
            status, message = DOCUMENTED_CODES[fault.code]
            body = error_body(status, fault.code, message, "v2" if scope["path"].startswith("/v2/") else "v1",
                              request_id)
        else:
            status, code = INJECTED[fault.status]
            body = error_body(status, code, INJECTED_MESSAGES[fault.status],
                              "gateway" if code.startswith("APIG") else "v1", request_id)
        extra = [(b"retry-after", str(int(fault.arg)).encode())] if fault.status == 429 and fault.arg is not None \
            else []
        await self._answer(send, status, body, request_id, extra)
        return True

    @staticmethod
    async def _answer(send: Any, status: int, body: dict, request_id: str,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
        headers = [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode()), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
