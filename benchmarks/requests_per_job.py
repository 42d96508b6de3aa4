"""2. Requests per job: one job lifecycle per auth mode (operator with wait=True), the emulator's request
counts by endpoint: auth calls, status polls (≈ duration / poll interval), log calls, everything else."""

from __future__ import annotations

import sys
import time

from benchmarks.common import Row, TaskInstanceStub, isolate_airflow, quiet_logging, use_connection

AUTH_ENDPOINTS = ("iam_token", "iam_projects", "iam_securitytokens", "metadata_token", "metadata_securitykey")
LOG_ENDPOINTS = ("log_file_names", "aom_log")


def _lifecycle(emu, name: str, duration: float, poll: float) -> float:
    from helpers import put

    from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

    put(emu, f"/bench/{name}/code/train.py",
        f"import time\nfor i in range(10):\n    print('tick', i, flush=True)\n    time.sleep({duration / 10})\n")
    put(emu, f"/bench/{name}/data/a.txt", "a")
    op = CreateTrainingJobOperator(
        task_id="train", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
        code_dir=f"/bench/{name}/code/", boot_file=f"/bench/{name}/code/train.py", inputs=f"/bench/{name}/data/",
        output_path=f"/bench/{name}/out/", train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1,
        job_name=name, wait=True, poll_interval=poll)
    started = time.monotonic()
    result = op.execute({"ti": TaskInstanceStub(run_id=name)})
    assert result["status_name"] == "JOBSTAT_COMPLETED", result
    return time.monotonic() - started


def run(smoke: bool = False) -> list[Row]:
    isolate_airflow()
    from airflow_provider_modelarts.emulator import ModelArtsEmulator

    duration, poll = (1.0, 0.25) if smoke else (6.0, 1.0)
    rows = []
    with ModelArtsEmulator(step_delay=0.1) as emu, quiet_logging():
        for auth_type in ("aksk", "password", "env"):
            use_connection(emu, auth_type)
            emu.reset_stats()
            jobs = 2
            elapsed = [_lifecycle(emu, f"req_{auth_type}_{i}_{int(time.time())}", duration, poll) for i in range(jobs)]
            counts = {k: v for k, v in emu.stats()["requests"].items() if not k.startswith("admin")}
            auth = sum(counts.get(k, 0) for k in AUTH_ENDPOINTS)
            polls = counts.get("get_version", 0) / jobs
            logs = sum(counts.get(k, 0) for k in LOG_ENDPOINTS) / jobs
            other = {k: v for k, v in counts.items() if k not in AUTH_ENDPOINTS + LOG_ENDPOINTS + ("get_version",)}
            expected = sum(elapsed) / jobs / poll
            target = {"aksk": "0", "password": "≤ 1 per token lifetime per process",
                      "env": "≤ 1 per credential lifetime per process"}[auth_type]
            limit = 0 if auth_type == "aksk" else (1 if auth_type == "password" else 2)
            # aksk: one project discovery (IAM) per process is not an auth call; count it apart
            discovery = counts.get("iam_projects", 0)
            auth_only = auth - discovery
            rows.append(Row("2. Requests per job", f"{auth_type}: auth calls for {jobs} jobs in one process",
                            auth_only, f"+{discovery} project-id discovery", target, auth_only <= limit))
            rows.append(Row("2. Requests per job", f"{auth_type}: status polls per job ({duration:.0f} s job, "
                            f"poll {poll} s)", polls, f"≈ duration / poll = {expected:.1f}", "≈ duration / poll",
                            polls <= expected + 2))
            rows.append(Row("2. Requests per job", f"{auth_type}: log calls per job; other calls",
                            logs, ", ".join(f"{k} {v}" for k, v in sorted(other.items()))))
    return rows


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
