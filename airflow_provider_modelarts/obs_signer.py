"""OBS's request signatures, as pure functions: its own (``Authorization: OBS AK:Signature``, ``x-obs-*``
headers) and the S3-compatible one (``Authorization: AWS AK:Signature``, ``x-amz-*`` headers) — the same
algorithm with another prefix, which the official esdk-obs-python uses for path-style endpoints.

The one implementation shared by the OBS hook (signing, OBS flavour) and the emulator's OBS endpoint
(verifying either flavour).

Source: OBS API reference, "Authentication of Signature in a Header" (support.huaweicloud.com api-obs
obs_04_0010; OTC copy: opentelekomcloud-docs/object-storage-service,
api-ref/source/calling_apis/authentication/authentication_of_signature_in_a_header.rst)::

    StringToSign = HTTP-Verb + "\\n" + Content-MD5 + "\\n" + Content-Type + "\\n" + Date + "\\n"
                   + CanonicalizedHeaders + CanonicalizedResource
    Signature    = Base64(HMAC-SHA1(SK, UTF-8(StringToSign)))

Details the page leaves open are taken from the official ``esdk-obs-python`` (``obs/auth.py``
``Authentication``), which the tests use as the oracle: ``x-obs-meta-*`` values are stripped, other ``x-obs-*``
values are not; the object key in the resource is percent-encoded with ``/`` and ``~`` kept; a sub-resource's
name is included with its raw value; a path-style bucket request's resource is ``/bucket`` and a virtual-hosted
one's ``/bucket/``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

#: the sub-resources that belong to the CanonicalizedResource (the page's list, lower-cased; the esdk's
#: ``ALLOWED_RESOURCE_PARAMTER_NAMES`` is a superset); every ``x-obs-*`` query parameter counts too
SUB_RESOURCES = frozenset({
    "acl", "attname", "cors", "customdomain", "delete", "deletebucket", "encryption", "inventory", "length",
    "lifecycle", "location", "logging", "metadata", "modify", "name", "notification", "partnumber", "policy",
    "position", "quota", "rename", "replication", "requestpayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "storageclass", "storagepolicy", "storageinfo",
    "tagging", "torrent", "truncate", "uploadid", "uploads", "versionid", "versioning", "versions", "website",
    "object-lock", "retention", "x-obs-security-token",
})


@dataclass(frozen=True)
class Flavor:
    """Which of the two header-signature schemes: its ``Authorization`` prefix and its header prefix."""

    auth_prefix: str
    header_prefix: str

    @property
    def meta_prefix(self) -> str:
        return self.header_prefix + "meta-"

    @property
    def security_token_header(self) -> str:
        return self.header_prefix + "security-token"


OBS = Flavor("OBS", "x-obs-")
#: OBS's S3-compatible API (OTC doc/s3api "Authentication"): the AWS signature version 2 scheme
S3 = Flavor("AWS", "x-amz-")
FLAVORS = (OBS, S3)
#: "the time differs from the server's by more than 15 minutes: the server returns 403" (same page, Date row)
MAX_SKEW_SECONDS = 15 * 60


class ObsSignatureError(ValueError):
    """A request's OBS signature does not verify (the message says why, never the secret)."""


def quote_key(key: str) -> str:
    """An object key as it appears in the URL path and the CanonicalizedResource."""
    return quote(key, safe="/~")


def http_date(when: float | None = None) -> str:
    """RFC 1123 date for the ``Date`` header."""
    return email.utils.formatdate(time.time() if when is None else when, usegmt=True)


def canonical_resource(bucket: str | None, key: str | None, query: Iterable[tuple[str, str | None]] = (), *,
                       path_style: bool, flavor: Flavor = OBS) -> str:
    """``/bucket/key`` plus the sorted sub-resources (``?partNumber=1&uploadId=…``)."""
    resource = ""
    if bucket:
        resource = "/" + bucket + ("" if path_style else "/")
    if key:
        if not resource.endswith("/"):
            resource += "/"
        resource += quote_key(key)
    resource = resource or "/"
    subs = sorted((name, value) for name, value in query
                  if name.lower() in SUB_RESOURCES or name.lower().startswith(flavor.header_prefix))
    if subs:
        resource += "?" + "&".join(quote(name, safe="/") + ("" if value is None else f"={value}")
                                   for name, value in subs)
    return resource


