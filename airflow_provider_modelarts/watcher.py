"""One piece of code that watches a job (v1 version or v2 job) — for the operator, the sensor and the trigger.

:class:`JobWatcher` polls the version, logs each state transition and tails every worker's log
incrementally (each line once; the cursor is serialisable, so it survives reschedules and deferrals).
Its steps are generators of API operations, driven synchronously by :meth:`poll` or asynchronously by
:meth:`apoll`, so the sync and async paths cannot drift apart. What differs between API versions comes from
the job's adapter (:mod:`airflow_provider_modelarts.adapters`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.adapters import for_ref, job_ref
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsAuthError
from airflow_provider_modelarts.hooks import api_v1 as api
from airflow_provider_modelarts.models import JobV2, JobVersion, LogCursor

if TYPE_CHECKING:
    from airflow_provider_modelarts.cursor_store import CursorStore

#: aom-log returns at most 500 lines per call (§2.10).
PAGE_LINES = 500
#: Bound on log pages read per worker per poll while the job runs, so tailing never starves status polling
#: (10,000 lines); the rest follows at the next poll, and the read after the job ended takes everything.
MAX_PAGES_PER_POLL = 20
#: The cursor to start from: before any line (cursors are nanosecond timestamps) [inference].
START_CURSOR = "0"

Steps = Generator[api.Operation, Any, Any]
#: "log not generated yet / not ready" (error-code appendix: 2818 LogFileNotGenerated, 2776 NotReadyToFetchLog):
#: no lines yet, not a failure
LOG_NOT_READY_CODES = frozenset({"ModelArts.2818", "ModelArts.2776", "ModelArts.0806"})
#: the log can never be read through this API (2819 LogFileHasCleared, 2820 LogPathNotFound, 2822
#: LogExportPathNotSet; all HTTP 400): noted once, that stream is no longer tailed, the status is still watched
LOG_UNREADABLE_CODES = frozenset({"ModelArts.2819", "ModelArts.2820", "ModelArts.2822"})


#: ANSI escape sequences (CSI: colours, cursor moves; OSC: titles, links) — removed from tailed lines unless
#: ``[modelarts] keep_ansi_escapes`` is set
ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def keep_ansi() -> bool:
    from airflow.providers.common.compat.sdk import conf

    return conf.getboolean("modelarts", "keep_ansi_escapes", fallback=False)


def cursor_save_interval() -> float:
    """``[modelarts] trigger_cursor_save_interval``: seconds between a trigger's saves of its log cursor."""
    from airflow.providers.common.compat.sdk import conf

    return max(0.0, conf.getfloat("modelarts", "trigger_cursor_save_interval", fallback=TRIGGER_SAVE_INTERVAL))


#: default of ``[modelarts] trigger_cursor_save_interval`` (benchmark 8: a save per poll is the triggerer's
#: bottleneck — every save is a Variable write through the triggerer's supervisor into the metadata DB)
TRIGGER_SAVE_INTERVAL = 300.0


def describe(job: JobVersion | JobV2) -> str:
    return job.label


