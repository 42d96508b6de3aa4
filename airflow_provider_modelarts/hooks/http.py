"""Transport-neutral HTTP pieces: request/response values, error parsing, the one retry predicate.

The sync (``requests``) and async (``httpx``) senders in :mod:`.client` only move bytes; every decision —
is this an error, which exception, retry or not, how long to wait — is made here, once.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
)

# Error-code tables: the OTC API reference appendix "Error Codes" (opentelekomcloud-docs/modelarts,
# api-ref/source/appendix/error_codes.rst), which gives each code its HTTP status. See docs/api-fidelity.md.
#: "throttled, try again later": documented with HTTP 429 (6101, 4206, 2799, 4395); APIG.0308 is the gateway's.
THROTTLING_CODES = frozenset({"APIG.0308", "ModelArts.6101", "ModelArts.4206", "ModelArts.2799", "ModelArts.4395"})
#: transient backend trouble: 6100 (HTTP 408, "request timed out"), 4302 (HTTP 500, gateway forwarding error).
#: 4700 (task does not exist), 4205 (subdirectory required) and 4503 (DLI agency) are permanent 400s: not here.
TRANSIENT_CODES = frozenset({"ModelArts.6100", "ModelArts.4302"})
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: "this job/version does not exist": 2775 TrainingJobNotFound (v2, HTTP 400). ModelArts.0102 is "the workspace
#: does not exist" — a configuration error, not a missing job — so it is not here.
NOT_FOUND_CODES = frozenset({"ModelArts.2775"})


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request, before authentication.

    :param base: ``modelarts``, ``iam``, ``metadata`` or ``obs`` — which endpoint the path is relative to.
        An ``obs`` request names its ``bucket`` and object ``key`` instead of a path (the addressing style and
        the signature depend on both).
    :param idempotent: may be repeated after a 5xx, a timeout or a dropped connection.
    :param authenticated: sign it / add the token (False for the IAM token call itself).
    """

    method: str
    path: str
    query: Sequence[tuple[str, Any]] = ()
    body: Any = None
    base: str = "modelarts"
    idempotent: bool = True
    authenticated: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    operation: str = ""
    bucket: str | None = None
    key: str | None = None

    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lname:
                return value
        return None

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)


def _error_fields(body: Any) -> tuple[str | None, str | None]:
    """Find (error_code, message) in the spellings Huawei uses, also nested one level down."""
    if not isinstance(body, dict):
        return None, None
    for code_key, msg_keys in (("error_code", ("error_msg", "error_message")), ("code", ("message",))):
        if body.get(code_key) is not None or any(body.get(k) for k in msg_keys):
            message = next((body[k] for k in msg_keys if body.get(k)), None)
            return (str(body[code_key]) if body.get(code_key) is not None else None), message
    for value in body.values():
        if isinstance(value, dict):
            code, message = _error_fields(value)
            if code or message:
                return code, message
    return None, None


def _xml_error_fields(raw: bytes) -> tuple[str | None, str | None, str | None]:
    """OBS's ``<Error><Code/><Message/><RequestId/></Error>`` (OTC object-storage-service error_codes.rst)."""
    if not raw.lstrip().startswith(b"<"):
        return None, None, None
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        return None, None, None
    fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in root}
    return fields.get("Code") or None, fields.get("Message") or None, fields.get("RequestId") or None


def error_for(response: RawResponse, *, operation: str = "", auth_type: str | None = None,
              base: str = "modelarts") -> ModelArtsApiError | None:
    """The exception a response stands for, or None when it is a success.

    ``is_success: false`` on HTTP 200 is an error too (v1 envelope). OBS answers errors in XML.
    """
    if base == "obs":
        if response.status < 300:
            return None
        code, message, request_id = _xml_error_fields(response.body)
        request_id = request_id or response.header("x-obs-request-id")
        kwargs = {"http_status": response.status, "error_code": code, "request_id": request_id,
                  "operation": operation}
        message = message or f"HTTP {response.status} without an error body"
        if response.status in (401, 403):
            if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
                message += " — check the AK/SK (and this machine's clock: OBS refuses dates more than 15 minutes off)"
            return ModelArtsAuthError(message, **kwargs)
        if response.status == 404:
            return ModelArtsNotFoundError(message, **kwargs)
        return ModelArtsApiError(message, **kwargs)
    if response.status < 400 and b'"is_success"' not in response.body:
        return None  # a success without the v1 envelope's flag: no need to parse it here (the caller does)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status < 400 and not (isinstance(body, dict) and body.get("is_success") is False):
        return None
    code, message = _error_fields(body)
    if message is None:
        message = response.body[:200].decode("utf-8", "replace") or "no error message in the response"
    request_id = response.header("X-Request-Id") or (body.get("request_id") if isinstance(body, dict) else None)
    status = response.status
    kwargs = {"http_status": status, "error_code": code, "request_id": request_id, "operation": operation}
    if status in (401, 403) or (code or "").startswith(("APIG.03", "ModelArts.02")):
        if auth_type == "aksk" and status == 401:
            message += (
                " — check the AK/SK; AK/SK signatures are rejected when this machine's clock is more than"
                " 15 minutes off, and Huawei locks an AK after more than 5 consecutive bad signatures"
            )
        return ModelArtsAuthError(message, **kwargs)
    if status == 404 or code in NOT_FOUND_CODES:
        return ModelArtsNotFoundError(message, **kwargs)
    return ModelArtsApiError(message, **kwargs)


def is_retryable(*, request: ApiRequest, error: ModelArtsApiError | None = None, connect_failed: bool = False,
                 transport_failed: bool = False) -> bool:
    """The one retry predicate.

    - Throttling (429 or a throttling code): retried for every request — the gateway did nothing.
    - 5xx / 408 / transient codes, read timeouts, dropped connections: retried for idempotent requests only.
      A create POST is never repeated blindly: the caller looks the job up by name first.
    - A connection that never opened: retried for every request (nothing was sent).
    - Everything else, including every 401/403: not retried here.
    """
    if connect_failed:
        return True
    if transport_failed:
        return request.idempotent
    if error is None:
        return False
    if error.http_status == 429 or error.error_code in THROTTLING_CODES:
        return True
    if error.http_status in RETRYABLE_STATUSES or error.error_code in TRANSIENT_CODES:
        return request.idempotent
    return False


def is_outage(error: ModelArtsApiError) -> bool:
    """The service did not answer, or answered that it cannot right now (5xx, 408, 429, transient codes): a wait
    rides this out (see :class:`airflow_provider_modelarts.waiting.Outage`); 4xx answers are real."""
    if isinstance(error, ModelArtsAuthError):
        return False
    return (error.http_status == 0 or error.http_status in RETRYABLE_STATUSES
            or error.error_code in TRANSIENT_CODES or error.error_code in THROTTLING_CODES)


def retry_after_seconds(response: RawResponse | None) -> float | None:
    if response is None:
        return None
    value = response.header("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def backoff_delay(attempt: int, *, base: float, maximum: float, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Exponential backoff with equal jitter; a server's ``Retry-After`` wins when it is longer."""
    ceiling = min(maximum, base * (2**attempt))
    delay = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, maximum))
    return delay
