"""Credentials for the three ways in of the ModelArts SDK's ``Session``.

Acquiring credentials may take HTTP calls (an IAM token, the metadata service). Those are written once, as
generators that *yield* :class:`ApiRequest` objects and receive the successful :class:`RawResponse`; the
sync and async clients drive the same generator with their own transport. Acquired credentials are cached
per process, so a steady state makes no auth calls (AK/SK) or one per token lifetime (password).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_modelarts import signer
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsAuthError, ModelArtsConfigError
from airflow_provider_modelarts.hooks.connection import (
    ASYNC_CONFIGS,
    AUTH_AKSK,
    AUTH_ENV,
    AUTH_PASSWORD,
    ConnectionConfig,
)
from airflow_provider_modelarts.hooks.http import ApiRequest, RawResponse

Steps = Generator[ApiRequest, RawResponse, None]

ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"
ENV_SECURITY_TOKEN = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
ENV_PROJECT_ID = "HUAWEICLOUD_SDK_PROJECT_ID"
METADATA_TOKEN_PATH = "/meta-data/latest/api/token"
METADATA_SECURITYKEY_PATH = "/openstack/latest/securitykey"
#: huaweicloudsdkcore MetadataAccessor: a token PUT answering these means "no token API": read without a token
NO_TOKEN_API_STATUSES = (404, 405, 503)
AGENCY_ERROR = "Please configure Cloud Service Agency first"
#: Refresh temporary credentials when less than this remains (huaweicloudsdkcore: 40 minutes) …
REFRESH_MARGIN_SECONDS = 40 * 60
#: … or less than this share of their lifetime, for short-lived ones.
REFRESH_MARGIN_SHARE = 1 / 3

_cache_lock = threading.Lock()
_CACHE: dict[tuple, Any] = {}


#: fingerprints of the secrets this process has registered with the masker
_MASKED: set[str] = set()


def mask(*values: str | None) -> None:
    """Register secrets with Airflow's secrets masker, once per process (no-op outside Airflow): in a task or a
    trigger each registration is a round trip to the supervisor, and thousands of triggers share one."""
    try:
        from airflow.providers.common.compat.sdk import mask_secret
    except ImportError:  # pragma: no cover - very old compat
        return
    for value in values:
        if value and (key := fingerprint(value)) not in _MASKED:
            mask_secret(value)
            _MASKED.add(key)


def fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()[:16]


def parse_expiry(value: str) -> float:
    """``2019-02-13T06:52:13.855000Z`` → epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _needs_refresh(expires_at: float, issued_at: float, now: float) -> bool:
    margin = min(REFRESH_MARGIN_SECONDS, (expires_at - issued_at) * REFRESH_MARGIN_SHARE)
    return expires_at - now <= margin


@dataclass
class AkSk:
    """A (possibly temporary) access key pair."""

    access: str
    secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    issued_at: float = field(default_factory=time.time)


class Credentials:
    """Base class: ``refresh()`` steps, then ``authorize()`` each request."""

    auth_type = ""
    #: project id that came with the credentials (token scope, env), if any
    project_id: str | None = None

    def refresh(self) -> Steps:
        """Acquire or renew credentials if needed (yields requests to send, receives their responses)."""
        return
        yield  # pragma: no cover - makes this a generator

    def invalidate(self) -> bool:
        """Forget cached credentials after a 401; True if fetching new ones may help."""
        return False

    def authorize(
        self, *, method: str, host: str, path: str, query: Sequence[tuple[str, Any]], headers: Mapping[str, str], body: bytes
    ) -> tuple[dict[str, str], str]:
        raise NotImplementedError

    @property
    def identity(self) -> str:
        """A non-secret fingerprint of who we are (cache keys, lock-out guard)."""
        raise NotImplementedError

    # OBS signs with an access key pair of its own signature scheme: AK/SK and env credentials have one already;
    # password credentials exchange their IAM token for temporary keys.
    def obs_refresh(self) -> Steps:
        """Make :meth:`obs_keys` usable (yields requests like :meth:`refresh`)."""
        yield from self.refresh()

    def obs_keys(self) -> AkSk | None:
        return getattr(self, "keys", None)

    def invalidate_obs(self) -> bool:
        """Forget the OBS keys after OBS refused them; True if fetching new ones may help."""
        return self.invalidate()


