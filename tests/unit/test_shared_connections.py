"""Starting triggers share their connection (benchmark 8: at 10,000 triggers in one triggerer every connection
fetch and every secret mask is a round trip through the triggerer's supervisor)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from airflow_provider_modelarts.hooks import connection as connection_module
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

SK = "sk-0123456789abcdef"


class Backend:
    """Stands in for the SDK: counts connection fetches and the secrets sent to the masker."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import airflow.providers.common.compat.connection as compat_connection
        import airflow.providers.common.compat.sdk as compat_sdk

        self.fetches: list[str] = []
        self.masked: list[str] = []
        self.fail_next = 0
        self.secret = SK
        monkeypatch.setattr(compat_connection, "get_async_connection", self.get_async_connection)
        monkeypatch.setattr(compat_sdk, "mask_secret", self.masked.append, raising=False)

    async def get_async_connection(self, conn_id: str, hook: object = None) -> SimpleNamespace:
        self.fetches.append(conn_id)
        await asyncio.sleep(0.01)  # a round trip: every hook that starts meanwhile waits for this one
        if self.fail_next:
            self.fail_next -= 1
            raise LookupError(f"The conn_id `{conn_id}` isn't defined")
        return SimpleNamespace(conn_id=conn_id, conn_type="modelarts", host=None, login="AK123", password=self.secret,
                               extra=json.dumps({"region": "cn-north-4", "project_id": "p1"}))


async def _clients(count: int, conn_id: str = "modelarts_default") -> list:
    return await asyncio.gather(*(ModelArtsHook(modelarts_conn_id=conn_id).aclient() for _ in range(count)),
                                return_exceptions=True)


def test_starting_hooks_fetch_the_connection_once_and_mask_its_secret_once(monkeypatch):
    backend = Backend(monkeypatch)

    async def start() -> tuple[list, list]:
        first = await _clients(50)
        other = await _clients(3, "modelarts_other")
        return first, other

    first, other = asyncio.run(start())
    assert backend.fetches == ["modelarts_default", "modelarts_other"]
    assert backend.masked == [SK]  # the same secret under two connection ids: registered once
    assert {c.config.login for c in first + other} == {"AK123"}
    assert len({id(c) for c in first}) == 50  # each hook has its own client (own pools, own signer state)


def test_a_connection_is_fetched_again_after_the_ttl(monkeypatch):
    backend = Backend(monkeypatch)
    now = [1000.0]
    monkeypatch.setattr(connection_module.ASYNC_CONFIGS, "clock", lambda: now[0])

    async def start() -> list[str]:
        await _clients(2)
        now[0] += connection_module.ASYNC_CONFIG_TTL - 1
        await _clients(2)
        assert len(backend.fetches) == 1
        now[0] += 2
        backend.secret = "sk-rotated-0000000000"
        return [c.config.secret for c in await _clients(2)]

    assert asyncio.run(start()) == ["sk-rotated-0000000000"] * 2
    assert len(backend.fetches) == 2
    assert backend.masked == [SK, "sk-rotated-0000000000"]


def test_a_failed_fetch_fails_its_waiters_and_is_not_kept(monkeypatch):
    backend = Backend(monkeypatch)
    backend.fail_next = 1

    async def start() -> tuple[list, list]:
        return await _clients(5), await _clients(5)

    failed, started = asyncio.run(start())
    assert all(isinstance(result, LookupError) for result in failed)
    assert not any(isinstance(result, BaseException) for result in started)
    assert len(backend.fetches) == 2


def test_a_cancelled_hook_leaves_the_fetch_to_the_others(monkeypatch):
    backend = Backend(monkeypatch)

    async def start() -> list:
        first = asyncio.ensure_future(ModelArtsHook().aclient())
        others = asyncio.ensure_future(_clients(3))
        await asyncio.sleep(0)  # both wait for the one fetch
        first.cancel()
        return await others

    clients = asyncio.run(start())
    assert [c.config.secret for c in clients] == [SK] * 3
    assert len(backend.fetches) == 1
