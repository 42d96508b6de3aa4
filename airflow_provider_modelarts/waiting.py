"""What happens when a watched job version ends — shared by the operator, the sensor and execute_complete."""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from airflow_provider_modelarts import task_state
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsJobError,
    ModelArtsUnreachableError,
)
from airflow_provider_modelarts.models import JobRef, JobV2, JobVersion
from airflow_provider_modelarts.task_state import TaskIdentity
from airflow_provider_modelarts.watcher import JobWatcher, LogCursor, outcome_message

EVENT_STATUSES = ("success", "failed", "stopped", "timeout", "error")

#: why a wait ran out of time (the trigger's ``deadline_reason``): the operator's ``max_run_time``, Airflow's
#: ``execution_timeout``, or a sensor's ``timeout``
DEADLINE_REASONS = ("max_run_time", "execution_timeout", "timeout")


def deadline_for(context: Any, limits: dict[str, float | None]) -> tuple[float | None, str]:
    """The earliest of ``{reason: seconds from the try's start}``, as (epoch seconds, reason)."""
    ti = context.get("ti") if context else None
    started = getattr(ti, "start_date", None)
    start = started.timestamp() if started is not None else time.time()
    candidates = [(start + float(seconds), reason) for reason, seconds in limits.items() if seconds]
    return min(candidates) if candidates else (None, "max_run_time")


def out_of_time(hook: Any, ref: JobRef, reason: str, log: Any, *, stop: bool = True) -> Exception:
    """Stop the job (``stop``) and return the error the task fails with: a sensor's ``timeout`` fails without
    retries (as Airflow's sensors do); ``execution_timeout`` is Airflow's task timeout; ``max_run_time`` ours."""
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowTaskTimeout

    if stop:
        stop_quietly(hook, ref.job_id, ref.version_id, log)
    what = f"stopped job {ref}" if stop else f"job {ref} is still running (this sensor did not create it)"
    if reason == "timeout":
        return AirflowSensorTimeout(f"Sensor timeout passed: {what}")
    if reason == "execution_timeout":
        return AirflowTaskTimeout(f"execution_timeout passed while waiting: {what}")
    return ModelArtsJobError(f"max_run_time exceeded: {what}")


def finish(watcher: JobWatcher, version: JobVersion | JobV2, *, failure_log_lines: int,
           log: Any, hint: str = "") -> JobVersion | JobV2:
    """Return a completed version; otherwise put every worker's last log lines into the log (once) and raise
    an error that points at them (and says how to train again: ``hint``)."""
    watcher.concluded = True
    message = outcome_message(version)
    if version.state.is_successful:
        log.info("%s", message)
        return version
    try:
        tail = watcher.failure_log(failure_log_lines)
    except ModelArtsApiError as err:
        tail = f"(could not read the training log: {err})"
    log.error("%s\n%s", message, tail) if tail else log.error("%s", message)
    raise ModelArtsJobError(message + (" — the last lines of each worker's log are above" if tail else "") + hint)


@contextmanager
def concluding(watcher: JobWatcher, context: Any) -> Generator[None, None, None]:
    """Remove the saved log cursor when the wait is over: the job ended (:func:`finish` ran) or the task fails
    for good. A deferral or reschedule keeps it, and so does an API or network error with a retry to come
    (the retry reattaches to the same job and continues from it)."""
    try:
        yield
    except Exception as err:
        transient = isinstance(err, (ModelArtsApiError, OSError)) and not isinstance(err, ModelArtsAuthError)
        if type(err).__name__ in ("TaskDeferred", "AirflowRescheduleException"):
            raise
        if watcher.concluded or not (transient and _retry_coming(context)):
            watcher.forget()
        raise
    if watcher.concluded:
        watcher.forget()


def _retry_coming(context: Any) -> bool:
    ti = context.get("ti") if context else None
    try:
        return int(ti.try_number) <= int(ti.max_tries)
    except (AttributeError, TypeError, ValueError):
        return False


#: how long a wait rides out an unreachable or failing service by default (a real incident, not a blip)
OUTAGE_WINDOW = 600.0


class Outage:
    """A wait that keeps going while ModelArts is unreachable or answers 5xx — the job runs on regardless —
    for up to ``window`` seconds; logged once when it starts and once when it ends.

    :param window: seconds of consecutive failures to ride out (0: fail at the first).
    :param log: the task's or trigger's logger.
    :param since: when an outage a previous process saw started (epoch seconds), to continue counting.
    """

    def __init__(self, window: float, log: Any, since: float | None = None) -> None:
        self.window = float(window)
        self.log = log
        self.since = since

    def ride_out(self, err: ModelArtsApiError, ref: Any) -> None:
        """Return to keep waiting; raise when ``err`` is no outage or the window has passed."""
        from airflow_provider_modelarts.hooks.http import is_outage

        if not is_outage(err):
            raise err
        now = time.time()
        if self.since is None:
            self.since = now
            self.log.warning("ModelArts is not answering (%s); job %s runs on without us — still waiting, for up "
                             "to %.0f s", err, ref, self.window)
        if now - self.since >= self.window:
            raise ModelArtsUnreachableError(
                f"ModelArts did not answer for {now - self.since:.0f} s (outage_window={self.window:.0f}); job "
                f"{ref} may still be running. Clear this task (or let it retry) to reattach to it. Last error: "
                f"{err}", http_status=err.http_status, error_code=err.error_code) from err

    def over(self) -> None:
        if self.since is not None:
            self.log.info("ModelArts answers again after %.0f s", time.time() - self.since)
            self.since = None


