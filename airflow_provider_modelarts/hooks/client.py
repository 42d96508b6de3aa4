"""The one request path: credentials → project id → signed request → retry predicate → typed result.

:class:`ModelArtsClient` has a sync driver (``requests``, imported lazily) and an async driver
(``httpx.AsyncClient``); both run the same preparation, the same credential generators and the same
decisions from :mod:`.http`. Only sending bytes differs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import logging
import time
import weakref
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_modelarts import __version__, obs_api, obs_signer
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsAuthError, ModelArtsConfigError
from airflow_provider_modelarts.hooks import credentials as creds
from airflow_provider_modelarts.hooks.connection import AUTH_AKSK, AUTH_ENV, ConnectionConfig
from airflow_provider_modelarts.hooks.http import (
    ApiRequest,
    RawResponse,
    backoff_delay,
    error_for,
    is_retryable,
    retry_after_seconds,
)
from airflow_provider_modelarts.hooks.lockout import LockoutGuard

log = logging.getLogger(__name__)
Actions = Generator[tuple[str, Any], Any, Any]
USER_AGENT = f"airflow-provider-modelarts/{__version__}"


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Decision:
    """What to do after one attempt."""

    action: str  # "return", "retry", "reauth", "raise"
    delay: float = 0.0
    error: Exception | None = None


class ModelArtsClient:
    """Authenticated access to one ModelArts endpoint (v1 paths contain ``{project_id}``).

    :param config: a validated connection.
    """

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.credentials = creds.credentials_for(config)
        self._session: Any = None
        self.retries_made = 0

    # ------------------------------------------------------------------ shared, transport-free steps
    def _base_url(self, base: str) -> str:
        return {"modelarts": self.config.modelarts_endpoint, "iam": self.config.iam_endpoint,
                "metadata": self.config.metadata_endpoint}[base]

    @property
    def project_id(self) -> str | None:
        return self.config.project_id or self.credentials.project_id or creds.cached_project_id(self._project_key)

    @property
    def _project_key(self) -> tuple:
        return (self.config.iam_endpoint, self.config.region, self.credentials.identity)

    def _ready_steps(self) -> Generator[ApiRequest, RawResponse, None]:
        """Credentials, then the project id (discovered by region name when not configured)."""
        yield from self.credentials.refresh()
        if self.project_id:
            return
        response = yield ApiRequest("GET", "/v3/projects", query=[("name", self.config.region)], base="iam",
                                    operation="discover project id")
        projects = response.json().get("projects") or []
        if len(projects) != 1:
            found = ", ".join(p.get("name", "?") for p in projects) or "none"
            raise ModelArtsConfigError(
                f"Connection {self.config.conn_id!r}: field 'project_id': could not discover it — IAM lists "
                f"{len(projects)} projects named {self.config.region!r} ({found}); set 'project_id' in the extra")
        creds.cache_project_id(self._project_key, projects[0]["id"])

    def obs_path_style(self) -> bool:
        """Path-style (``endpoint/bucket/key``) for an IP address, ``localhost`` or an endpoint with a path;
        virtual-hosted (``bucket.endpoint/key``) otherwise, as OBS documents ("Constructing a Request")."""
        if self.config.obs_path_style is not None:
            return self.config.obs_path_style
        split = urlsplit(self.config.obs_endpoint)
        host = split.hostname or ""
        return host == "localhost" or obs_api.IP_RE.match(host) is not None or ":" in host or \
            split.path.strip("/") != ""

    def _prepare_obs(self, request: ApiRequest) -> Prepared:
        split = urlsplit(self.config.obs_endpoint)
        path_style = self.obs_path_style()
        netloc = split.netloc if path_style or not request.bucket else f"{request.bucket}.{split.netloc}"
        path = split.path.rstrip("/") + (f"/{request.bucket}" if path_style and request.bucket else "")
        path += "/" + obs_signer.quote_key(request.key) if request.key else ("" if path else "/")
        query = [(name, None if value is None else str(value)) for name, value in request.query]
        body = request.body_bytes()
        headers = {"User-Agent": USER_AGENT, **request.headers}
        if body:
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 (OBS's)
        keys = self.credentials.obs_keys()
        if keys is None:
            raise ModelArtsAuthError("no access key available for OBS", operation=request.operation)
        if keys.security_token:
            headers["x-obs-security-token"] = keys.security_token
        headers = obs_signer.sign(method=request.method, bucket=request.bucket, key=request.key, query=query,
                                  headers=headers, access_key=keys.access, secret_key=keys.secret,
                                  path_style=path_style)
        query_string = "&".join(quote(name, safe="") + ("" if value is None else "=" + quote(value, safe=""))
                                for name, value in query)
        url = f"{split.scheme}://{netloc}{path}" + (f"?{query_string}" if query_string else "")
        return Prepared(request.method, url, headers, body)

    def prepare(self, request: ApiRequest) -> Prepared:
        if request.base == "obs":
            return self._prepare_obs(request)
        base_url = self._base_url(request.base)
        path = request.path.replace("{project_id}", self.project_id or "")
        split = urlsplit(base_url)
        full_path = split.path.rstrip("/") + path
        body = request.body_bytes()
        headers = {"User-Agent": USER_AGENT, **request.headers}
        if body or request.base != "metadata":
            headers.setdefault("Content-Type", "application/json")
        if request.authenticated:
            if request.base == "modelarts" and self.project_id:
                headers["X-Project-Id"] = self.project_id
            headers, query = self.credentials.authorize(method=request.method, host=split.netloc, path=full_path,
                                                        query=list(request.query), headers=headers, body=body)
        else:
            from airflow_provider_modelarts.signer import canonical_query_string

            headers["Host"] = split.netloc
            query = canonical_query_string(request.query)
        url = f"{split.scheme}://{split.netloc}{full_path}" + (f"?{query}" if query else "")
        return Prepared(request.method, url, headers, body)

    def _guard(self, request: ApiRequest) -> LockoutGuard | None:
        """The lock-out guard of the signing key (AK/SK and env auth; not the token or metadata calls)."""
        keys = getattr(self.credentials, "keys", None)
        if not request.authenticated or request.base == "metadata" or keys is None or \
                self.credentials.auth_type not in (AUTH_AKSK, AUTH_ENV):
            return None
        return LockoutGuard(keys.access, self.credentials.identity)

    @staticmethod
    def _signature_accepted(request: ApiRequest, outcome: Any) -> bool | None:
        """The lock-out guard's verdict on one attempt (None: no answer)."""
        if not isinstance(outcome, RawResponse):
            return None
        if request.base == "obs":
            err = error_for(outcome, base="obs")
            return not (err is not None and err.error_code in obs_api.BAD_SIGNATURE_CODES)
        return outcome.status != 401

    @staticmethod
    def _enter(guard: LockoutGuard) -> Actions:
        """Steps that wait (as ``sleep`` actions, so the async driver does not block) for a ticket to send."""
        while True:
            ticket = guard.try_enter()
            if ticket is not None:
                return ticket
            yield ("sleep", 0.05)

    def decide(self, request: ApiRequest, attempt: int, *, response: RawResponse | None = None,
               exc: Exception | None = None, reauthed: bool = False) -> Decision:
        max_retries = self.config.max_retries if request.base != "metadata" else 0
        if exc is not None:
            connect_failed, transport_failed = _classify_transport_error(exc)
            err: Exception = ModelArtsApiError(f"{type(exc).__name__}: {exc}", operation=request.operation)
            retryable = is_retryable(request=request, connect_failed=connect_failed, transport_failed=transport_failed)
            retry_after = None
        else:
            assert response is not None
            api_err = error_for(response, operation=request.operation, auth_type=self.credentials.auth_type,
                                base=request.base)
            if api_err is None:
                return Decision("return")
            if isinstance(api_err, ModelArtsAuthError) and not reauthed and request.authenticated:
                if request.base == "obs":
                    if api_err.error_code in obs_api.REFRESHABLE_CODES and self.credentials.invalidate_obs():
                        return Decision("reauth")
                elif api_err.http_status == 401 and self.credentials.invalidate():
                    return Decision("reauth")
            err = api_err
            retryable = is_retryable(request=request, error=api_err)
            retry_after = retry_after_seconds(response)
        if retryable and attempt < max_retries:
            delay = backoff_delay(attempt, base=self.config.retry_backoff, maximum=self.config.retry_max_delay,
                                  retry_after=retry_after)
            log.warning("ModelArts %s failed (%s); retry %d/%d in %.1fs", request.operation or request.method, err,
                        attempt + 1, max_retries, delay)
            return Decision("retry", delay=delay, error=err)
        return Decision("raise", error=err)

    # ------------------------------------------------------------------ the request path, as a generator
    # It yields primitive actions — ("send", Prepared) answered with a RawResponse or the transport
    # exception, and ("sleep", seconds) — so the sync and async drivers below only execute them.
    def _steps(self, steps: Generator[ApiRequest, RawResponse, None]) -> Actions:
        """Run a credential/discovery generator through the request path."""
        try:
            request = next(steps)
            while True:
                try:
                    response = yield from self._exchange(request)
                except Exception as err:  # let the credential generator explain the failure
                    request = steps.throw(err)
                else:
                    request = steps.send(response)
        except StopIteration:
            return None

    def _exchange(self, request: ApiRequest) -> Actions:
        reauthed = False
        attempt = 0
        while True:
            guard = self._guard(request)
            ticket = (yield from self._enter(guard)) if guard is not None else None
            outcome: Any = None
            try:
                outcome = yield ("send", self.prepare(request))
            finally:
                if guard is not None and ticket is not None:  # the verdict: was the signature rejected?
                    guard.leave(ticket, self._signature_accepted(request, outcome))
            if isinstance(outcome, BaseException):
                decision = self.decide(request, attempt, exc=outcome)
            else:
                decision = self.decide(request, attempt, response=outcome, reauthed=reauthed)
            if decision.action == "return":
                return outcome
            if decision.action == "reauth":
                reauthed = True
                yield from self._steps(self._credential_steps(request))
                continue
            if decision.action == "raise":
                raise decision.error  # type: ignore[misc]
            self.retries_made += 1
            attempt += 1
            yield ("sleep", decision.delay)

    def _credential_steps(self, request: ApiRequest) -> Generator[ApiRequest, RawResponse, None]:
        return self.credentials.obs_refresh() if request.base == "obs" else self.credentials.refresh()

    def _request_steps(self, request: ApiRequest) -> Actions:
        yield from self._steps(self.credentials.obs_refresh() if request.base == "obs" else self._ready_steps())
        return (yield from self._exchange(request))

    # ------------------------------------------------------------------ sync driver
    def _send_sync(self, prepared: Prepared) -> RawResponse:
        if self._session is None:
            import requests

            self._session = requests.Session()
        resp = self._session.request(prepared.method, prepared.url, headers=prepared.headers,
                                     data=prepared.body or None, verify=self.config.verify, allow_redirects=False,
                                     timeout=(self.config.connect_timeout, self.config.read_timeout))
        return RawResponse(resp.status_code, dict(resp.headers), resp.content)

    def call(self, request: ApiRequest) -> RawResponse:
        """Send one request (sync), after making sure credentials and project id are ready."""
        actions = self._request_steps(request)
        result: Any = None
        try:
            while True:
                kind, arg = actions.send(result)
                if kind == "sleep":
                    time.sleep(arg)
                    result = None
                    continue
                try:
                    result = self._send_sync(arg)
                except OSError as exc:  # requests' transport errors derive from IOError
                    result = exc
        except StopIteration as done:
            return done.value

    # ------------------------------------------------------------------ async driver
    async def acall(self, request: ApiRequest) -> RawResponse:
        """Send one request without blocking the event loop (httpx.AsyncClient, same steps)."""
        import httpx

        client, slots = _async_http_client(self.config)
        actions = self._request_steps(request)
        result: Any = None
        try:
            while True:
                kind, arg = actions.send(result)
                if kind == "sleep":
                    await asyncio.sleep(arg)
                    result = None
                    continue
                try:
                    async with slots:  # queue here (O(1)), not in the connection pool (O(queued) per wake-up)
                        resp = await client.request(arg.method, arg.url, headers=arg.headers,
                                                    content=arg.body or None)
                    result = RawResponse(resp.status_code, dict(resp.headers), resp.content)
                except httpx.TransportError as exc:
                    result = exc
        except StopIteration as done:
            return done.value


