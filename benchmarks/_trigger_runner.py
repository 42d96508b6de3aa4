"""Child process of triggerer_scale: runs N TrainingJobTriggers in one asyncio event loop, the way Airflow's
triggerer runs them, and reports event times, loop lag, CPU and peak RSS as JSON on stdout."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time


async def main(jobs: list[dict], poll: float) -> dict:
    from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

    events: dict[str, dict] = {}
    lags: list[float] = []
    startup_lags: list[float] = []
    first_polls: set[int] = set()
    done = asyncio.Event()

    async def watch(job: dict) -> None:
        trigger = TrainingJobTrigger(job_id=job["job_id"], version_id=job["version_id"], poll_interval=poll,
                                     print_log=False)
        original = trigger._watcher

        def watcher_marking_first_poll(log):
            watcher = original(log)
            apoll = watcher.apoll

            async def counted():
                try:
                    return await apoll()
                finally:
                    first_polls.add(job["version_id"])

            watcher.apoll = counted
            return watcher

        trigger._watcher = watcher_marking_first_poll
        async for event in trigger.run():
            events[str(job["version_id"])] = {"status": event.payload["status"], "at": time.time()}
            break

    async def monitor() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            started = loop.time()
            await asyncio.sleep(0.05)
            # until every trigger has polled once, lags include one-time imports and connection set-up
            (lags if len(first_polls) == len(jobs) else startup_lags).append(loop.time() - started - 0.05)

    monitor_task = asyncio.create_task(monitor())
    await asyncio.gather(*(watch(job) for job in jobs))
    done.set()
    await monitor_task
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"events": events, "max_lag": max(lags, default=0.0), "lags_over_100ms": sum(lag > 0.1 for lag in lags),
            "max_startup_lag": max(startup_lags, default=0.0),
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024}


if __name__ == "__main__":
    spec = json.loads(open(sys.argv[1]).read())
    import logging

    logging.disable(logging.CRITICAL)
    # what a running triggerer has loaded already: import before measuring
    import anyio  # noqa: F401  (httpcore imports its async backend on first use: ~90 ms, once per process)
    import httpcore._backends.anyio  # noqa: F401
    import httpx  # noqa: F401
    from airflow.providers.common.compat.connection import get_async_connection  # noqa: F401

    import airflow_provider_modelarts.hooks.modelarts  # noqa: F401
    import airflow_provider_modelarts.triggers.training  # noqa: F401
    import airflow_provider_modelarts.watcher  # noqa: F401

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(main(spec["jobs"], spec["poll"]))
    result["cpu_seconds"] -= cpu_before.ru_utime + cpu_before.ru_stime
    print(json.dumps(result))
