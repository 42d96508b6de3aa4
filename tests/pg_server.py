"""A throwaway PostgreSQL server on loopback for Airflow's metadata DB — the e2e tier's stacks and benchmark 8
(production schedulers and triggerers run on PostgreSQL or MySQL; SQLite locks up under concurrent DAG runs).
Debian's server binaries (``apt-get install postgresql``, which scripts/test.sh does when they are missing);
started with its own data directory under a temporary folder, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator
from pathlib import Path

#: where Debian puts a server's binaries; the first that has ``initdb`` wins
_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def binaries() -> Path | None:
    """The directory of PostgreSQL's server binaries, or None when none is installed."""
    for directory in _BIN_DIRS:
        if (directory / "initdb").exists():
            return directory
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def available() -> bool:
    """A server can be started here and Airflow can talk to it (psycopg2 and asyncpg, from the ``test`` extra)."""
    try:
        import asyncpg  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError:
        return False
    return binaries() is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(database: str = "airflow", durable: bool = True) -> Generator[tuple[str, int], None, None]:
    """Start a server, create ``database``, yield its SQLAlchemy URL and the server's PID; stop the server
    (SIGINT: fast shutdown). ``durable=False``: no fsync (a test's throwaway DB: commits do not wait for the disk;
    the benchmarks keep the production default)."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    data = root / "data"
    # PostgreSQL refuses to run as root: run it as the 'postgres' user Debian's package creates
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8",
                    *([] if durable else ["--no-sync"])], check=True, capture_output=True, user=user, timeout=300)
    no_fsync = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(root),
         "-c", "max_connections=200", *no_fsync],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, user=user, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            probe = subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow",
                                    database],
                                   capture_output=True, user=user)
            if probe.returncode == 0:
                break
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/{database}", proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
