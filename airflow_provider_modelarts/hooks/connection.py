"""Airflow connection → validated :class:`ConnectionConfig`.

Validation happens when the connection is loaded and raises one :class:`ModelArtsConfigError` naming the
connection id and the field. Secrets are kept out of ``repr`` and out of every message.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.hooks.defaults import (  # noqa: F401 (re-exported: the connection's vocabulary)
    API_VERSIONS,
    AUTH_AKSK,
    AUTH_ENV,
    AUTH_PASSWORD,
    AUTH_TYPES,
    DEFAULT_API_VERSION,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_METADATA_ENDPOINT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_RETRY_MAX_DELAY,
)

# Endpoints that do not follow https://modelarts.{region}.myhuaweicloud.com (shared/modelarts-api.md §1).
_MODELARTS_ENDPOINT_EXCEPTIONS = {"ap-southeast-1": "https://modelarts.ap-southeast-1.myhuaweicloud.cn"}

KNOWN_EXTRAS = {
    "region",
    "project_id",
    "auth_type",
    "domain_name",
    "security_token",
    "modelarts_endpoint",
    "iam_endpoint",
    "metadata_endpoint",
    "verify",
    "timeout",
    "connect_timeout",
    "max_retries",
    "retry_backoff",
    "retry_max_delay",
    "console_url",
    "api_version",
    "obs_endpoint",
    "obs_path_style",
}


def default_modelarts_endpoint(region: str) -> str:
    return _MODELARTS_ENDPOINT_EXCEPTIONS.get(region, f"https://modelarts.{region}.myhuaweicloud.com")


#: Regions with their own IAM endpoint (huaweicloudsdkcore.auth.endpoint, 3.1.219); every other region uses the
#: global https://iam.myhuaweicloud.com, as the SDK does (IamHelper.DEFAULT_ENDPOINT)
REGIONAL_IAM = frozenset({
    "cn-north-1", "cn-north-2", "cn-north-4", "cn-north-9", "cn-north-12", "cn-east-2", "cn-east-3", "cn-east-4",
    "cn-east-5", "cn-south-1", "cn-south-2", "cn-southwest-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "af-south-1", "sa-brazil-1", "la-south-2", "la-north-2", "na-mexico-1", "eu-west-0",
    "my-kualalumpur-1", "ru-moscow-1", "me-east-1", "ae-ad-1", "tr-west-1",
})
GLOBAL_IAM = "https://iam.myhuaweicloud.com"


def default_obs_endpoint(region: str) -> str:
    """OBS's regional endpoint (OBS API reference, "Endpoints": ``obs.{region}.myhuaweicloud.com``)."""
    return f"https://obs.{region}.myhuaweicloud.com"


def default_iam_endpoint(region: str) -> str:
    if os.environ.get("HUAWEICLOUD_SDK_IAM_ENDPOINT"):
        return os.environ["HUAWEICLOUD_SDK_IAM_ENDPOINT"]
    return f"https://iam.{region}.myhuaweicloud.com" if region in REGIONAL_IAM else GLOBAL_IAM


