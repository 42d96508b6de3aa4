"""7. Emulator cost: what one status poll and one log page cost the emulator's server process, with N virtual
jobs running (no process per job: ``--virtual-jobs``), so a scale benchmark measures the triggerer, not the
emulator. Server CPU comes from ``/proc/<pid>/stat`` (user + system time) around a burst of signed requests
sent through the provider's hook, the way triggers poll."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import Row, isolate_airflow, long_virtual_jobs, quiet_logging, use_connection

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def run(smoke: bool = False) -> list[Row]:
    isolate_airflow()
    from airflow_provider_modelarts.emulator import ModelArtsEmulator
    from airflow_provider_modelarts.emulator.runner import log_file_name
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    jobs, requests_per_kind = (20, 200) if smoke else (1_000, 4_000)
    rows = []
    with ModelArtsEmulator(step_delay=0.05, virtual_jobs=True, max_running=jobs + 10) as emu, quiet_logging():
        use_connection(emu)
        hook = ModelArtsHook()
        started = time.monotonic()
        versions = long_virtual_jobs(emu, hook, jobs, "virt", lines=3600)
        create_s = time.monotonic() - started
        time.sleep(1.0)  # all running, each writing a line a second
        idle_before = _cpu_seconds(emu.pid)
        time.sleep(2.0)
        idle_cpu = (_cpu_seconds(emu.pid) - idle_before) / 2.0

        def status(i: int) -> None:
            v = versions[i % len(versions)]
            hook.get_job_version(v.job_id, v.version_id)

        def log_page(i: int) -> None:
            v = versions[i % len(versions)]
            hook.get_aom_log(v.job_id, v.version_id, log_file=log_file_name(v.job_name, 0), lines=500, order="desc",
                             base_line="0")

        for kind, call in (("status poll", status), ("log page (≤ 500 lines)", log_page)):
            before, wall = _cpu_seconds(emu.pid), time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(call, range(requests_per_kind)))
            cpu = _cpu_seconds(emu.pid) - before - idle_cpu * (time.monotonic() - wall)
            per_request_ms = cpu / requests_per_kind * 1000
            capacity = 1000 / per_request_ms if per_request_ms > 0 else float("inf")
            rows.append(Row("7. Emulator cost", f"{kind}: server CPU per request (ms), {jobs} virtual jobs running",
                            per_request_ms, f"≈ {capacity:,.0f} requests/s on one core",
                            "10,000 jobs at 30 s polls need ≈ 333 status + 333 log requests/s", None))
        rows.append(Row("7. Emulator cost", f"{jobs} virtual jobs: server CPU while idle (cores)", idle_cpu,
                        f"created in {create_s:.1f} s", "", None))
    return rows


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