class JobWatcher:
    """Watch one job version (v1: ``job_id`` + ``version_id``) or one v2 job (``version_id=None``).

    :param hook: a :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook`.
    :param print_log: tail the workers' logs into ``log``.
    :param cursor: where a previous watcher stopped (``LogCursor.to_json()``).
    :param log: where lines and transitions go (the task's or the trigger's logger).
    :param store: where the cursor is saved between processes (:class:`~.cursor_store.CursorStore`); a cursor
        saved there for this job wins over ``cursor`` (it is newer) once :meth:`restore` / :meth:`arestore` ran.
    """

    def __init__(self, hook: Any, job_id: int | str, version_id: int | str | None = None, *, print_log: bool = True,
                 cursor: dict[str, str] | None = None, last_status: int | str | None = None,
                 log: logging.Logger | Any = None, store: CursorStore | None = None) -> None:
        self.hook = hook
        self.ref = job_ref(job_id, version_id)
        self.api = for_ref(hook, self.ref)
        self.job_id = self.ref.job_id
        self.version_id = self.ref.version_id
        self.last_job: Any = None
        self.print_log = print_log
        self.cursor = LogCursor.from_json(cursor)
        self.last_status = last_status
        self.log = log or logging.getLogger(__name__)
        self.log_files: list[str] | None = None
        self.lines_emitted = 0
        self.unreadable: set[str] = set()
        self._warned: set[tuple[str, str | None]] = set()
        self.store = store
        self.keep_ansi = keep_ansi()
        #: the job ended (or was stopped) and the waiter has reported it: the saved cursor can go
        self.concluded = False
        #: when an outage that is still going on started (a reschedule-mode sensor counts across pokes)
        self.outage_since: float | None = None
        #: seconds between saves of the cursor after polls (0: after every poll that moved it); the trigger
        #: sets ``[modelarts] trigger_cursor_save_interval`` and saves on the way out with :meth:`aflush`
        self.save_interval = 0.0
        self._saved_at: float | None = None
        #: read the log in the poll that finds the job ended. A trigger does not: Airflow closes a trigger's log
        #: file as soon as it handles the trigger's end, and lines still on their way to it (the triggerer's log
        #: socket) land in the triggerer's own output instead. Its event carries the cursor (``log_cursor``) and
        #: the resumed task prints the rest (:func:`~airflow_provider_modelarts.waiting.complete_from_event`)
        self.tail_ended = True

    # ------------------------------------------------------------------ the saved cursor
    def _apply(self, saved: dict[str, Any] | None) -> None:
        if saved:
            self.cursor = LogCursor.from_json(saved.get("cursor"))
            self.last_status = saved.get("last_status", self.last_status)
            self.outage_since = saved.get("outage_since")

    def _state(self) -> dict[str, Any]:
        return {"cursor": self.cursor.to_json(), "last_status": self.last_status, "outage_since": self.outage_since}

    def save(self) -> None:
        """Save the cursor (and the state a next process continues from), when it changed."""
        if self.store is not None:
            self.store.save(**self._state())

    async def asave(self) -> None:
        if self.store is not None:
            await self.store.asave(**self._state())

    def _save_due(self) -> bool:
        now = time.monotonic()
        if self._saved_at is None:  # the clock starts at the first poll: a trigger that just started saved nothing
            self._saved_at = now
        if now - self._saved_at < self.save_interval:
            return False
        self._saved_at = now
        return True

    async def aflush(self) -> None:
        """Save the cursor now, whatever ``save_interval`` says (a trigger being cancelled); in a stopping
        Airflow 3 triggerer, without waiting for an answer that will not come (``cursor_store.replies_gone``)."""
        from airflow_provider_modelarts.cursor_store import replies_gone

        if self.store is not None and replies_gone():
            await self.store.asend(**self._state())
        else:
            await self.asave()

    def restore(self) -> None:
        """Continue from the cursor a previous process saved for this job (if any)."""
        if self.store is not None:
            self._apply(self.store.load())

    async def arestore(self) -> None:
        if self.store is not None:
            self._apply(await self.store.aload())

    def forget(self) -> None:
        """The wait is over: remove the saved cursor (once)."""
        if self.store is not None:
            self.store.delete()
            self.store = None

    # ------------------------------------------------------------------ steps (transport-free)
    def _poll_steps(self) -> Steps:
        version = yield self.api.get(self.ref)
        self.last_job = version
        if version.state.code != self.last_status:
            if not version.state.is_terminal:  # the end is reported after the last lines, by whoever waits
                self.log.info("%s is %s", describe(version), version.state)
            self.last_status = version.state.code
        if self.print_log and version.state.started and (self.tail_ended or not version.state.is_terminal):
            yield from self._tail_steps()  # (queued: no log to read yet)
        return version

    def _log_names(self) -> Steps:
        if not self.log_files:
            self.log_files = yield from self.api.log_names(self.ref, self.last_job)
        return self.log_files

    def _tail_steps(self, max_pages: int | None = MAX_PAGES_PER_POLL) -> Steps:
        """New lines of every worker's log: at most ``max_pages`` pages each while the job runs (so polling the
        status never starves), everything (``None``) once it ended — no line is ever skipped, only delayed."""
        try:
            names = yield from self._log_names()
        except ModelArtsApiError as err:
            self._log_read_failed("(log file list)", err)
            return
        for name in names:
            if name in self.unreadable:
                continue
            base = self.cursor.positions.get(name, START_CURSOR)
            pages = 0
            while max_pages is None or pages < max_pages:
                pages += 1
                try:
                    chunk = yield self.api.log_page(self.ref, name, base, PAGE_LINES)
                except ModelArtsApiError as err:
                    self._log_read_failed(name, err)
                    break
                for line in chunk.text_lines():
                    self.log.info("[%s] %s", name, line if self.keep_ansi else ANSI_RE.sub("", line))
                self.lines_emitted += chunk.lines
                if chunk.lines:
                    base = chunk.end_line
                    self.cursor.positions[name] = base
                if chunk.lines < PAGE_LINES:
                    break

    def _log_read_failed(self, name: str, err: ModelArtsApiError) -> None:
        """A log that cannot be read never fails the wait: say so once, keep watching the job's status."""
        if err.error_code in LOG_NOT_READY_CODES:
            return  # this worker has written nothing yet
        if isinstance(err, ModelArtsAuthError):
            raise err  # the status poll would fail the same way: a configuration error, not a log problem
        if err.error_code in LOG_UNREADABLE_CODES:
            self.unreadable.add(name)
            self.log.warning("The training log %s cannot be read through the API (%s); not tailing it any more, "
                             "still watching the job's status. The job's log_url (OBS) or the console has it.",
                             name, err)
        elif (name, err.error_code) not in self._warned:
            self._warned.add((name, err.error_code))
            self.log.warning("Could not read the training log %s (%s); trying again at the next poll", name, err)

    def _failure_log_steps(self, lines: int) -> Steps:
        """The last ``lines`` lines of every worker's log, as one text block."""
        if lines <= 0:
            return ""
        blocks = []
        for name in (yield from self._log_names()):
            try:
                chunk = yield self.api.log_latest(self.ref, name, min(lines, PAGE_LINES))
            except ModelArtsApiError as err:
                if isinstance(err, ModelArtsAuthError):
                    raise
                blocks.append(f"--- {name}: no log ({err}) ---")
                continue
            blocks.append(f"--- last {chunk.lines} lines of {name} ---\n{chunk.content}")
        return "\n".join(blocks)

    # ------------------------------------------------------------------ drivers
    def _run(self, steps: Steps) -> Any:
        return drive_sync(self.hook.run, steps)

    async def _arun(self, steps: Steps) -> Any:
        return await drive_async(self.hook.arun, steps)

    def poll(self) -> JobVersion:
        """One status poll (and one round of log tailing); the cursor is saved when it moved."""
        version = self._run(self._poll_steps())
        self.save()
        return version

    async def apoll(self) -> JobVersion:
        version = await self._arun(self._poll_steps())
        if self.save_interval <= 0 or self._save_due():
            await self.asave()
        return version

    def tail(self) -> None:
        """A final read after the job ended, for lines written since the last poll."""
        if self.print_log:
            self._run(self._tail_steps(max_pages=None))
            self.save()

    def failure_log(self, lines: int) -> str:
        return self._run(self._failure_log_steps(lines))


def drive_sync(run: Callable[[api.Operation], Any], steps: Steps) -> Any:
    """Run the steps; an API error is thrown back into them, where a step may handle it."""
    try:
        operation = next_step(steps, None, None)  # steps that need no request end here
        while True:
            try:
                result, error = run(operation), None
            except ModelArtsApiError as err:
                result, error = None, err
            operation = next_step(steps, result, error)
    except StopIteration as done:
        return done.value


async def drive_async(arun: Callable[[api.Operation], Any], steps: Steps) -> Any:
    try:
        operation = next_step(steps, None, None)
        while True:
            try:
                result, error = await arun(operation), None
            except ModelArtsApiError as err:
                result, error = None, err
            operation = next_step(steps, result, error)
    except StopIteration as done:
        return done.value


def next_step(steps: Steps, result: Any, error: Exception | None) -> api.Operation:
    return steps.throw(error) if error is not None else steps.send(result)


def outcome_message(version: JobVersion | JobV2) -> str:
    text = f"{describe(version)} ended {version.state}"
    if version.error_info:
        text += f": {version.error_info}"
    return text
