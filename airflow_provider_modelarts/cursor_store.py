"""Where a task instance's log cursor lives between processes, so every training log line reaches its log once.

A wait moves between processes: a reschedule sensor's pokes, a deferral to the triggerer, a triggerer that is
restarted (the trigger starts again from its kwargs), a worker that dies during ``wait=True`` (the retry
reattaches). Each of them resumes from the cursor saved here — an Airflow Variable per task instance, written
after each poll that printed lines (by a trigger at most every ``[modelarts] trigger_cursor_save_interval``
seconds, and when it is cancelled), deleted when the wait ends. A saved cursor belongs to one job: a cursor of
another job (an earlier run of the same task instance) is ignored and overwritten.

A line is printed and then its cursor saved; only a process killed between the two (a window of one
request in a worker, of one save interval in a killed triggerer) can print a line a second time.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_modelarts.task_state import TaskIdentity

PREFIX = "modelarts_log_cursor"
#: Airflow's Variable key column holds 250 characters
MAX_KEY = 250

log = logging.getLogger(__name__)


def variables() -> Any:
    """Airflow's ``Variable`` (the Task SDK's on Airflow 3, the model on Airflow 2)."""
    from airflow.providers.common.compat.sdk import Variable

    return Variable


class CursorStore:
    """The saved cursor of one task instance's wait on one job.

    :param identity: the task instance.
    :param job: the job it watches (``str(JobRef)``).
    """

    def __init__(self, identity: TaskIdentity, job: str) -> None:
        self.identity = identity
        self.job = job
        name = f"{PREFIX}__{identity.dag_id}__{identity.task_id}__{identity.run_id}__{identity.map_index}"
        if len(name) > MAX_KEY:
            digest = hashlib.sha256(name.encode()).hexdigest()[:16]
            name = f"{PREFIX}__{identity.dag_id[:100]}__{identity.task_id[:100]}__{digest}"[:MAX_KEY]
        self.key = name
        self._saved: str | None = None
        self._failed = False  # Variables unreachable: warned once, then the wait goes on without saving

    def _warn(self, action: str, err: Exception) -> None:
        if not self._failed:
            log.warning("Could not %s the saved log cursor %s (%s); a restart of this wait may repeat lines",
                        action, self.key, err)
        self._failed = True

    @classmethod
    def for_task(cls, ti: Any, job: Any) -> CursorStore | None:
        identity = TaskIdentity.of(ti)
        return cls(identity, str(job)) if identity is not None else None

    # ------------------------------------------------------------------ sync
    def load(self) -> dict[str, Any] | None:
        """``{"cursor": {...}, "last_status": ..., "outage_since": ...}`` saved for this job, or None."""
        if self._failed:
            return None
        try:
            # no default: on Airflow 3 a default is handed to mask_secret, one more round trip through the
            # supervisor for every trigger that starts; a missing Variable raises instead
            value = variables().get(self.key, deserialize_json=True)
        except Exception as err:  # a cursor is a convenience: never fail a wait over it
            if not _not_found(err):
                self._warn("read", err)
            return None
        if not isinstance(value, dict) or value.get("job") != self.job:
            return None
        self._saved = _fingerprint(value)
        return value

    def _unsaved(self, cursor: dict[str, str], last_status: Any, outage_since: float | None) -> dict | None:
        """The value to save, or None when there is nothing to do (saved already, or Variables unreachable)."""
        value = {"job": self.job, "cursor": cursor, "last_status": last_status, "outage_since": outage_since}
        return None if self._failed or _fingerprint(value) == self._saved else value

    def save(self, cursor: dict[str, str], last_status: Any, outage_since: float | None = None) -> None:
        value = self._unsaved(cursor, last_status, outage_since)
        if value is None:
            return
        try:
            variables().set(self.key, value, serialize_json=True)
            self._saved = _fingerprint(value)
        except Exception as err:
            self._warn("save", err)

    def delete(self) -> None:
        if self._failed:
            return
        try:
            variables().delete(self.key)
        except Exception as err:
            self._warn("delete", err)
        self._saved = None
        _KEYS.discard(self.key)

    # ------------------------------------------------------------------ async (the triggerer)
    # Variables are sync calls: each waits in a thread until the triggerer's supervisor, between rounds of its own
    # trigger bookkeeping, answers it. Threads of our own (``THREADS``) so that many wait at once — with the loop's
    # default executor (6 threads on 2 cores) one supervisor round answered 6 calls, and 10,000 starting triggers
    # took half an hour to read their cursors (benchmark 8) — and so that no call shares asgiref's single
    # thread-sensitive thread with every other trigger's.
    async def aload(self) -> dict[str, Any] | None:
        saved = await _KEYS.get()
        if saved is not None and self.key not in saved:
            return None  # nothing saved for this task instance: no call at all
        return await _in_thread(self.load)

    async def asave(self, cursor: dict[str, str], last_status: Any, outage_since: float | None = None) -> None:
        if self._unsaved(cursor, last_status, outage_since) is not None:
            await _in_thread(self.save, cursor, last_status, outage_since)
            if self._saved is not None:
                _KEYS.add(self.key)

    async def asend(self, cursor: dict[str, str], last_status: Any, outage_since: float | None = None) -> None:
        """Save without waiting for the answer, when none will come (:func:`replies_gone`): the request goes out
        from a thread of its own, which the unanswered call then keeps for good (a daemon: it does not hold up the
        exiting process, nor one of the :data:`THREADS` the other triggers' last saves need)."""
        if self._unsaved(cursor, last_status, outage_since) is None:
            return
        threading.Thread(target=self.save, args=(cursor, last_status, outage_since), daemon=True,
                         name="modelarts-cursor-last").start()
        await asyncio.sleep(SEND_GRACE)  # the request is written by this event loop (Airflow's comms)


#: seconds a stopping trigger gives its last save to go out (:meth:`CursorStore.asend`): with 2 s, 300 tailing
#: triggers stopped at once all saved their cursor (stop 3.3 s); with 0.5 s, 72 of 100
SEND_GRACE = 2.0


def replies_gone() -> bool:
    """Airflow 3's trigger runner, when it stops, cancels its reader of the supervisor's replies and only then
    cancels the triggers. A Variable write a cancelled trigger sends still reaches the supervisor, which carries
    it out, but its reply is never read: the call would wait for ever, holding its thread (measured in Airflow
    3.3.2's triggerer: of 100 tailing triggers stopped at once, 32 saved their cursor — this module's thread
    count — each warned, and the stop took 6.2 s; sent without waiting, 100 of 100 and 300 of 300, in 3.2–3.3 s).
    Airflow 2's triggerer writes Variables to the metadata DB itself: False."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return False
    reader = getattr(getattr(task_runner, "SUPERVISOR_COMMS", None), "_reader_task", None)
    done = getattr(reader, "done", None)
    return bool(done and done())


#: threads for the triggerer's Variable calls (they wait, they do not compute)
THREADS = 32
_executor: ThreadPoolExecutor | None = None


async def _in_thread(fn: Any, *args: Any) -> Any:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(THREADS, thread_name_prefix="modelarts-cursor")
    return await asyncio.get_running_loop().run_in_executor(_executor, functools.partial(fn, *args))


class _KnownKeys:
    """The keys of saved cursors, listed once for all triggers of a process (Airflow 3's ``Variable.keys``) and
    kept ``TTL`` seconds: a starting trigger whose key is not among them reads nothing. A key this process saves
    joins the set at once; one saved by another triggerer within the last ``TTL`` seconds can be missed — then
    lines printed before it are printed again, none is lost."""

    TTL = 30.0

    def __init__(self) -> None:
        self.keys: set[str] | None = None
        self.listed_at = 0.0
        self._locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def add(self, key: str) -> None:
        if self.keys is not None:
            self.keys.add(key)

    def discard(self, key: str) -> None:
        if self.keys is not None:
            self.keys.discard(key)

    async def get(self) -> set[str] | None:
        listing = getattr(variables(), "keys", None)
        if listing is None:  # Airflow 2: no listing; each trigger reads its own
            return None
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:  # the triggers that start together share one listing
            if self.keys is None or time.monotonic() - self.listed_at > self.TTL:
                try:
                    self.keys = set(await _in_thread(lambda: list(listing(prefix=PREFIX))))
                except Exception as err:  # no listing: each trigger reads its own
                    log.debug("Could not list saved log cursors (%s)", err)
                    return None
                self.listed_at = time.monotonic()
            return self.keys


_KEYS = _KnownKeys()


def _not_found(err: Exception) -> bool:
    """A Variable that does not exist: ``KeyError`` (Airflow 2), ``AirflowRuntimeError`` VARIABLE_NOT_FOUND (3)."""
    if isinstance(err, KeyError):
        return True
    error = getattr(err, "error", None)
    return str(getattr(error, "error", "")).endswith("VARIABLE_NOT_FOUND")


def _fingerprint(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
