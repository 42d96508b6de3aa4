"""Error codes, HTTP statuses and body shapes the emulator answers with — in one place, easy to change.

Entries marked [inference] follow ``shared/modelarts-api.md`` where the public docs leave a gap.
"""

from __future__ import annotations

import uuid
from typing import Any

# (http status, error code) per situation.
DUPLICATE_NAME = (400, "ModelArts.0103")  # status [inference]: "400 is a fair guess" (§2.13)
INVALID_ARGUMENT = (400, "ModelArts.0104")
BUCKET_ROOT = (400, "ModelArts.2606")
ILLEGAL_OBS_PATH = (400, "ModelArts.2608")
DATASET_NOT_FOUND = (400, "ModelArts.0901")
NOT_FOUND = (404, "ModelArts.0015")  # job / version / log file unknown [inference: the generic 404 code]
NOT_RUNNING = (400, "ModelArts.6357")  # stop a version that is not running [inference]
AUTH_FAILED = (401, "APIG.0301")  # status [inference] (§5)
TOKEN_NO_PROJECT = (401, "ModelArts.0212")
PROJECT_MISMATCH = (403, "ModelArts.0210")
THROTTLED = (429, "APIG.0308")
INTERNAL = (500, "ModelArts.0010")
# Injected 5xx answers come from the API gateway: its codes [inference: APIG's user-guide error table, "Backend
# unavailable" 502 and "Backend timeout" 504; no ModelArts code is documented for 503/504 — 4700 and 4503,
# used here before, are documented permanent 400s]
BAD_GATEWAY = (502, "APIG.0202")
UNAVAILABLE = (503, "APIG.0202")
GATEWAY_TIMEOUT = (504, "APIG.0203")

#: Error codes the fault language can inject by name, with the HTTP status and message the OTC API reference's
#: "Error Codes" appendix gives them (opentelekomcloud-docs/modelarts api-ref/source/appendix/error_codes.rst).
DOCUMENTED_CODES = {
    "ModelArts.2818": (400, "the log file is not generated"),
    "ModelArts.2819": (400, "the log file has been cleared"),
    "ModelArts.2820": (400, "the log storage path cannot be found"),
    "ModelArts.2822": (400, "The log export path is not set."),
    "ModelArts.2764": (400, "Invalid query parameter (%s)."),
    "ModelArts.2788": (400, "Invalid parameter(%s)."),
}

INJECTED = {429: THROTTLED, 500: INTERNAL, 502: BAD_GATEWAY, 503: UNAVAILABLE, 504: GATEWAY_TIMEOUT}
INJECTED_MESSAGES = {
    429: "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
    500: "Internal error.",
    502: "Backend unavailable.",
    503: "Backend unavailable.",
    504: "Backend timeout.",
}


class EmulatorError(Exception):
    """An error answer. ``style``: ``v1`` (is_success envelope), ``v2`` (error_msg/error_code/error_solution),
    ``gateway`` (APIG), ``iam`` (keystone)."""

    def __init__(self, status_code: tuple[int, str], message: str, *, style: str = "v1",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status_code
        self.message = message
        self.style = style
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message, self.style, request_id)


def error_body(status: int, code: str, message: str, style: str, request_id: str) -> dict[str, Any]:
    if style == "iam":
        return {"error": {"code": status, "message": message, "title": _TITLES.get(status, "Error")}}
    if style == "v2":
        return {"error_msg": message, "error_code": code, "error_solution": _SOLUTIONS.get(code, "")}
    if style == "gateway" or code.startswith("APIG."):
        return {"error_code": code, "error_msg": message, "request_id": request_id}
    # v1 training API: the API reference spells the message field error_message (§2.2)
    return {"is_success": False, "error_code": code, "error_message": message}


def new_request_id() -> str:
    return uuid.uuid4().hex


_SOLUTIONS = {"ModelArts.2751": "Use another job name.", "ModelArts.2775": "Check the training job ID."}
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
