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
import time
from pathlib import Path

import psutil

from benchmarks.airflow_triggerer import airflow_home, defer_all, start_triggerer
from benchmarks.common import REPO

STALL = 60.0


def main(n: int = 10_000, interval: float = 10.0, lines: int = 1) -> int:
    sys.path.insert(0, str(REPO / "tests"))
    import pg_server

    rng = random.Random(n)
    jobs = [{"noisy": {"seconds": rng.uniform(150, 300), "interval": interval, "lines": lines}} for _ in range(n)]
    with pg_server.server() as (url, _):
        connection = json.dumps({"conn_type": "modelarts", "login": "AK", "password": "SK", "extra": {"region": "r1"}})
        home, env = airflow_home("bench-deadlock-", n, url, connection)
        defer_all(home, env, jobs, interval, print_log=True)
        log_path = home / "triggerer.out"
        triggerer = start_triggerer(env, n, log_path)
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
