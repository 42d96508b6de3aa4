"""Does Airflow's own triggerer stall when thousands of triggers log, with no provider code in the triggers?

Benchmark 8 at N = 10,000 with log tailing stopped two minutes in: both triggerer processes at 0 % CPU, the
supervisor blocked in ``send_msg`` → ``sendall`` and the trigger runner's event loop blocked writing a log
record (docs/benchmarks.md, 8). This runs the same setup — ``airflow triggerer`` on a throwaway PostgreSQL, N
deferred task instances made through Airflow's models (``benchmarks/_triggerer_db.py``) — with
``benchmarks._noisy_trigger.NoisyTrigger`` instead of ``TrainingJobTrigger``: each logs ``LINES`` lines every
``INTERVAL`` seconds and fires after 150–300 s. It samples the two processes' CPU every 5 s and reports a stall:
no CPU used by either for ``STALL`` seconds while triggers remain; then it prints both processes' stacks
(``py-spy dump``, when installed).

    .venv-af3/bin/python -m benchmarks.triggerer_deadlock [N] [INTERVAL] [LINES]    # default 10000 10 1
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.airflow_triggerer import AIRFLOW, DAG
from benchmarks.common import REPO

STALL = 60.0


def main(n: int = 10_000, interval: float = 10.0, lines: int = 1) -> int:
    sys.path.insert(0, str(REPO / "tests"))
    import pg_server

    home = Path(tempfile.mkdtemp(prefix="bench-deadlock-"))
    (home / "dags").mkdir()
    (home / "dags" / "bench_triggerer.py").write_text(DAG)
    rng = random.Random(n)
    jobs = [{"noisy": {"seconds": rng.uniform(150, 300), "interval": interval, "lines": lines}} for _ in range(n)]
    (home / "jobs.json").write_text(json.dumps({"jobs": jobs, "poll": interval, "print_log": True}))
    with pg_server.server() as (url, _):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
                    "AIRFLOW__TRIGGERER__CAPACITY": str(n + 10), "PYTHONPATH": str(REPO),
                    "AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps({"conn_type": "modelarts", "login": "AK",
                                                                  "password": "SK", "extra": {"region": "r1"}})})
        for args in (["db", "migrate"], ["dags", "reserialize"]):
            subprocess.run([AIRFLOW, *args], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run([sys.executable, "-m", "benchmarks._triggerer_db", str(home / "jobs.json")], env=env,
                       check=True, capture_output=True, timeout=900, cwd=REPO)
        log_path = home / "triggerer.out"
        with log_path.open("wb") as log:
            triggerer = subprocess.Popen([AIRFLOW, "triggerer", "--skip-serve-logs"], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        started = time.time()
        verdict = "no stall"
        try:
            supervisor = psutil.Process(triggerer.pid)
            last_cpu, idle_since = -1.0, None
            while time.time() - started < 420:
                time.sleep(5)
                procs = [supervisor, *supervisor.children()]
                cpu = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
                fired = log_path.read_text(errors="replace").count("Trigger fired event")
                print(f"{time.time() - started:6.0f} s  triggerer CPU {cpu:7.1f} s  events {fired}", flush=True)
                if fired >= n:
                    break
                if cpu - last_cpu < 0.05:
                    idle_since = idle_since or time.time()
                    if time.time() - idle_since >= STALL:
                        verdict = f"STALLED: no triggerer CPU for {STALL:.0f} s with {n - fired} triggers left"
                        break
                else:
                    idle_since = None
                last_cpu = cpu
            print(verdict, flush=True)
            spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            if verdict != "no stall" and Path(spy).exists():
                for proc in [supervisor, *supervisor.children()]:
                    out = subprocess.run([spy, "dump", "--pid", str(proc.pid)], capture_output=True, text=True)
                    print(out.stdout[:2500], flush=True)
        finally:
            os.killpg(triggerer.pid, 9)
            triggerer.wait()
            print(f"triggerer output: {log_path}")
    return 0 if verdict == "no stall" else 1


if __name__ == "__main__":
    sys.exit(main(*(t(a) for t, a in zip((int, float, int), sys.argv[1:], strict=False))))