class AkSkCredentials(Credentials):
    """Sign every request with SDK-HMAC-SHA256; add ``X-Security-Token`` for temporary keys."""

    auth_type = AUTH_AKSK

    def __init__(self, keys: AkSk | None = None) -> None:
        self.keys = keys

    def authorize(self, *, method, host, path, query, headers, body):
        if self.keys is None:
            raise ModelArtsAuthError("no access key available", operation="sign")
        out = dict(headers)
        if self.keys.security_token:
            out["X-Security-Token"] = self.keys.security_token
        return signer.sign(method=method, host=host, path=path, query=query, headers=out, body=body,
                           access_key=self.keys.access, secret_key=self.keys.secret)

    @property
    def identity(self) -> str:
        return fingerprint("aksk", self.keys.access if self.keys else None, self.keys.secret if self.keys else None)


class StaticAkSkCredentials(AkSkCredentials):
    def __init__(self, access: str, secret: str, security_token: str | None = None,
                 project_id: str | None = None) -> None:
        super().__init__(AkSk(access, secret, security_token))
        self.project_id = project_id


class PasswordCredentials(Credentials):
    """IAM user + password → a project-scoped token (``X-Auth-Token``), cached per process."""

    auth_type = AUTH_PASSWORD

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._key = ("token", config.iam_endpoint, config.domain_name, config.login, config.project_id or config.region,
                     fingerprint(config.secret))

    def _cached(self) -> dict | None:
        with _cache_lock:
            return _CACHE.get(self._key)

    @property
    def project_id(self) -> str | None:  # type: ignore[override]
        cached = self._cached()
        return cached["project_id"] if cached else None

    def refresh(self) -> Steps:
        cached = self._cached()
        if cached and not _needs_refresh(cached["expires_at"], cached["issued_at"], time.time()):
            return
        scope = {"id": self.config.project_id} if self.config.project_id else {"name": self.config.region}
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.config.login,
                            "password": self.config.secret,
                            "domain": {"name": self.config.domain_name},
                        }
                    },
                },
                "scope": {"project": scope},
            }
        }
        response = yield ApiRequest("POST", "/v3/auth/tokens", query=[("nocatalog", "true")], body=body, base="iam",
                                    authenticated=False, operation="get IAM token",
                                    headers={"Content-Type": "application/json;charset=utf8"})
        token = response.header("X-Subject-Token")
        data = response.json().get("token") or {}
        if not token or "expires_at" not in data:
            raise ModelArtsAuthError("IAM answered without X-Subject-Token or expires_at", http_status=response.status,
                                     operation="get IAM token")
        mask(token)
        project = (data.get("project") or {}).get("id")
        with _cache_lock:
            _CACHE[self._key] = {"token": token, "expires_at": parse_expiry(data["expires_at"]),
                                 "issued_at": time.time(), "project_id": project}

    def invalidate(self) -> bool:
        with _cache_lock:
            return _CACHE.pop(self._key, None) is not None

    #: IAM's limits for ``duration_seconds`` (IAM API "Obtaining a Temporary Access Key and Security Token
    #: Through a Token": 900 to 86,400 seconds; default 900)
    OBS_KEY_SECONDS = 900

    def obs_refresh(self) -> Steps:
        """The IAM token, then temporary AK/SK for it (``POST /v3.0/OS-CREDENTIAL/securitytokens``), cached per
        process until shortly before they expire."""
        yield from self.refresh()
        with _cache_lock:
            cached: AkSk | None = _CACHE.get(("obs",) + self._key)
        if cached and cached.expires_at and not _needs_refresh(cached.expires_at, cached.issued_at, time.time()):
            return
        body = {"auth": {"identity": {"methods": ["token"],
                                      "token": {"duration_seconds": self.OBS_KEY_SECONDS}}}}
        response = yield ApiRequest("POST", "/v3.0/OS-CREDENTIAL/securitytokens", body=body, base="iam",
                                    idempotent=True, operation="get temporary AK/SK for OBS")
        credential = response.json().get("credential") or {}
        try:
            keys = AkSk(credential["access"], credential["secret"], credential["securitytoken"],
                        parse_expiry(credential["expires_at"]))
        except (KeyError, ValueError):
            raise ModelArtsAuthError("IAM answered without a usable temporary credential", http_status=response.status,
                                     operation="get temporary AK/SK for OBS") from None
        mask(keys.secret, keys.security_token)
        with _cache_lock:
            _CACHE[("obs",) + self._key] = keys

    def obs_keys(self) -> AkSk | None:
        with _cache_lock:
            return _CACHE.get(("obs",) + self._key)

    def invalidate_obs(self) -> bool:
        with _cache_lock:
            return _CACHE.pop(("obs",) + self._key, None) is not None

    def authorize(self, *, method, host, path, query, headers, body):
        cached = self._cached()
        if not cached:
            raise ModelArtsAuthError("no IAM token available", operation="authorize")
        out = dict(headers)
        out["X-Auth-Token"] = cached["token"]
        out.setdefault("Host", host)
        return out, signer.canonical_query_string(query)

    @property
    def identity(self) -> str:
        return fingerprint(*map(str, self._key))


