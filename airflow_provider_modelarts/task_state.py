"""What a user did to a task instance, read back from Airflow: it decides whether an interrupted wait stops its job.

A wait is interrupted by a user in three ways, and Airflow calls ``on_kill`` (the operator's in the worker, the
trigger's in the triggerer on Airflow 3.3+) for all of them. They mean different things:

* **mark failed / mark success** — "this task is over": the job it started is stopped.
* **clear** — "run this again": the job keeps running; the new try reattaches to it (the same task instance
  owns it) and ends with that job's real outcome. Stopping it here would make the new try fail with a job its
  own previous try stopped — and the previous try's ``on_kill`` can run after the new try has reattached.

The task instance's current state, read from Airflow's metadata (the one place both the old try's ``on_kill``
and the new try see), tells them apart. When it cannot be read, the job is stopped (the documented kill
behaviour).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

#: a user ended the task: its job is stopped
ENDED_STATES = frozenset({"failed", "success", "skipped", "upstream_failed", "removed"})
#: the task instance was cleared while its try was running (or is already queued for the next try)
RERUN_STATES = frozenset({"none", "restarting", "scheduled", "queued", "up_for_retry"})
#: how long the trigger's ``on_kill`` waits for the state before stopping the job anyway (Airflow gives it 30 s)
STATE_TIMEOUT = 10.0
#: the same in the worker: Airflow's supervisor escalates SIGTERM to SIGKILL after 5 s, and the stop request must
#: go out before that. On a loaded machine the answer can take longer: then the job is stopped and the cleared
#: task's next try trains the next version (a correct re-run, not a reattach).
WORKER_STATE_TIMEOUT = 3.5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskIdentity:
    """Which task instance (not which try): what a job's marker, its log cursor and the state lookup share."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1

    @classmethod
    def of(cls, ti: Any) -> TaskIdentity | None:
        """From a task instance (worker's, triggerer's, Airflow 2's ORM object); None when there is none."""
        if ti is None or not all(hasattr(ti, a) for a in ("dag_id", "task_id", "run_id")):
            return None
        map_index = getattr(ti, "map_index", -1)
        return cls(str(ti.dag_id), str(ti.task_id), str(ti.run_id), map_index if isinstance(map_index, int) else -1)


def read_state(identity: TaskIdentity) -> str:
    """The task instance's state now (``"none"`` for no state). Raises when Airflow cannot be asked."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        map_index = identity.map_index if identity.map_index >= 0 else None
        states = RuntimeTaskInstance.get_task_states(dag_id=identity.dag_id, task_ids=[identity.task_id],
                                                     run_ids=[identity.run_id], map_index=map_index)
        key = identity.task_id if map_index is None else f"{identity.task_id}_{map_index}"
        state = (states.get(identity.run_id) or {})[key]
    else:  # Airflow 2: the task process and the triggerer have the metadata database
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            state = session.scalar(select(TaskInstance.state).where(
                TaskInstance.dag_id == identity.dag_id, TaskInstance.task_id == identity.task_id,
                TaskInstance.run_id == identity.run_id, TaskInstance.map_index == identity.map_index))
    return str(getattr(state, "value", state) or "none").lower()


def read_state_within(identity: TaskIdentity, timeout: float = STATE_TIMEOUT) -> str | None:
    """:func:`read_state` in a helper thread, None when it fails or takes longer than ``timeout``.

    ``on_kill`` runs in a signal handler on the worker, possibly while the task's main thread holds the lock of
    Airflow's supervisor channel; asking from another thread (and giving up) cannot deadlock.
    """
    result: list[str] = []

    def read() -> None:
        try:
            result.append(read_state(identity))
        except Exception as err:  # outside a task runtime, or Airflow unreachable: treated as unknown
            log.warning("Could not read the state of %s: %s", identity, err)

    thread = threading.Thread(target=read, daemon=True, name="modelarts-task-state")
    thread.start()
    thread.join(timeout)
    return result[0] if result else None


def stops_job(state: str | None, *, in_trigger: bool) -> bool:
    """Whether an ``on_kill`` seeing ``state`` stops the job.

    In the triggerer a user cancelled the trigger, so any state but an ended one is a re-run (cleared; the new try
    may already be running or deferred). In the worker ``on_kill`` also follows ``execution_timeout`` and worker
    shutdowns (state still ``running``): only a cleared state spares the job.
    """
    if state is None:
        return True
    return state in ENDED_STATES if in_trigger else state not in RERUN_STATES


def describe(state: str | None) -> str:
    if state is None:
        return "its state could not be read"
    if state in ENDED_STATES:
        return f"it was marked {state}" if state in ("failed", "success") else f"it is {state}"
    return f"it was cleared (state {state}): the next try reattaches to the running job"
