"""What happens when a watched job version ends — shared by the operator, the sensor and execute_complete."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsJobError
from airflow_provider_modelarts.models import JobV2, JobVersion
from airflow_provider_modelarts.watcher import JobWatcher, outcome_message

EVENT_STATUSES = ("success", "failed", "stopped", "timeout", "error")


def finish(watcher: JobWatcher, version: JobVersion | JobV2, *, failure_log_lines: int,
           log: Any) -> JobVersion | JobV2:
    """Return a completed version; otherwise put every worker's last log lines into the log and raise."""
    if version.state.is_successful:
        log.info("%s", outcome_message(version))
        return version
    message = outcome_message(version)
    try:
        tail = watcher.failure_log(failure_log_lines)
    except ModelArtsApiError as err:
        tail = f"(could not read the training log: {err})"
    if tail:
        log.error("%s\n%s", message, tail)
    raise ModelArtsJobError(message + ("\n" + tail[-4000:] if tail else ""))


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


def wait(watcher: JobWatcher, *, poll_interval: float, deadline: float | None, failure_log_lines: int,
         log: Any) -> JobVersion | JobV2:
    """Poll in this worker until the version ends (or the deadline passes: then stop it and fail)."""
    while True:
        version = watcher.poll()
        if version.state.is_terminal:
            watcher.tail()
            return finish(watcher, version, failure_log_lines=failure_log_lines, log=log)
        if deadline is not None and time.time() >= deadline:
            stop_quietly(watcher.hook, watcher.job_id, watcher.version_id, log)
            raise ModelArtsJobError(f"max_run_time exceeded: stopped job_id={watcher.job_id} "
                                    f"version_id={watcher.version_id}")
        time.sleep(poll_interval)


def complete_from_event(watcher: JobWatcher, event: dict[str, Any] | None, *, failure_log_lines: int,
                        log: Any) -> JobVersion | JobV2:
    """``execute_complete``: validate the trigger's event, then succeed or fail as ``wait`` would."""
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise ModelArtsJobError(f"Invalid trigger event: {event!r}")
    if str(event.get("job_id")) != str(watcher.job_id) or str(event.get("version_id")) != str(watcher.version_id):
        raise ModelArtsJobError(f"Trigger event for another job version: {event!r}")
    status = event["status"]
    if status == "error":
        raise ModelArtsJobError(f"Watching job_id={watcher.job_id} version_id={watcher.version_id} failed: "
                                f"{event.get('message')}")
    if status == "timeout":
        stop_quietly(watcher.hook, watcher.job_id, watcher.version_id, log)
        raise ModelArtsJobError(f"max_run_time exceeded: stopped job_id={watcher.job_id} "
                                f"version_id={watcher.version_id}")
    version = watcher.hook.get_job(watcher.job_id, watcher.version_id)
    return finish(watcher, version, failure_log_lines=failure_log_lines, log=log)
