"""5. Fault soak: jobs through CreateTrainingJobOperator + TrainingJobSensor (with Airflow-style task retries)
while the emulator injects faults on every endpoint — 429, 500, 503, dropped connections, 5 s latency, ~20%
of requests in all — plus faults after the create (job created, answer lost). Counts duplicates, lost jobs,
wrong final states, retries and wall time."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import Row, TaskInstanceStub, isolate_airflow, use_connection

#: each rule fires with 4.5% independently: 1 - 0.955^5 ≈ 20% of requests get a fault before the operation
FAULTS = ("*=429@0.045; *=500@0.045; *=503@0.045; *=drop@0.045; *=latency:5@0.045; "
          "create_job=503/after@0.1; create_job=drop/after@0.1")
TASK_TRIES = 4  # Airflow retries=3


def _one(emu, prefix: str, index: int) -> dict:
    from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
    from airflow_provider_modelarts.sensors.training import TrainingJobSensor

    name = f"{prefix}_{index:03d}"
    stats = {"name": name, "task_retries": 0, "api_retries": 0, "outcome": "failed"}
    result = None
    for _ in range(TASK_TRIES):
        op = CreateTrainingJobOperator(
            task_id="train", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
            code_dir=f"/soak/{prefix}/code/", boot_file=f"/soak/{prefix}/code/train.py", inputs=f"/soak/{prefix}/data/",
            output_path=f"/soak/{prefix}/out/{index}/", train_instance_type="modelarts.vm.cpu.2u",
            train_instance_count=1, job_name=name, if_exists="reuse_completed")
        try:
            result = op.execute({"ti": TaskInstanceStub(run_id=name)})
            break
        except Exception:
            stats["task_retries"] += 1
        finally:
            stats["api_retries"] += op.hook.client.retries_made if "hook" in op.__dict__ else 0
    if result is None:
        return stats
    for _ in range(TASK_TRIES):
        sensor = TrainingJobSensor(task_id="wait", job_id=result["job_id"], version_id=result["version_id"],
                                   poke_interval=0.5)
        try:
            context = {"ti": TaskInstanceStub(run_id=name, task_id="wait")}
            while not sensor.poke(context):
                time.sleep(0.5)
            stats["outcome"] = "success"
            break
        except Exception:
            stats["task_retries"] += 1
        finally:
            stats["api_retries"] += sensor.hook.client.retries_made if "hook" in sensor.__dict__ else 0
    return stats


def run(smoke: bool = False, log_dir: Path | None = None) -> list[Row]:
    isolate_airflow()
    from helpers import put

    from airflow_provider_modelarts.emulator import ModelArtsEmulator
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    jobs, threads = (6, 6) if smoke else (100, 10)
    prefix = f"soak{int(time.time())}"
    with ModelArtsEmulator(step_delay=0.1, seed=20261127, log_path=(log_dir / "soak-emulator.log") if log_dir
                           else None) as emu:
        use_connection(emu, retry_backoff=0.2, retry_max_delay=2, timeout=30)
        put(emu, f"/soak/{prefix}/code/train.py", "import time\nprint('soaking', flush=True)\ntime.sleep(1)\n")
        put(emu, f"/soak/{prefix}/data/a.txt", "a")
        emu.set_faults(FAULTS, seed=7)
        started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda i: _one(emu, prefix, i), range(jobs)))
        wall = time.monotonic() - started
        fired = emu.stats()["faults_fired"]
        emu.set_faults(None)
        hook = ModelArtsHook()
        total, found = hook.list_training_jobs(search_content=prefix, per_page=1000)
        by_name = {}
        for job in found:
            by_name.setdefault(job.job_name, []).append(job)
        duplicates = sum(len(v) - 1 for v in by_name.values()) + sum(
            j.version_count - 1 for v in by_name.values() for j in v)
        lost = sum(1 for r in results if r["name"] not in by_name)
        wrong = 0
        for r in results:
            for job in by_name.get(r["name"], []):
                state = hook.get_job_version(job.job_id, job.version_id).state
                wrong += (not state.is_successful) or r["outcome"] != "success"
    retries = sum(r["api_retries"] for r in results)
    task_retries = sum(r["task_retries"] for r in results)
    label = f"{jobs} jobs, {threads} at a time, {fired} faults fired"
    return [
        Row("5. Fault soak", f"{label}: duplicate jobs or versions", duplicates, "", "0", duplicates == 0),
        Row("5. Fault soak", f"{label}: lost jobs", lost, "", "0", lost == 0),
        Row("5. Fault soak", f"{label}: wrong final states", wrong, "", "0", wrong == 0),
        Row("5. Fault soak", f"{label}: API retries / task retries / wall time (s)",
            f"{retries} / {task_retries} / {wall:.0f}", f"{total} jobs listed"),
    ]


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
