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

import hashlib
import logging
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

    def save(self, cursor: dict[str, str], last_status: Any, outage_since: float | None = None) -> None:
        value = {"job": self.job, "cursor": cursor, "last_status": last_status, "outage_since": outage_since}
        if self._failed or _fingerprint(value) == self._saved:
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

    # ------------------------------------------------------------------ async (the triggerer)
    # ``thread_sensitive=False``: asgiref's default runs every such call of the whole triggerer on one shared
    # thread, so one slow Variable write would hold up every other trigger's save and a trigger's ``on_kill``
    async def aload(self) -> dict[str, Any] | None:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.load, thread_sensitive=False)()

    async def asave(self, cursor: dict[str, str], last_status: Any, outage_since: float | None = None) -> None:
        from asgiref.sync import sync_to_async

        value = {"job": self.job, "cursor": cursor, "last_status": last_status, "outage_since": outage_since}
        if not self._failed and _fingerprint(value) != self._saved:
            await sync_to_async(self.save, thread_sensitive=False)(cursor, last_status, outage_since)


def _not_found(err: Exception) -> bool:
    """A Variable that does not exist: ``KeyError`` (Airflow 2), ``AirflowRuntimeError`` VARIABLE_NOT_FOUND (3)."""
    if isinstance(err, KeyError):
        return True
    error = getattr(err, "error", None)
    return str(getattr(error, "error", "")).endswith("VARIABLE_NOT_FOUND")


def _fingerprint(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