#: Pooled httpx.AsyncClients per event loop and transport settings: a triggerer watching thousands of jobs
#: keeps a few connections open instead of building a client (and its TLS context) per poll.
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Concurrent requests per event loop: ``ASYNC_POOLS`` clients of ``ASYNC_POOL_CONNECTIONS`` connections each,
#: taken in turn. Waiting requests queue on each pool's semaphore: httpcore's pool rescans every queued request
#: on each wake-up (1,000 simultaneous polls were quadratic), and every connection of its pool for expiry on each
#: request and response — with one pool of 32, ~45 socket checks per request were most of a poll's CPU. Eight
#: pools of 4 keep the same 32 connections: a poll costs 0.87 ms of CPU instead of 1.68 (2.0 instead of 3.5 with
#: a log page; docs/benchmarks.md, benchmark 8).
ASYNC_POOLS = 8
ASYNC_POOL_CONNECTIONS = 4
ASYNC_MAX_CONNECTIONS = ASYNC_POOLS * ASYNC_POOL_CONNECTIONS


def _async_http_client(config: ConnectionConfig) -> tuple[Any, asyncio.Semaphore]:
    import httpx

    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    key = (str(config.verify), config.connect_timeout, config.read_timeout)
    entry = per_loop.get(key)
    if entry is None or any(client.is_closed for client, _ in entry[0]):
        timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
        limits = httpx.Limits(max_connections=ASYNC_POOL_CONNECTIONS, max_keepalive_connections=ASYNC_POOL_CONNECTIONS)
        pools = [(httpx.AsyncClient(timeout=timeout, verify=config.verify, follow_redirects=False, limits=limits),
                  asyncio.Semaphore(ASYNC_POOL_CONNECTIONS)) for _ in range(ASYNC_POOLS)]
        entry = per_loop[key] = (pools, itertools.cycle(pools))
    return next(entry[1])


def _classify_transport_error(exc: Exception) -> tuple[bool, bool]:
    """(connect_failed, transport_failed) for an exception of requests or httpx."""
    name = type(exc).__name__
    text = repr(exc)
    if name in ("ConnectTimeout", "ConnectError") or "NewConnectionError" in text or "ConnectionRefused" in text:
        return True, False
    return False, True