class EnvCredentials(AkSkCredentials):
    """The no-argument ``Session()``: environment variables, then the instance metadata service (§4.5)."""

    auth_type = AUTH_ENV

    def __init__(self, config: ConnectionConfig) -> None:
        super().__init__(None)
        self.config = config
        self._key = ("metadata", config.metadata_endpoint)
        ak, sk = os.environ.get(ENV_AK), os.environ.get(ENV_SK)
        if ak and sk:
            token = os.environ.get(ENV_SECURITY_TOKEN) or None
            mask(sk, token)
            self.keys = AkSk(ak, sk, token)
            self.project_id = os.environ.get(ENV_PROJECT_ID) or None
            self.source = "environment"
        else:
            self.source = "metadata"

    def refresh(self) -> Steps:
        if self.source == "environment":
            return
        with _cache_lock:
            cached: AkSk | None = _CACHE.get(self._key)
        if cached and cached.expires_at and not _needs_refresh(cached.expires_at, cached.issued_at, time.time()):
            self.keys = cached
            return
        tried = (f"environment variables {ENV_AK}/{ENV_SK} (not set), then the metadata service at "
                 f"{self.config.metadata_endpoint}")

        # what huaweicloudsdkcore's MetadataAccessor does: a session token when the service has the token API
        # (PUT answering 404/405/503 means it has none: ask without one), and once more with a fresh token when
        # the token-less read is refused with 401 for another reason than a missing agency
        try:
            token = yield from self._metadata_token(required=False)
            try:
                key_response = yield self._securitykey_request(token)
            except ModelArtsAuthError as err:
                if token is not None or err.http_status != 401 or AGENCY_ERROR in err.message:
                    raise
                key_response = yield self._securitykey_request((yield from self._metadata_token(required=True)))
        except Exception as err:
            detail = err.message if isinstance(err, ModelArtsApiError) else f"{type(err).__name__}: {err}"
            raise ModelArtsConfigError(f"Connection {self.config.conn_id!r}: no credentials found; tried {tried}: "
                                       f"{detail}") from None
        credential = key_response.json().get("credential") or {}
        try:
            keys = AkSk(credential["access"], credential["secret"], credential.get("securitytoken"),
                        parse_expiry(credential["expires_at"]))
        except (KeyError, ValueError):
            raise ModelArtsConfigError(f"Connection {self.config.conn_id!r}: the metadata service returned no "
                                       "usable temporary credential") from None
        mask(keys.secret, keys.security_token)
        with _cache_lock:
            _CACHE[self._key] = keys
        self.keys = keys

    @staticmethod
    def _metadata_token(*, required: bool) -> Steps:
        """The metadata session token, or None when the service has no token API (and it is not required)."""
        try:
            response = yield ApiRequest("PUT", METADATA_TOKEN_PATH, base="metadata", authenticated=False,
                                        idempotent=False, operation="metadata token",
                                        headers={"X-Metadata-Token-Ttl-Seconds": "21600"})
        except ModelArtsApiError as err:
            if required or err.http_status not in NO_TOKEN_API_STATUSES:
                raise
            return None
        return response.body.decode().strip()

    @staticmethod
    def _securitykey_request(token: str | None) -> ApiRequest:
        return ApiRequest("GET", METADATA_SECURITYKEY_PATH, base="metadata", authenticated=False,
                          operation="metadata securitykey", headers={"X-Metadata-Token": token} if token else {})

    def invalidate(self) -> bool:
        if self.source == "environment":
            return False
        with _cache_lock:
            return _CACHE.pop(self._key, None) is not None


def credentials_for(config: ConnectionConfig) -> Credentials:
    if config.auth_type == AUTH_AKSK:
        return StaticAkSkCredentials(config.login or "", config.secret or "", config.security_token)
    if config.auth_type == AUTH_PASSWORD:
        return PasswordCredentials(config)
    return EnvCredentials(config)


def cached_project_id(key: tuple) -> str | None:
    with _cache_lock:
        return _CACHE.get(("project",) + key)


def cache_project_id(key: tuple, project_id: str) -> None:
    with _cache_lock:
        _CACHE[("project",) + key] = project_id


def clear_caches() -> None:
    """Forget every cached token, temporary key, project id, shared connection config and registered secret
    (tests, key rotation)."""
    with _cache_lock:
        _CACHE.clear()
    _MASKED.clear()
    ASYNC_CONFIGS.clear()
