"""What a stopped triggerer leaves behind: N tailing ``TrainingJobTrigger``s run in ``airflow triggerer`` (the real
command, SQLite metadata DB, N deferred task instances made through Airflow's models as in benchmark 8) against
virtual emulator jobs of ~200 s; after ``WAIT`` seconds the triggerer gets SIGTERM. Reported: how many triggers
saved their log cursor on the way out (a restarted triggerer continues each one from it; without it, a trigger
prints its job's lines again from where the task deferred), how long the stop took, and how many trigger logs
say the save failed.

    .venv-af3/bin/python -m benchmarks.triggerer_stop [N] [WAIT]    # default 100 45
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.airflow_triggerer import _emulator_jobs, airflow_home, defer_all, start_triggerer
from benchmarks.common import use_connection

WARNING = "Could not save the log cursor"


def main(n: int, wait: float) -> str:
    import sqlalchemy

    from airflow_provider_modelarts.cursor_store import PREFIX
    from airflow_provider_modelarts.emulator import ModelArtsEmulator

    with ModelArtsEmulator(step_delay=0.5, virtual_jobs=True, max_running=n + 10) as emu:
        use_connection(emu)
        home, env = airflow_home("bench-stop-", n, None, emu.conn_json("aksk", api_version="v1"))
        defer_all(home, env, _emulator_jobs(emu, n, 2.0, (200.0, 220.0)), 2.0, True)
        triggerer = start_triggerer(env, n, home / "triggerer.out")
        time.sleep(wait)
        started = time.monotonic()
        os.killpg(triggerer.pid, signal.SIGTERM)
        try:
            triggerer.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(triggerer.pid, signal.SIGKILL)
        took = time.monotonic() - started
        engine = sqlalchemy.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        with engine.connect() as conn:
            saved = conn.execute(sqlalchemy.text("SELECT count(*) FROM variable WHERE key LIKE :prefix"),
                                 {"prefix": f"{PREFIX}%"}).scalar()
        logs = list(Path(home, "logs").rglob("*.trigger.*"))
        warned = sum(WARNING in path.read_text(errors="replace") for path in logs)
    return (f"N={n}, SIGTERM after {wait:g} s: {saved}/{n} cursors saved on the way out; the stop took {took:.1f} s; "
            f"{warned} of {len(logs)} trigger logs say '{WARNING}'")


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, float(sys.argv[2]) if len(sys.argv) > 2 else 45))