@dataclass(frozen=True)
class ConnectionConfig:
    """Everything the hook needs from an Airflow connection of type ``modelarts``.

    :param conn_id: the Airflow connection id (used in error messages).
    :param auth_type: ``aksk``, ``password`` or ``env``.
    :param region: Huawei Cloud region id, e.g. ``cn-north-4``.
    :param login: AK (aksk) or IAM user name (password).
    :param secret: SK (aksk) or IAM password (password).
    """

    conn_id: str
    auth_type: str
    region: str
    login: str | None = None
    secret: str | None = field(default=None, repr=False)
    project_id: str | None = None
    domain_name: str | None = None
    security_token: str | None = field(default=None, repr=False)
    modelarts_endpoint: str = ""
    iam_endpoint: str = ""
    metadata_endpoint: str = DEFAULT_METADATA_ENDPOINT
    verify: bool | str = True
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY
    console_url: str | None = None
    api_version: str = DEFAULT_API_VERSION
    obs_endpoint: str = ""
    #: None: path-style for an IP address or ``localhost`` endpoint, virtual-hosted (``bucket.obs.…``) otherwise
    obs_path_style: bool | None = None

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.secret, self.security_token) if s]

    @classmethod
    def from_connection(cls, conn: Any) -> ConnectionConfig:
        """Build from an Airflow ``Connection`` (SDK or ORM; only attributes are read)."""
        conn_id = getattr(conn, "conn_id", None) or "<unnamed>"
        return cls.from_values(
            conn_id=conn_id,
            login=getattr(conn, "login", None),
            password=getattr(conn, "password", None),
            extra=getattr(conn, "extra", None),
        )

    @classmethod
    def from_values(
        cls, *, conn_id: str, login: str | None, password: str | None, extra: str | dict | None
    ) -> ConnectionConfig:
        def fail(field_name: str, expected: str) -> ModelArtsConfigError:
            return ModelArtsConfigError(f"Connection {conn_id!r}: field {field_name!r}: {expected}")

        extras = _parse_extra(extra, fail)
        unknown = sorted(set(extras) - KNOWN_EXTRAS)
        if unknown:
            raise fail(unknown[0], f"unknown extra field; known fields are {', '.join(sorted(KNOWN_EXTRAS))}")

        def text(name: str) -> str | None:
            value = extras.get(name)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise fail(name, f"expected a string, got {type(value).__name__}")
            return value.strip()

        def number(name: str, default: float, *, minimum: float = 0.0, integer: bool = False) -> Any:
            value = extras.get(name)
            if value is None or value == "":
                return default
            try:
                parsed = int(value) if integer else float(value)
            except (TypeError, ValueError):
                raise fail(name, f"expected a number, got {value!r}") from None
            if isinstance(value, bool) or not math.isfinite(parsed) or parsed < minimum:
                raise fail(name, f"expected a finite number >= {minimum}, got {value!r}")
            return parsed

        region = text("region")
        if not region:
            raise fail("region", "required (the Huawei Cloud region id, e.g. 'cn-north-4')")
        if not REGION_RE.match(region):  # it becomes part of host names
            raise fail("region", f"expected a region id like 'cn-north-4' (lower-case letters, digits, '-'), got "
                                 f"{region!r}")
        login = login or None
        password = password or None
        domain_name = text("domain_name")
        auth_type = text("auth_type")
        if auth_type is None:
            auth_type = infer_auth_type(login=login, password=password, domain_name=domain_name)
        auth_type = auth_type.lower()
        if auth_type not in AUTH_TYPES:
            raise fail("auth_type", f"expected one of {', '.join(AUTH_TYPES)}, got {auth_type!r}")
        if auth_type == AUTH_AKSK and not (login and password):
            raise fail("login/password", "auth_type 'aksk' needs the access key (AK) as login and the secret key (SK) as password")
        if auth_type == AUTH_PASSWORD:
            if not (login and password):
                raise fail("login/password", "auth_type 'password' needs the IAM user name as login and its password")
            if not domain_name:
                domain_name = login  # an account's main user: user name = account (domain) name
        verify_raw = extras.get("verify", True)
        if isinstance(verify_raw, str) and verify_raw.strip().lower() in ("true", "false"):
            verify_raw = verify_raw.strip().lower() == "true"
        if isinstance(verify_raw, str) and not os.path.exists(verify_raw):
            raise fail("verify", f"expected true, false or the path of a CA bundle that exists, got {verify_raw!r}")
        if not isinstance(verify_raw, (bool, str)):
            raise fail("verify", "expected true, false or a CA bundle path")
        api_version = (text("api_version") or DEFAULT_API_VERSION).lower()
        if api_version not in API_VERSIONS:
            raise fail("api_version", f"expected one of {', '.join(API_VERSIONS)}, got {api_version!r}")
        endpoint = text("modelarts_endpoint") or default_modelarts_endpoint(region)
        iam = text("iam_endpoint") or default_iam_endpoint(region)
        obs = text("obs_endpoint") or default_obs_endpoint(region)
        path_style_raw = extras.get("obs_path_style")
        if isinstance(path_style_raw, str) and path_style_raw.strip().lower() in ("true", "false", ""):
            path_style_raw = {"true": True, "false": False, "": None}[path_style_raw.strip().lower()]
        if path_style_raw is not None and not isinstance(path_style_raw, bool):
            raise fail("obs_path_style", f"expected true or false, got {path_style_raw!r}")
        for name, url in (("modelarts_endpoint", endpoint), ("iam_endpoint", iam), ("obs_endpoint", obs)):
            if not url.startswith(("http://", "https://")):
                raise fail(name, f"expected an http(s) URL, got {url!r}")
        return cls(
            conn_id=conn_id,
            auth_type=auth_type,
            region=region,
            login=login,
            secret=password,
            project_id=text("project_id"),
            domain_name=domain_name,
            security_token=text("security_token"),
            modelarts_endpoint=endpoint.rstrip("/"),
            iam_endpoint=iam.rstrip("/"),
            metadata_endpoint=(text("metadata_endpoint") or DEFAULT_METADATA_ENDPOINT).rstrip("/"),
            verify=verify_raw,
            connect_timeout=number("connect_timeout", DEFAULT_CONNECT_TIMEOUT, minimum=0.1),
            read_timeout=number("timeout", DEFAULT_READ_TIMEOUT, minimum=0.1),
            max_retries=number("max_retries", DEFAULT_MAX_RETRIES, integer=True),
            retry_backoff=number("retry_backoff", DEFAULT_RETRY_BACKOFF),
            retry_max_delay=number("retry_max_delay", DEFAULT_RETRY_MAX_DELAY),
            console_url=text("console_url"),
            api_version=api_version,
            obs_endpoint=obs.rstrip("/"),
            obs_path_style=path_style_raw,
        )


