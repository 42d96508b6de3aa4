"""A trigger's log lines, written off the triggerer's event loop.

In Airflow 3 a trigger's log record goes from the trigger runner to its supervisor over a socket. When the
supervisor is busy (thousands of triggers: its own metadata-DB bookkeeping, the events it writes) that socket fills
up, and a log call made on the event loop blocks the loop — every trigger of the triggerer stops until the
supervisor reads again (benchmark 8: Airflow's "async thread was blocked" warnings as 10,000 watches end, and with
log tailing a deadlock: the supervisor blocks sending to a runner whose loop is blocked writing a log line).

:class:`OffLoopLog` hands each record to one writer thread per process, in order, with the caller's context
variables (Airflow routes a record to the trigger's log file by them), as Airflow's own ``log.ainfo`` does with a
thread of its executor. :meth:`OffLoopLog.drain` waits — without blocking the loop — until everything logged so far
is written: a tailing trigger drains after each poll that printed lines (while the log path is saturated, tailing
slows down instead of piling lines up in memory), and a cancelled one before it goes. A trigger's event is never
held for its log lines: the task resumes, and the lines follow; a process that exits first (a stopped triggerer)
writes what is still queued on its way out, for up to :data:`EXIT_TIMEOUT` seconds. (Airflow closes a trigger's
log file as soon as it handles the trigger's end, so a line that reaches the supervisor after that lands in the
triggerer's own output: the lines of the poll that finds the job ended are left to the resumed task, see
``JobWatcher.tail_ended``.)
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

_queue: queue.SimpleQueue | None = None
_queue_lock = threading.Lock()
#: seconds an exiting process (a stopped triggerer) gives the writer to write the lines still queued
EXIT_TIMEOUT = 10.0


def _write(records: queue.SimpleQueue) -> None:
    while True:
        context, call, args, kwargs = records.get()
        try:
            context.run(call, *args, **kwargs)
        except Exception:  # noqa: S110 - a log line must never end the writer (nor can it be logged)
            pass


def _submit(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    global _queue
    if _queue is None:
        with _queue_lock:
            if _queue is None:
                records: queue.SimpleQueue = queue.SimpleQueue()
                threading.Thread(target=_write, args=(records,), name="modelarts-trigger-log", daemon=True).start()
                # Airflow's trigger runner runs the exit functions registered after its fork: the lines of triggers
                # that already fired (their events went, their lines may still be queued) are written before it goes
                atexit.register(_write_the_rest, records)
                _queue = records
    _queue.put((contextvars.copy_context(), call, args, kwargs))


def _forget_after_fork() -> None:
    """A forked child (Airflow's trigger runner is forked from its supervisor) has the queue but not the thread:
    it starts its own at its first line."""
    global _queue
    _queue = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _write_the_rest(records: queue.SimpleQueue) -> None:
    written = threading.Event()
    records.put((contextvars.copy_context(), written.set, (), {}))
    written.wait(EXIT_TIMEOUT)


class OffLoopLog:
    """A logger's ``debug`` / ``info`` / ``warning`` / ``error`` / ``exception``, written by a thread.

    :param log: the trigger's logger (``BaseTrigger.log``).
    """

    def __init__(self, log: Any) -> None:
        self._log = log
        self._pending = False

    def _put(self, level: str, msg: str, args: tuple, kwargs: dict[str, Any]) -> None:
        self._pending = True
        _submit(getattr(self._log, level), msg, *args, **kwargs)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._put("debug", msg, args, kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._put("info", msg, args, kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._put("warning", msg, args, kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._put("error", msg, args, kwargs)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", sys.exc_info())  # the writer thread has no current exception
        self._put("error", msg, args, kwargs)

    async def drain(self) -> None:
        """Return once every line logged through this object so far is written (at once when there is none)."""
        if not self._pending:
            return
        self._pending = False
        loop = asyncio.get_running_loop()
        written = loop.create_future()

        def wake() -> None:
            if not written.done():
                written.set_result(None)

        _submit(loop.call_soon_threadsafe, wake)
        await written