def string_to_sign(method: str, resource: str, headers: Mapping[str, str], flavor: Flavor = OBS) -> str:
    interesting: dict[str, str] = {}
    for name, value in headers.items():
        lname = name.lower()
        if lname in ("content-type", "content-md5", "date") or lname.startswith(flavor.header_prefix):
            interesting[lname] = value
    if flavor.header_prefix + "date" in interesting:
        interesting["date"] = ""
    interesting.setdefault("content-type", "")
    interesting.setdefault("content-md5", "")
    interesting.setdefault("date", "")
    lines = [method.upper()]
    for name in sorted(interesting):
        value = interesting[name]
        if name.startswith(flavor.meta_prefix):
            lines.append(f"{name}:{value.strip()}")
        elif name.startswith(flavor.header_prefix):
            lines.append(f"{name}:{value}")
        else:
            lines.append(value)
    return "\n".join(lines) + "\n" + resource


def signature(secret_key: str, text: str) -> str:
    digest = hmac.new(secret_key.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign(*, method: str, bucket: str | None, key: str | None, query: Iterable[tuple[str, str | None]],
         headers: Mapping[str, str], access_key: str, secret_key: str, path_style: bool,
         flavor: Flavor = OBS) -> dict[str, str]:
    """``headers`` plus ``Authorization`` (and ``Date`` when neither it nor ``x-obs-date`` is set)."""
    query = list(query)
    out = dict(headers)
    if not any(n.lower() in ("date", flavor.header_prefix + "date") for n in out):
        out["Date"] = http_date()
    text = string_to_sign(method, canonical_resource(bucket, key, query, path_style=path_style, flavor=flavor),
                          out, flavor)
    out["Authorization"] = f"{flavor.auth_prefix} {access_key}:{signature(secret_key, text)}"
    return out


@dataclass(frozen=True)
class ObsAuthorization:
    access_key: str
    signature: str
    flavor: Flavor = OBS

    @classmethod
    def parse(cls, value: str | None) -> ObsAuthorization | None:
        for flavor in FLAVORS:
            prefix = flavor.auth_prefix + " "
            if value and value.startswith(prefix) and ":" in value:
                access, _, sig = value[len(prefix):].strip().rpartition(":")
                return cls(access, sig, flavor) if access and sig else None
        return None


def verify(*, method: str, bucket: str | None, key: str | None, query: Iterable[tuple[str, str | None]],
           headers: Mapping[str, str], secret_key: str, auth: ObsAuthorization, path_style: bool,
           now: float | None = None) -> None:
    """Raise :class:`ObsSignatureError` unless the request was signed with ``secret_key`` within the skew."""
    query = list(query)
    flavor = auth.flavor
    lowered = {k.lower(): v for k, v in headers.items()}
    date = lowered.get(flavor.header_prefix + "date") or lowered.get("date")
    if not date:
        raise ObsSignatureError(f"the request carries neither a Date nor an {flavor.header_prefix}date header")
    parsed = email.utils.parsedate_to_datetime(date) if _parsable(date) else None
    if parsed is None:
        raise ObsSignatureError(f"the date header {date!r} is not an RFC 1123 date")
    if abs(parsed.timestamp() - (time.time() if now is None else now)) > MAX_SKEW_SECONDS:
        raise ObsSignatureError("RequestTimeTooSkewed")
    text = string_to_sign(method, canonical_resource(bucket, key, query, path_style=path_style, flavor=flavor),
                          headers, flavor)
    if not hmac.compare_digest(signature(secret_key, text), auth.signature):
        raise ObsSignatureError("SignatureDoesNotMatch")


def _parsable(date: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(date) is not None
    except (TypeError, ValueError):
        return False
