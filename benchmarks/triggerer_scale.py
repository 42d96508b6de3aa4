"""4. Triggerer scale: N concurrent deferred watches (TrainingJobTrigger.run) in one asyncio event loop — the
trigger runner driven directly in a child process, as Airflow's triggerer runs triggers — against emulator
jobs of known duration. Completion detection latency, CPU, peak RSS, event-loop lag; compared with poke-mode
sensors, which hold one worker slot each for the whole wait."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.common import Row, isolate_airflow, percentile, quiet_logging, use_connection

#: Airflow 3.3 LocalExecutor: about 140 MB RSS per worker slot (shared/airflow-notes.md §7).
WORKER_SLOT_MB = 140


def _round(emu, n: int, seconds: float, poll: float) -> dict:
    from helpers import put

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    hook = ModelArtsHook()
    put(emu, "/bench/scale/data/a.txt", "a")
    stamp = int(time.time() * 1000)
    jobs = []
    for i in range(n):
        version = hook.create_training_job({"job_name": f"scale_{stamp}_{i}", "config": {
            "worker_server_num": 1, "user_image_url": "swr.example/bench:1", "user_command": f"sleep {seconds}",
            "data_url": "/bench/scale/data/", "train_url": f"/bench/scale/out/{i}/", "spec_id": 7}})
        jobs.append({"job_id": version.job_id, "version_id": version.version_id})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"jobs": jobs, "poll": poll}, handle)
    proc = subprocess.run([sys.executable, "-m", "benchmarks._trigger_runner", handle.name], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=seconds * 10 + 600)
    os.unlink(handle.name)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    latencies = []
    for job in jobs:
        detail = hook.get_job_version(job["job_id"], job["version_id"]).raw
        ended = (detail["start_time"] + detail["duration"]) / 1000
        event = result["events"][str(job["version_id"])]
        assert event["status"] == "success", event
        latencies.append(event["at"] - ended)
    result["p50"], result["p95"] = percentile(latencies, 50), percentile(latencies, 95)
    return result


def run(smoke: bool = False) -> list[Row]:
    isolate_airflow()
    from airflow_provider_modelarts.emulator import ModelArtsEmulator

    sizes, seconds, poll = ([5], 3.0, 1.0) if smoke else ([int(n) for n in os.environ.get("BENCH_SCALE_SIZES", "100,500,1000").split(",")], 20.0, 5.0)
    rows = []
    with ModelArtsEmulator(step_delay=0.1, max_running=max(sizes) + 10) as emu, quiet_logging():
        use_connection(emu, timeout=120)
        for n in sizes:
            r = _round(emu, n, seconds, poll)
            label = f"N={n} ({seconds:.0f} s jobs, poll {poll:.0f} s)"
            rows.append(Row("4. Triggerer scale", f"{label}: detection latency p50 / p95 (s)",
                            f"{r['p50']:.2f} / {r['p95']:.2f}", "", f"p95 ≤ {poll + 2:.0f} s", r["p95"] <= poll + 2))
            rows.append(Row("4. Triggerer scale", f"{label}: trigger-runner CPU (s) / peak RSS (MB)",
                            f"{r['cpu_seconds']:.1f} / {r['max_rss_mb']:.0f}",
                            f"poke sensors: {n} worker slots ≈ {n * WORKER_SLOT_MB / 1024:.1f} GB RSS (computed)"))
            rows.append(Row("4. Triggerer scale", f"{label}: steady-state max event-loop lag (ms); lags > 100 ms",
                            f"{r['max_lag'] * 1000:.0f}; {r['lags_over_100ms']}",
                            f"start-up (first poll of each trigger): {r['max_startup_lag'] * 1000:.0f} ms",
                            "no callback > 100 ms", r["lags_over_100ms"] == 0))
    return rows


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
