"""SDK-HMAC-SHA256 request signing, as Huawei Cloud's API gateway checks it.

Pure functions over plain values (no HTTP library): the sync client, the async client and the emulator's
verifier all use this one module. The algorithm follows ``huaweicloudsdkcore``'s ``Signer.sign``
(``shared/modelarts-api.md`` §4.1) and reproduces the vectors of §4.2.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA = "X-Sdk-Content-Sha256"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
#: The gateway rejects an ``X-Sdk-Date`` further than this from its clock (signing guide).
MAX_CLOCK_SKEW_SECONDS = 15 * 60

QueryPairs = Iterable[tuple[str, Any]]


def encode(value: str) -> str:
    """Percent-encode with the RFC 3986 unreserved set, exactly as the SDK does."""
    return quote(value, safe="~")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def canonical_query_string(pairs: QueryPairs) -> str:
    """Sorted, encoded ``k=v`` pairs joined with ``&``; also the query string that must be sent.

    Like the SDK, pairs are sorted on their raw values (numbers as numbers), list values are sorted and
    emitted as repeated keys, booleans become ``true``/``false``.
    """
    items = [(k, sorted(v) if isinstance(v, (list, tuple)) else v) for k, v in pairs if v is not None]
    try:
        items.sort()
    except TypeError:  # values of mixed types under one key: fall back to their text
        items.sort(key=lambda kv: (kv[0], str(kv[1])))
    parts: list[str] = []
    for key, value in items:
        for single in value if isinstance(value, list) else [value]:
            parts.append(f"{encode(key)}={encode(_query_value(single))}")
    return "&".join(parts)


def canonical_uri(path: str) -> str:
    segments = [encode(seg) for seg in unquote(path).split("/")]
    uri = "/".join(segments)
    return uri if uri.endswith("/") else uri + "/"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers.items():
        if key.lower() == lname:
            return value
    return None


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    return sorted({k.lower() for k in headers if "_" not in k})


def payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    if not body:
        return EMPTY_HASH
    declared = _header(headers, HEADER_CONTENT_SHA)
    if declared:
        return declared
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    """Build the canonical request; ``query`` is an already canonical query string."""
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{lowered[name].strip()}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            query,
            canonical_headers,
            ";".join(signed_headers),
            payload_hash(headers, body),
        ]
    )


def compute_signature(secret_key: str, sdk_date: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def format_date(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).strftime(DATE_FORMAT)


def sign(
    *,
    method: str,
    host: str,
    path: str,
    query: QueryPairs = (),
    headers: Mapping[str, str] | None = None,
    body: bytes | str = b"",
    access_key: str,
    secret_key: str,
    now: datetime | None = None,
) -> tuple[dict[str, str], str]:
    """Sign one request.

    :param host: host[:port] exactly as it will be sent in the ``Host`` header.
    :param query: (key, value) pairs; lists become repeated keys.
    :return: the complete header dict to send (the given headers plus ``X-Sdk-Date``, ``Host`` when
        missing, ``X-Sdk-Content-Sha256`` for non-JSON bodies and ``Authorization``) and the canonical
        query string, which is what must be sent after ``?``.
    """
    if not access_key or not secret_key:
        raise ValueError("both an access key and a secret key are needed to sign a request")
    data = body.encode() if isinstance(body, str) else body
    out = dict(headers or {})
    content_type = out.get("Content-Type")
    if content_type and not content_type.startswith(("application/json", "application/bson")):
        out[HEADER_CONTENT_SHA] = "UNSIGNED-PAYLOAD"
    sdk_date = _header(out, HEADER_DATE)
    if sdk_date is None:
        sdk_date = format_date(now)
        out[HEADER_DATE] = sdk_date
    if _header(out, "Host") is None:
        out["Host"] = host
    names = signed_header_names(out)
    query_string = canonical_query_string(query)
    canonical = canonical_request(method, path, query_string, out, names, data)
    signature = compute_signature(secret_key, sdk_date, canonical)
    out["Authorization"] = f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return out, query_string


_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)


@dataclass(frozen=True)
class AuthorizationHeader:
    """A parsed ``Authorization: SDK-HMAC-SHA256 ...`` value."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str

    @classmethod
    def parse(cls, value: str | None) -> AuthorizationHeader | None:
        match = _AUTH_RE.match(value or "")
        if not match:
            return None
        return cls(match["access"], tuple(match["signed"].split(";")), match["signature"].lower())


class SignatureError(Exception):
    """Why a signed request was rejected (message in the gateway's wording)."""


def parse_date(sdk_date: str) -> datetime:
    return datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=timezone.utc)


def verify(
    *,
    method: str,
    path: str,
    query: QueryPairs,
    headers: Mapping[str, str],
    body: bytes,
    secret_key: str,
    auth: AuthorizationHeader,
    now: datetime | None = None,
) -> None:
    """Recompute the signature over exactly the headers listed in ``SignedHeaders``.

    :raises SignatureError: on a stale or missing date, a signed header that is absent, or a mismatch.
    """
    sdk_date = _header(headers, HEADER_DATE)
    if not sdk_date:
        raise SignatureError("verify aksk signature fail, X-Sdk-Date is missing")
    try:
        signed_at = parse_date(sdk_date)
    except ValueError:
        raise SignatureError("verify aksk signature fail, X-Sdk-Date is malformed") from None
    skew = abs(((now or datetime.now(timezone.utc)) - signed_at).total_seconds())
    if skew > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError("Signature expired: X-Sdk-Date is more than 15 minutes off the server clock")
    lowered = {k.lower(): v for k, v in headers.items()}
    names = list(auth.signed_headers)
    if "host" not in names or any(name not in lowered for name in names):
        raise SignatureError("verify aksk signature fail, a signed header is missing")
    canonical = canonical_request(method, path, canonical_query_string(query), headers, names, body)
    expected = compute_signature(secret_key, sdk_date, canonical)
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError("verify aksk signature fail")
