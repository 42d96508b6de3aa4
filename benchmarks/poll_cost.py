"""9. Poll cost: the CPU one status poll costs the process that polls — the trigger runner's share per watch in
benchmark 8 — measured in one process with N watchers polling at once (``JobWatcher.apoll``, the trigger's poll:
sign, send over the shared httpx pools, parse), the emulator in its own process. Beside it, the same number of
bare ``httpx.AsyncClient`` GETs of the same URL (no signing, no parsing, no retry bookkeeping): the floor any
HTTP poll costs here (one client of 4 connections, 4 requests in flight: one of the provider's 8 pools).
CPU is ``time.process_time()`` around whole rounds.

    .venv-af3/bin/python -m benchmarks.poll_cost [--profile]    # --profile: where the CPU goes (cProfile)
"""

from __future__ import annotations

import asyncio
import sys
import time

from benchmarks.common import Row, isolate_airflow, long_virtual_jobs, quiet_logging, use_connection


async def _rounds(calls: list, rounds: int) -> tuple[float, float]:
    """CPU seconds per call: of the first round (a new watcher's first poll), and over ``rounds`` more rounds of all
    ``calls`` at once."""
    before = time.process_time()
    await asyncio.gather(*(call() for call in calls))
    first = (time.process_time() - before) / len(calls)
    before = time.process_time()
    for _ in range(rounds):
        await asyncio.gather(*(call() for call in calls))
    return first, (time.process_time() - before) / (rounds * len(calls))


def run(smoke: bool = False, profile: bool = False) -> list[Row]:
    isolate_airflow()
    import httpx

    from airflow_provider_modelarts.emulator import ModelArtsEmulator
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.watcher import JobWatcher

    watchers, rounds = (10, 3) if smoke else (200, 20)
    with ModelArtsEmulator(step_delay=0.05, virtual_jobs=True, max_running=watchers + 10) as emu, quiet_logging():
        use_connection(emu)
        versions = long_virtual_jobs(emu, ModelArtsHook(), watchers, "pollcost", lines=1)
        time.sleep(1.0)

        async def measure() -> tuple[float, float, float]:
            polls = [JobWatcher(ModelArtsHook(), v.job_id, v.version_id, print_log=False).apoll for v in versions]
            first, ours = await _rounds(polls, rounds)
            client = await ModelArtsHook().aclient()
            urls = [client.prepare(_status_request(v)).url for v in versions]
            # the floor: one client of 4 connections, 4 requests in flight (one of our pools, without the rest)
            gate = asyncio.Semaphore(4)
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=4, max_keepalive_connections=4)) as bare:
                async def get(url: str) -> None:
                    async with gate:
                        await bare.get(url)

                _, floor = await _rounds([lambda url=url: get(url) for url in urls], rounds)
            return first, ours, floor

        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            first, ours, floor = asyncio.run(measure())
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
        else:
            first, ours, floor = asyncio.run(measure())
    label = f"{watchers} watchers polling at once, v1, AK/SK"
    return [Row("9. Poll cost", f"CPU per status poll, polling process (ms; {label})", ours * 1000,
                f"bare httpx GET of the same URL: {floor * 1000:.2f} ms ({ours / floor:.1f}×)", "", None),
            Row("9. Poll cost", f"CPU of a new watcher's first poll (ms; {label})", first * 1000,
                "a new hook and watcher: a trigger's start in the triggerer", "", None)]


def _status_request(version):
    from airflow_provider_modelarts.hooks import api_v1

    return api_v1.get_version(version.job_id, version.version_id).request


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv, "--profile" in sys.argv):
        print(row.cells())
