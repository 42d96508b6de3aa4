"""The triggerer's side of the saved log cursor (benchmark 8: at 10,000 triggers every Variable call goes through
the triggerer's supervisor, so starting triggers must not each ask for a cursor that was never saved)."""

from __future__ import annotations

import asyncio

from helpers import MemoryVariables

from airflow_provider_modelarts import cursor_store
from airflow_provider_modelarts.cursor_store import CursorStore
from airflow_provider_modelarts.task_state import TaskIdentity


class Counting(MemoryVariables):
    calls: list[str] = []

    @classmethod
    def get(cls, key, *args, **kwargs):
        cls.calls.append(f"get {key}")
        return super().get(key, *args, **kwargs)

    @classmethod
    def keys(cls, prefix=None):
        cls.calls.append(f"keys {prefix}")
        return super().keys(prefix)


def _store(index: int) -> CursorStore:
    return CursorStore(TaskIdentity("dag", "watch", "run", index), f"job_id={index}")


def test_starting_triggers_share_one_listing_and_read_only_saved_cursors(monkeypatch):
    Counting.calls = []
    monkeypatch.setattr(cursor_store, "variables", lambda: Counting)
    _store(7).save({"worker-0": "123"}, 8)  # a previous triggerer saved one of them

    async def start_all() -> list:
        return await asyncio.gather(*(_store(i).aload() for i in range(50)))

    loaded = asyncio.run(start_all())
    assert Counting.calls == ["keys modelarts_log_cursor", f"get {_store(7).key}"]
    assert [i for i, value in enumerate(loaded) if value] == [7]
    assert loaded[7]["cursor"] == {"worker-0": "123"}


def test_a_cursor_saved_by_this_process_is_read_back_within_the_listing_ttl(monkeypatch):
    Counting.calls = []
    monkeypatch.setattr(cursor_store, "variables", lambda: Counting)

    async def restart() -> dict | None:
        assert await _store(1).aload() is None  # listed: nothing saved yet
        await _store(1).asave({"worker-0": "42"}, 8)  # a cancelled trigger's flush
        return await _store(1).aload()  # its successor, seconds later, in the same process

    assert asyncio.run(restart())["cursor"] == {"worker-0": "42"}
    assert Counting.calls.count("keys modelarts_log_cursor") == 1


def test_a_deleted_cursor_is_not_asked_for(monkeypatch):
    Counting.calls = []
    monkeypatch.setattr(cursor_store, "variables", lambda: Counting)

    async def run() -> None:
        store = _store(2)
        await store.aload()
        await store.asave({"worker-0": "1"}, 8)
        store.delete()  # the wait ended
        Counting.calls.clear()
        assert await _store(2).aload() is None

    asyncio.run(run())
    assert Counting.calls == []


def test_without_a_listing_each_trigger_reads_its_own(monkeypatch):
    """Airflow 2's Variable model has no ``keys``: every starting trigger reads its own Variable."""
    class NoListing(MemoryVariables):
        gets = 0
        keys = None

        @classmethod
        def get(cls, key, *args, **kwargs):
            cls.gets += 1
            return super().get(key, *args, **kwargs)

    monkeypatch.setattr(cursor_store, "variables", lambda: NoListing)

    async def start_all() -> None:
        await asyncio.gather(*(_store(i).aload() for i in range(5)))

    asyncio.run(start_all())
    assert NoListing.gets == 5


def test_a_stopping_triggerer_sends_every_last_save_at_once_without_waiting_for_replies(monkeypatch):
    """Airflow 3's trigger runner, stopping, cancels its reader of the supervisor's replies before it cancels the
    triggers: a save's reply never comes. All 100 cancelled triggers' saves go out (not the first 32, behind calls
    that never return), and none of them waits for an answer."""
    import threading
    import time
    import types
    from unittest import mock

    import pytest

    from airflow_provider_modelarts.watcher import JobWatcher

    task_runner = pytest.importorskip("airflow.sdk.execution_time.task_runner")
    assert not cursor_store.replies_gone()  # no runner here: replies come
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS",
                        types.SimpleNamespace(_reader_task=types.SimpleNamespace(done=lambda: True)), raising=False)
    assert cursor_store.replies_gone()
    sent: list[str] = []
    release = threading.Event()

    class NoReply(MemoryVariables):
        @classmethod
        def set(cls, key, value, serialize_json=False):
            sent.append(key)
            release.wait(30)  # the request went out; its answer never comes

    monkeypatch.setattr(cursor_store, "variables", lambda: NoReply)
    monkeypatch.setattr(cursor_store, "SEND_GRACE", 0.2)
    watchers = []
    for index in range(100):
        watcher = JobWatcher(mock.MagicMock(), job_id=index, version_id=1, store=_store(index))
        watcher.cursor.positions["worker-0"] = str(index)
        watchers.append(watcher)

    async def cancel_all() -> None:
        await asyncio.wait_for(asyncio.gather(*(w.aflush() for w in watchers)), 5)

    started = time.monotonic()
    try:
        asyncio.run(cancel_all())
        took = time.monotonic() - started
        deadline = time.monotonic() + 5
        while len(sent) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(sent) == sorted(_store(i).key for i in range(100))
        assert took < 2, took
    finally:
        release.set()