#: a region id: it is put into endpoint host names (``modelarts.{region}.myhuaweicloud.com``)
REGION_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def infer_auth_type(*, login: str | None, password: str | None, domain_name: str | None) -> str:
    """``domain_name`` set → password; login and password set → aksk; nothing → env."""
    if domain_name:
        return AUTH_PASSWORD
    if login or password:
        return AUTH_AKSK
    return AUTH_ENV


def _parse_extra(extra: str | dict | None, fail: Any) -> dict[str, Any]:
    if extra is None or extra == "":
        return {}
    if isinstance(extra, dict):
        return dict(extra)
    try:
        parsed = json.loads(extra)
    except ValueError as err:
        raise fail("extra", f"expected a JSON object ({err.msg} at position {err.pos})") from None
    if not isinstance(parsed, dict):
        raise fail("extra", f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


#: seconds a connection fetched for async use serves the async hooks that start after it in the same process
ASYNC_CONFIG_TTL = 30.0


class SharedConfigs:
    """Connection configs fetched by async hooks, shared by the hooks of one process for ``ttl`` seconds.

    Thousands of triggers start together in one triggerer, each with a hook for the same connection; every
    connection fetch and secret mask is a round trip through the triggerer's supervisor. One fetch per
    connection id is in flight at a time and serves every hook waiting for it; a failed fetch is not kept. A
    connection edited in Airflow reaches the triggers that start ``ttl`` seconds later at the latest (running
    triggers keep the client they started with, as before).
    """

    def __init__(self, ttl: float = ASYNC_CONFIG_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._configs: dict[str, tuple[float, ConnectionConfig]] = {}
        self._fetching: dict[str, asyncio.Task] = {}

    async def get(self, conn_id: str, fetch: Callable[[], Awaitable[ConnectionConfig]]) -> ConnectionConfig:
        kept = self._configs.get(conn_id)
        if kept is not None and self.clock() - kept[0] < self.ttl:
            return kept[1]
        loop = asyncio.get_running_loop()
        task = self._fetching.get(conn_id)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(self._fetch(conn_id, fetch))
            self._fetching[conn_id] = task
        return await asyncio.shield(task)  # a cancelled waiter leaves the fetch to the others

    async def _fetch(self, conn_id: str, fetch: Callable[[], Awaitable[ConnectionConfig]]) -> ConnectionConfig:
        try:
            config = await fetch()
            self._configs[conn_id] = (self.clock(), config)
            return config
        finally:
            if self._fetching.get(conn_id) is asyncio.current_task():  # not a fetch another event loop started since
                del self._fetching[conn_id]

    def clear(self) -> None:
        self._configs.clear()
        self._fetching.clear()


ASYNC_CONFIGS = SharedConfigs()
