"""3. Log efficiency: a job writing 200,000 lines (~19 MB) in ~20 s, tailed into the task log by each way of
waiting — the operator's ``wait``, a poke-mode sensor, a reschedule-mode sensor (a new watcher per poke from the
saved cursor) and the trigger (``TrainingJobTrigger.run``) — at 5 s polls, far more lines per poll than one
poll reads: bytes fetched / bytes of log, and every line delivered exactly once, in order."""

from __future__ import annotations

import sys
import time

from benchmarks.common import LineLog, Row, isolate_airflow, quiet_logging, use_connection


def _job(emu, name: str, lines: int, seconds: float):
    from helpers import framework_job

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    batch = max(1, lines // 50)
    script = (f"import sys, time\nfor i in range({lines}):\n"
              f"    sys.stdout.write('line %07d ' % i + 'x' * 84 + '\\n')\n"
              f"    if i % {batch} == 0:\n        sys.stdout.flush(); time.sleep({seconds / 50})\n")
    hook = ModelArtsHook()
    return hook, hook.create_training_job(framework_job(emu, name, script))


def _tail(emu, lines: int, seconds: float, mode: str, poll: float) -> tuple[float, int, int, int]:
    import asyncio

    from airflow_provider_modelarts import waiting
    from airflow_provider_modelarts.triggers.training import TrainingJobTrigger
    from airflow_provider_modelarts.watcher import JobWatcher

    emu.reset_stats()
    hook, version = _job(emu, f"logs_{mode.replace(' ', '_')}_{int(time.time() * 1000)}", lines, seconds)
    log = LineLog()
    watcher = JobWatcher(hook, version.job_id, version.version_id, log=log)
    if mode == "operator wait":
        waiting.wait(watcher, poll_interval=poll, deadline=None, failure_log_lines=0, log=log)
    elif mode == "trigger":
        trigger = TrainingJobTrigger(job_id=version.job_id, version_id=version.version_id, poll_interval=poll)
        trigger._log = log

        async def first_event() -> None:
            async for _ in trigger.run():
                return

        asyncio.run(first_event())
    else:
        while True:
            if mode == "sensor reschedule":  # a new process per poke: a fresh watcher from the saved cursor
                watcher = JobWatcher(hook, version.job_id, version.version_id, log=log,
                                     cursor=watcher.cursor.to_json(), last_status=watcher.last_status)
            current = watcher.poll()
            if current.state.is_terminal:
                watcher.tail()
                break
            time.sleep(poll)
    delivered = [m.split("] ", 1)[1] for m in log.messages if m.startswith("[job-")]
    expected = [f"line {i:07d} " + "x" * 84 for i in range(lines)]
    log_bytes = sum(len(line) + 1 for line in expected)
    fetched = emu.stats()["response_bytes"].get("aom_log", 0)
    exactly_once = delivered == expected
    return fetched / log_bytes, log_bytes, len(delivered), int(exactly_once)


def run(smoke: bool = False) -> list[Row]:
    isolate_airflow()
    from airflow_provider_modelarts.emulator import ModelArtsEmulator

    lines, seconds, poll = (2_000, 1.0, 0.5) if smoke else (200_000, 20.0, 5.0)
    rows = []
    with ModelArtsEmulator(step_delay=0.05) as emu, quiet_logging():
        use_connection(emu)
        for mode in ("operator wait", "sensor poke", "sensor reschedule", "trigger"):
            ratio, log_bytes, delivered, once = _tail(emu, lines, seconds, mode, poll)
            rows.append(Row("3. Log efficiency", f"{mode}: bytes fetched / bytes of log ({log_bytes / 1e6:.1f} MB)",
                            ratio, "", "≤ 1.1", ratio <= 1.1))
            rows.append(Row("3. Log efficiency", f"{mode}: lines delivered exactly once, in order",
                            f"{delivered}/{lines}", "", "all, once", bool(once)))
    return rows


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
