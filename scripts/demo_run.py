"""Run modelarts_quickstart end to end on the embedded emulator and print a summary (scripts/demo.sh).

One process: the emulator runs as a child process (stopped by PID on exit, Ctrl-C or failure), Airflow's
metadata DB is created in .demo/airflow-home, and the DAG runs with ``dag.test()`` (the deferred sensor's
trigger runs inline). The full Airflow output goes to .demo/dags-test.log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: the connection's api_version; the DAG is the same for both (MODELARTS_API_VERSION=v1 ./scripts/demo.sh)
API_VERSION = os.environ.get("MODELARTS_API_VERSION", "v2")
#: where the metadata DB, the emulator's state and the Airflow output go (the tests give each run its own)
DEMO = Path(os.environ.get("MODELARTS_DEMO_DIR") or REPO / ".demo")


@contextlib.contextmanager
def output_to(path: Path):
    """Send this process's stdout/stderr (Airflow's task logs) to a file for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(DEMO / "emulator", ignore_errors=True)
    (DEMO / "dags-test.log").unlink(missing_ok=True)
    DEMO.mkdir(exist_ok=True)
    from airflow_provider_modelarts.emulator import ModelArtsEmulator

    with ModelArtsEmulator(root=DEMO / "emulator", step_delay=0.2) as emu:
        print(f"== ModelArts emulator on {emu.url} (pid {emu.pid})", flush=True)
        os.environ.update({
            "AIRFLOW_HOME": str(DEMO / "airflow-home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
            "AIRFLOW_CONN_MODELARTS_DEFAULT": emu.conn_json("aksk", api_version=API_VERSION),
        })
        log_file = DEMO / "dags-test.log"
        print(f"== running modelarts_quickstart with dag.test()   (Airflow output: {log_file})", flush=True)
        with output_to(log_file):
            import importlib

            from airflow.utils import db

            db.initdb()
            sys.path.insert(0, str(REPO / "example_dags"))
            run = importlib.import_module("modelarts_quickstart").dag.test()
        report = run.get_task_instance("report_metrics").xcom_pull(task_ids="report_metrics")
        train = run.get_task_instance("train").xcom_pull(task_ids="train")
        log = log_file.read_text()
        training_lines = [line.rstrip() for line in
                          re.findall(r"\] (\[(?:job-[^\]]+|worker-\d+)\] .*?) \[airflow", log)]
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        version = ModelArtsHook().get_job(train["job_id"], train.get("version_id"))
        print()
        print("== summary")
        print(f"   DAG run            modelarts_quickstart: {run.state}")
        print(f"   training job       {version.job_name} (job_id={version.job_id})")
        if version.version_id is not None:
            print(f"   version            {version.version_name} (version_id={version.version_id})")
        print(f"   API                {API_VERSION} training jobs (connection extra api_version)")
        print(f"   status             {version.state}")
        metrics = {k: v for k, v in (report or {}).items() if k in ("loss", "accuracy", "rows", "epochs")}
        print(f"   final metrics      {json.dumps(metrics)}")
        print(f"   training log       {len(training_lines)} lines tailed into the task log; last: "
              f"{training_lines[-1].split('] ', 1)[1] if training_lines else '-'}")
        print(f"   Airflow log        {log_file}")
        print(f"   job console        {train['console_url']} (while it runs)")
        pid = emu.pid
    print(f"   done in            {time.monotonic() - started:.1f}s; the emulator (pid {pid}) is stopped")
    return 0 if str(run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
