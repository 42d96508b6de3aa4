"""A guard that keeps bad signatures per access key below Huawei's lock threshold — across every process on a
machine (each Airflow task try is a process of its own), however many tasks use a bad connection at once.

Huawei locks an AK after more than 5 consecutive requests with a bad signature. The guard keeps a small state
file per AK (named by a hash of it, never the key) in a directory shared by the machine's processes:

* A key (AK + SK) that was accepted within the last :data:`WINDOW` seconds is sent freely.
* Otherwise one request at a time may try it, holding an exclusive ``flock`` on the AK's file until its answer
  is recorded; the others wait for the verdict. After :data:`LIMIT` rejections within :data:`WINDOW` that key
  is not sent again (the error says to fix the connection); a corrected SK still gets its try, until the AK
  has :data:`HARD_LIMIT` rejections.

So at most :data:`HARD_LIMIT` bad signatures (and :data:`LIMIT` per wrong SK) leave the machine per window. For several machines, point
``MODELARTS_LOCKOUT_DIR`` at a directory they share (a file system with ``flock``), or keep per-machine
pools in mind: each machine may send :data:`LIMIT`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_modelarts.exceptions import ModelArtsAuthError

#: rejections after which a key (AK + SK) is not sent again; a different SK for the same AK (a fixed connection)
#: still gets a try while the AK's rejections stay below :data:`HARD_LIMIT`
LIMIT = 3
#: rejections per AK after which nothing is sent with it at all (Huawei locks after more than 5)
HARD_LIMIT = 5
#: seconds a verdict (accepted, or the count of rejections) is trusted
WINDOW = 300.0
ENV_DIR = "MODELARTS_LOCKOUT_DIR"

_verified: dict[str, float] = {}  # key id -> monotonic time it was last accepted (this process)
_verified_lock = threading.Lock()


def guard_dir() -> Path:
    path = Path(os.environ.get(ENV_DIR) or Path(tempfile.gettempdir()) / "airflow-provider-modelarts-lockout")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def clear_process_cache() -> None:
    with _verified_lock:
        _verified.clear()


@dataclass
class Ticket:
    """Permission to send one request: ``fd`` holds the AK's lock while an unverified key is tried."""

    fd: int | None = None


class LockoutGuard:
    """The guard for one access key.

    :param access_key: the AK (only a hash of it is written anywhere).
    :param key_id: a non-secret fingerprint of the AK + SK pair.
    """

    def __init__(self, access_key: str, key_id: str) -> None:
        self.key_id = key_id
        self.path = guard_dir() / hashlib.sha256(access_key.encode()).hexdigest()[:32]

    # ------------------------------------------------------------------ before sending
    def try_enter(self) -> Ticket | None:
        """A ticket to send; None while another process is trying this AK (ask again shortly). Raises when the
        AK's recent rejections reached :data:`LIMIT`."""
        with _verified_lock:
            if time.monotonic() - _verified.get(self.key_id, -WINDOW) < WINDOW:
                return Ticket()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        state = self._read(fd)
        now = time.time()
        if state.get("ok_key") == self.key_id and now - float(state.get("ok_at", 0)) < WINDOW:
            self._release(fd)
            self._mark_verified()
            return Ticket()
        failures, since = self._failures(state, now)
        if failures >= HARD_LIMIT or (failures >= LIMIT and self.key_id in state.get("keys", [])):
            self._release(fd)
            raise ModelArtsAuthError(
                f"not sent: this access key's signature was rejected {failures} times in the last "
                f"{now - since:.0f} s on this machine; fix the connection's AK/SK (or the clock) — Huawei locks an "
                f"AK after more than 5 bad signatures", http_status=0, operation="guard")
        return Ticket(fd)

    # ------------------------------------------------------------------ after the answer
    def leave(self, ticket: Ticket, accepted: bool | None) -> None:
        """Record the verdict (None: no answer, nothing learnt) and release the ticket."""
        fd = ticket.fd
        if fd is None:
            if accepted is False:  # a verified key was rejected now (rotated, clock): count it, under the lock
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                return
        try:
            if accepted is not None:
                self._record(fd, accepted)
        finally:
            self._release(fd)
            ticket.fd = None

    def _record(self, fd: int, accepted: bool) -> None:
        now = time.time()
        if accepted:
            state = {"ok_key": self.key_id, "ok_at": now, "failures": 0}
            self._mark_verified()
        else:
            with _verified_lock:
                _verified.pop(self.key_id, None)
            previous = self._read(fd)
            failures, since = self._failures(previous, now)
            keys = sorted(set(previous.get("keys", []) if failures else []) | {self.key_id})
            state = {"failures": failures + 1, "since": since if failures else now, "keys": keys}
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(state).encode())

    # ------------------------------------------------------------------ helpers
    def _mark_verified(self) -> None:
        with _verified_lock:
            _verified[self.key_id] = time.monotonic()

    @staticmethod
    def _failures(state: dict, now: float) -> tuple[int, float]:
        since = float(state.get("since", now))
        failures = int(state.get("failures", 0))
        return (failures, since) if failures and now - since < WINDOW else (0, now)

    @staticmethod
    def _read(fd: int) -> dict:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        with contextlib.suppress(ValueError):
            value = json.loads(raw or b"{}")
            if isinstance(value, dict):
                return value
        return {}

    @staticmethod
    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
