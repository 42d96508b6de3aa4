"""Start the emulator: in this process (``serve``) or as a child process (:class:`ModelArtsEmulator`)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_REGION = "cn-north-4"
#: the fixed, public credentials — used only when asked for (``fixed_credentials`` / ``--fixed-credentials``)
DEFAULT_AK = "EMULATORACCESSKEY000"
DEFAULT_SK = "emulator-secret-key-0000000000000000000000"
DEFAULT_USER = "modelarts-user"
DEFAULT_PASSWORD = "emulator-password"
DEFAULT_DOMAIN = "modelarts-account"
#: how the secrets reach a server process (never its command line, which any local user can read)
SK_ENV = "MODELARTS_EMULATOR_SK"
#: the running server's URL, written into its root
URL_FILE = "url"
PASSWORD_ENV = "MODELARTS_EMULATOR_PASSWORD"
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class EmulatorCredentials:
    ak: str
    sk: str
    user: str
    password: str
    domain: str
    region: str
    project_id: str


def resolve_credentials(root: Path, *, ak: str | None = None, sk: str | None = None, user: str | None = None,
                        password: str | None = None, domain: str | None = None,
                        fixed: bool = False) -> tuple[dict[str, str], bool]:
    """The AK/SK and IAM user of an emulator root: random on its first start (or the public fixed ones when
    ``fixed``), kept in ``<root>/credentials.json`` (mode 0600) for the next starts; given values win and are
    kept. Returns them and whether they were created now (then they are printed, once)."""
    import string

    path = root / CREDENTIALS_FILE
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    created = not saved
    if fixed:
        base = {"ak": DEFAULT_AK, "sk": DEFAULT_SK, "user": DEFAULT_USER, "password": DEFAULT_PASSWORD,
                "domain": DEFAULT_DOMAIN}
    elif saved:
        base = saved
    else:
        alnum = string.ascii_uppercase + string.digits
        base = {"ak": "".join(secrets.choice(alnum) for _ in range(20)),
                "sk": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)),
                "user": "modelarts-user", "password": secrets.token_urlsafe(18), "domain": "modelarts-account"}
    given = {"ak": ak, "sk": sk, "user": user, "password": password, "domain": domain}
    creds = {k: given[k] or base[k] for k in base}
    if creds != saved:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(creds, handle)
        created = created or any(given.values())
    return creds, created


def conn_extra(url: str, creds: EmulatorCredentials, auth_type: str, api_version: str = "v2") -> dict[str, Any]:
    extra: dict[str, Any] = {"region": creds.region, "auth_type": auth_type, "modelarts_endpoint": url,
                             "iam_endpoint": url, "console_url": url, "api_version": api_version,
                             "obs_endpoint": url}
    if auth_type == "password":
        extra["domain_name"] = creds.domain
    if auth_type == "env":
        extra["metadata_endpoint"] = url + "/metadata"
    return extra


def conn_dict(url: str, creds: EmulatorCredentials, auth_type: str = "aksk", api_version: str = "v2") -> dict[str, Any]:
    """An Airflow connection (as ``AIRFLOW_CONN_*`` JSON) for one auth mode and API version."""
    if auth_type not in ("aksk", "password", "env"):
        raise ValueError(f"auth_type must be aksk, password or env, got {auth_type!r}")
    conn: dict[str, Any] = {"conn_type": "modelarts", "extra": conn_extra(url, creds, auth_type, api_version)}
    if auth_type == "aksk":
        conn.update(login=creds.ak, password=creds.sk)
    elif auth_type == "password":
        conn.update(login=creds.user, password=creds.password)
    return conn


class _Protocol:
    """uvicorn's h11 protocol, exposing the connection's transport to the app (for 'drop' faults)."""

    @staticmethod
    def make() -> type:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        class TransportExposingProtocol(H11Protocol):
            def connection_made(self, transport: Any) -> None:  # type: ignore[override]
                super().connection_made(transport)
                self.app_state = {**self.app_state, "_transport": transport}

        return TransportExposingProtocol


def serve(*, host: str, port: int, root: Path, region: str, project_id: str, ak: str, sk: str, user: str,
          password: str, domain: str, faults: str | None, seed: int | None, max_running: int, step_delay: float,
          kill_grace: float, token_lifetime: float, temp_key_lifetime: float, quiet: bool = False,
          show_secrets: bool = True, metadata_service: bool = True, virtual_jobs: bool = False) -> None:
    """Run the server in this process until SIGTERM/SIGINT; prints one JSON line with its URL first."""
    import uvicorn

    from airflow_provider_modelarts.emulator.app import (
        Emulator,
        EmulatorMiddleware,
        EmulatorSettings,
        create_app,
    )
    from airflow_provider_modelarts.emulator.auth import Account

    account = Account(ak, sk, user, password, domain, "d" + project_id[:31], region, project_id,
                      token_lifetime=token_lifetime, temp_key_lifetime=temp_key_lifetime)
    emu = Emulator(EmulatorSettings(root=root, account=account, max_running=max_running, step_delay=step_delay,
                                    kill_grace=kill_grace, faults=faults, seed=seed,
                                    metadata_service=metadata_service, virtual_jobs=virtual_jobs))
    app = EmulatorMiddleware(create_app(emu), emu)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    bound = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{bound}"
    creds = EmulatorCredentials(ak, sk, user, password, domain, region, project_id)
    (root / URL_FILE).write_text(url)  # for `modelarts-emulator jobs|faults|datasets --root ROOT`
    print(json.dumps({"url": url, "pid": os.getpid(), "root": str(root), "credentials": asdict(creds),
                      "lost_on_start": emu.lost_on_start}), flush=True)
    if not quiet:
        print(f"ModelArts emulator listening on {url} (root {root})", file=sys.stderr)
        if show_secrets:  # new credentials: shown this once; afterwards they are in the root's credentials.json
            print(f"  AK/SK: {ak} / {sk}\n  IAM user/domain/password: {user} / {domain} / {password}\n"
                  f"  region {region}, project {project_id}", file=sys.stderr)
            print("  export AIRFLOW_CONN_MODELARTS_DEFAULT='" + json.dumps(conn_dict(url, creds)) + "'",
                  file=sys.stderr)
        else:
            print(f"  credentials: {root / CREDENTIALS_FILE} (AK {ak}); region {region}, project {project_id}",
                  file=sys.stderr)
    config = uvicorn.Config(app, http=_Protocol.make(), log_level="warning", access_log=False, lifespan="on",
                            timeout_keep_alive=30, backlog=2048)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])


class ModelArtsEmulator:
    """Run the emulator as a child process on a free loopback port — for tests and users' own suites.

    ``with ModelArtsEmulator(root=tmp_path) as emu:`` then ``emu.url``, ``emu.credentials``,
    ``emu.conn_json(auth_type=...)``, ``emu.obs_root``, ``emu.add_dataset(...)``, ``emu.set_faults(...)``,
    ``emu.stats()``. The process is stopped by PID on exit.

    :param root: state directory (SQLite state, local OBS, logs); a temporary one when omitted.
    :param faults: initial fault spec (see :mod:`airflow_provider_modelarts.emulator.faults`).
    :param step_delay: seconds between status steps (INIT → WAITING → RUNNING).
    :param virtual_jobs: run every job without a process (its timeline and synthetic log lines; hyperparameters
        ``emulator_virtual_seconds`` / ``_lines`` / ``_exit_code`` shape it, and make a single job virtual even
        without this).
    :param fixed_credentials: the public example credentials instead of random ones kept with the root.
    """

    def __init__(self, root: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 region: str = DEFAULT_REGION, project_id: str | None = None, faults: str | None = None,
                 seed: int | None = None, max_running: int = 64, step_delay: float = 0.1, kill_grace: float = 5.0,
                 token_lifetime: float = 86400.0, temp_key_lifetime: float = 900.0, ak: str | None = None,
                 sk: str | None = None, user: str | None = None, password: str | None = None,
                 domain: str | None = None, fixed_credentials: bool = False, virtual_jobs: bool = False,
                 log_path: str | Path | None = None) -> None:
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="modelarts-emulator-"))
        self.project_id = project_id or _stable_project_id(self.root)
        self._args = [
            "--host", host, "--port", str(port), "--root", str(self.root), "--region", region,
            "--project-id", self.project_id, "--max-running", str(max_running), "--step-delay", str(step_delay),
            "--kill-grace", str(kill_grace), "--token-lifetime", str(token_lifetime),
            "--temp-key-lifetime", str(temp_key_lifetime), "--quiet",
        ]
        for flag, value in (("--ak", ak), ("--user", user), ("--domain", domain)):
            if value:
                self._args += [flag, value]
        if fixed_credentials:
            self._args.append("--fixed-credentials")
        if virtual_jobs:
            self._args.append("--virtual-jobs")
        self._secrets = {name: value for name, value in ((SK_ENV, sk), (PASSWORD_ENV, password)) if value}
        if faults:
            self._args += ["--faults", faults]
        if seed is not None:
            self._args += ["--seed", str(seed)]
        self.log_path = Path(log_path) if log_path else self.root / "emulator.log"
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> ModelArtsEmulator:
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if k not in (SK_ENV, PASSWORD_ENV)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_modelarts.emulator", *self._args],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**env, **self._secrets})
        log.close()
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"the emulator did not start; see {self.log_path}")
        self.info = json.loads(line)
        self.url = self.info["url"]
        while time.monotonic() < deadline:
            try:
                self._admin("GET", "/_emulator/health")
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the emulator did not answer within {timeout}s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # stray workers of the stopped server's session, if any
        except (ProcessLookupError, PermissionError):
            pass
        if proc.stdout:
            proc.stdout.close()

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL, workers included): to test restarts and LOST jobs."""
        if self.process is not None:
            from airflow_provider_modelarts.emulator.runner import kill_leftover_workers

            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
            kill_leftover_workers(self.root / "pids")

    def __enter__(self) -> ModelArtsEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ what tests use
    @property
    def credentials(self) -> EmulatorCredentials:
        return EmulatorCredentials(**self.info["credentials"])

    @property
    def obs_root(self) -> Path:
        return self.root / "obs"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def conn_dict(self, auth_type: str = "aksk", api_version: str = "v2") -> dict[str, Any]:
        return conn_dict(self.url, self.credentials, auth_type, api_version)

    def conn_json(self, auth_type: str = "aksk", api_version: str = "v2") -> str:
        return json.dumps(self.conn_dict(auth_type, api_version))

    def obs_path(self, obs_path: str) -> Path:
        """The local file behind an OBS path ``/bucket/key``."""
        return self.obs_root.joinpath(*[p for p in obs_path.removeprefix("obs://").split("/") if p])

    def add_dataset(self, dataset_id: str, version_id: str, obs_path: str) -> None:
        self._admin("POST", "/_emulator/datasets", {"dataset_id": dataset_id, "version_id": version_id,
                                                     "obs_path": obs_path})

    def set_faults(self, spec: str | None, seed: int | None = None) -> None:
        self._admin("POST", "/_emulator/faults", {"spec": spec, "seed": seed})

    def configure(self, **settings: Any) -> None:
        """token_lifetime, temp_key_lifetime (seconds, for new credentials), metadata_agency, metadata_token_api
        (bool)."""
        self._admin("POST", "/_emulator/config", settings)

    def stats(self) -> dict[str, Any]:
        return self._admin("GET", "/_emulator/stats")

    def recorded(self) -> list[dict[str, Any]]:
        """The API requests received since the last ``reset_stats`` (endpoint, method, path, query, body)."""
        return self._admin("GET", "/_emulator/requests")["requests"]

    def jobs(self) -> list[dict[str, Any]]:
        """Every job version, newest first (``api_version``, ids, name, status)."""
        return self._admin("GET", "/_emulator/jobs")["jobs"]

    def faults(self) -> list[dict[str, Any]]:
        return self._admin("GET", "/_emulator/faults")["faults"]

    def datasets(self) -> list[dict[str, Any]]:
        return self._admin("GET", "/_emulator/datasets")["datasets"]

    def reset_stats(self) -> None:
        self._admin("POST", "/_emulator/stats/reset", {})

    def console_url(self, job_id: int, version_id: int) -> str:
        return f"{self.url}/console/training-jobs/{job_id}/versions/{version_id}"

    def _admin(self, method: str, path: str, body: dict | None = None) -> Any:
        return admin_request(self.url, method, path, body)


def admin_request(url: str, method: str, path: str, body: dict | None = None) -> Any:
    """One call of a running emulator's admin API (JSON in, JSON out; an error answer raises ValueError)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        detail = json.loads(err.read() or b"{}")
        raise ValueError(detail.get("error_msg") or f"HTTP {err.code}") from None


def _stable_project_id(root: Path) -> str:
    marker = root / "project_id"
    if marker.exists():
        return marker.read_text().strip()
    root.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    marker.write_text(value)
    return value