#: "not running / cannot terminate in this phase": the job already ended
ALREADY_ENDED_CODES = ("ModelArts.6357", "ModelArts.2796")


def stop_quietly(hook: Any, job_id: int | str, version_id: int | str | None, log: Any) -> None:
    """Stop a version (v1) or a job (v2); one that already ended is not an error here."""
    try:
        hook.stop_job(job_id, version_id)
        log.info("Asked ModelArts to stop job_id=%s version_id=%s", job_id, version_id)
    except ModelArtsApiError as err:
        if err.error_code not in ALREADY_ENDED_CODES:
            raise
        log.info("Job %s / version %s already ended: %s", job_id, version_id, err.message)


def stop_on_kill(hook: Any, ref: JobRef, identity: TaskIdentity | None, log: Any, *, in_trigger: bool) -> None:
    """``on_kill`` in the worker: stop the job unless the task instance was cleared (see :mod:`.task_state`)."""
    state = task_state.read_state_within(identity, task_state.WORKER_STATE_TIMEOUT) if identity is not None else None
    if not task_state.stops_job(state, in_trigger=in_trigger):
        log.info("Task killed, but %s; job %s keeps running", task_state.describe(state), ref)
        return
    log.info("Task killed (%s): stopping job %s", task_state.describe(state), ref)
    stop_quietly(hook, ref.job_id, ref.version_id, log)


def until_next_poll(poll_interval: float, polled_at: float) -> float:
    """Seconds to sleep before the next poll: ``poll_interval`` runs from the start of one poll (``polled_at``,
    ``time.monotonic()``) to the start of the next, so a slow answer does not push every later poll back."""
    return max(0.0, poll_interval - (time.monotonic() - polled_at))


def wait(watcher: JobWatcher, *, poll_interval: float, deadline: float | None, failure_log_lines: int,
         log: Any, hint: str = "", outage_window: float = OUTAGE_WINDOW) -> JobVersion | JobV2:
    """Poll in this worker until the version ends (or ``max_run_time`` passes: then stop it and fail; Airflow
    enforces ``execution_timeout`` here and calls ``on_kill``). An outage is ridden out (:class:`Outage`)."""
    outage = Outage(outage_window, log)
    while True:
        polled_at = time.monotonic()
        try:
            version = watcher.poll()
        except ModelArtsApiError as err:
            outage.ride_out(err, watcher.ref)
            time.sleep(until_next_poll(poll_interval, polled_at))
            continue
        outage.over()
        if version.state.is_terminal:
            watcher.tail()
            return finish(watcher, version, failure_log_lines=failure_log_lines, log=log, hint=hint)
        if deadline is not None and time.time() >= deadline:
            watcher.concluded = True
            raise out_of_time(watcher.hook, watcher.ref, "max_run_time", log)
        time.sleep(until_next_poll(poll_interval, polled_at))


def valid_event(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise ModelArtsJobError(f"Invalid trigger event: {event!r}")
    return event


def complete_from_event(watcher: JobWatcher, event: dict[str, Any] | None, *, failure_log_lines: int,
                        log: Any, hint: str = "", stop_on_timeout: bool = True) -> JobVersion | JobV2:
    """``execute_complete``: validate the trigger's event, then succeed or fail as ``wait`` would. A
    ``timeout`` event stops the job (unless ``stop_on_timeout`` is False and the reason is a sensor timeout)."""
    event = valid_event(event)
    if str(event.get("job_id")) != str(watcher.job_id) or str(event.get("version_id")) != str(watcher.version_id):
        raise ModelArtsJobError(f"Trigger event for another job version: {event!r}")
    status = event["status"]
    if status == "error":
        raise ModelArtsJobError(f"Watching job_id={watcher.job_id} version_id={watcher.version_id} failed: "
                                f"{event.get('message')}")
    watcher.concluded = True
    if status == "timeout":
        reason = event.get("reason") if event.get("reason") in DEADLINE_REASONS else "max_run_time"
        raise out_of_time(watcher.hook, watcher.ref, reason, log, stop=stop_on_timeout or reason != "timeout")
    version = watcher.hook.get_job(watcher.job_id, watcher.version_id)
    if watcher.print_log and event.get("log_cursor") is not None:
        # the trigger printed up to its cursor and left the lines written since to the task's own log, which
        # Airflow keeps open (see JobWatcher.tail_ended); an event without one (an older trigger): it printed all
        watcher.cursor = LogCursor.from_json(event["log_cursor"])
        watcher.last_job = version
        watcher.tail()
    return finish(watcher, version, failure_log_lines=failure_log_lines, log=log, hint=hint)
