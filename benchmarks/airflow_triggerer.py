"""8. Airflow's own triggerer: N concurrent ``TrainingJobTrigger`` watches run by ``airflow triggerer`` — the real
command: its supervisor, its trigger-runner subprocess and event loop, trigger assignment from the metadata DB
and event handling — against emulator jobs of random duration (``--virtual-jobs``: no process per job).

How the N deferred task instances exist: the benchmark's own AIRFLOW_HOME (SQLite) gets a ``bench_triggerer``
DAG (a mapped deferrable ``TrainingJobSensor``), serialized by ``airflow dags reserialize``; then
``benchmarks/_triggerer_db.py`` adds one DAG run with N mapped task instances in state ``deferred``, each with a
``TrainingJobTrigger`` row — what ``defer()`` leaves behind. No scheduler runs: a fired trigger leaves its task
instance ``scheduled``, which is what is counted.

Reported per N and poll interval: detection latency (when Airflow wrote the event to the metadata DB — the task
instance's ``updated_at`` as it leaves ``deferred`` — minus the job's end, ``start_time + duration`` from the
API; beside it the trigger's own event line in its trigger log, of which Airflow loses some under load),
triggerer CPU seconds per watch-hour (supervisor + runner, from /proc), peak RSS, Airflow's "async thread was
blocked" warnings, requests per watch per poll, emulator CPU apart. With the ``baseline`` flag a second round of
the same shape runs ``benchmarks._noisy_trigger.NoisyTrigger(lines=0)`` — it wakes as often as a watch polls and
does nothing else — and its figures, Airflow's own share, are shown beside ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Row, percentile, quiet_logging

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG = '''
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_modelarts.sensors.training import TrainingJobSensor

with DAG("bench_triggerer", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    @task
    def job_ids() -> list:
        return []

    TrainingJobSensor.partial(task_id="watch", deferrable=True, poll_interval=30).expand(job_id=job_ids())
'''
BLOCKED = "async thread was blocked"
#: what the triggerer writes to each task instance's trigger log when its event fires
FIRED_EVENT = "Trigger fired event"
#: what TrainingJobTrigger logs as it yields its event (``<job ref>: success (…)``): the provider's side is done
YIELDED = re.compile(r'"event":"job_id=[^"]*: (?:success|failed|stopped|timeout|error)\b')
#: CPU is rated after this warm-up (imports, the in-process API server, loading N triggers)
WARM_UP = 30.0


def _tree_usage(pid: int, children: bool = True) -> tuple[float, float]:
    """CPU seconds and RSS (MB) of a process and (by default) its children; ``children=False``: the process
    alone (the triggerer's supervisor without its trigger runner)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)] if children else [root]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    cpu = rss = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system + (times.children_user + times.children_system if children else 0)
            rss += proc.memory_info().rss / 1e6
        except psutil.NoSuchProcess:
            pass
    return cpu, rss


#: the ``nostore`` variant: a ``sitecustomize`` in the triggerer's processes turns the saved log cursor off, to
#: measure what the cursor store costs (a benchmark-only patch, never in the provider)
NO_STORE = """
from airflow_provider_modelarts import cursor_store


async def _skip(self, *args, **kwargs):
    return None


cursor_store.CursorStore.aload = _skip
cursor_store.CursorStore.asave = _skip
"""


def airflow_home(prefix: str, n: int, db_url: str | None, connection: str,
                 sitecustomize: str | None = None) -> tuple[Path, dict[str, str]]:
    """A round's own AIRFLOW_HOME with the ``bench_triggerer`` DAG, its metadata DB migrated (``db_url``, or SQLite
    in the home) and the DAG serialized; returns it and the environment every Airflow process of the round gets."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    (home / "dags").mkdir()
    (home / "dags" / "bench_triggerer.py").write_text(DAG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__TRIGGERER__CAPACITY": str(n + 10), "PYTHONPATH": str(REPO),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url or f"sqlite:///{home / 'airflow.db'}",
                "AIRFLOW_CONN_MODELARTS_DEFAULT": connection, "MODELARTS_LOCKOUT_DIR": str(home / "lockout")})
    if sitecustomize is not None:
        (home / "patch").mkdir()
        (home / "patch" / "sitecustomize.py").write_text(sitecustomize)
        env["PYTHONPATH"] = f"{home / 'patch'}:{REPO}"
    from helpers import airflow_commands

    airflow_commands(env, ["db", "migrate"], ["dags", "reserialize"])  # one process for both
    return home, env


def defer_all(home: Path, env: dict[str, str], jobs: list[dict], poll: float, print_log: bool) -> str:
    """One DAG run whose mapped task instances are deferred, a trigger each (``benchmarks/_triggerer_db.py``);
    returns the run id."""
    spec = home / "jobs.json"
    spec.write_text(json.dumps({"jobs": jobs, "poll": poll, "print_log": print_log}))
    return subprocess.run([sys.executable, "-m", "benchmarks._triggerer_db", str(spec)], env=env, check=True,
                          capture_output=True, text=True, timeout=900, cwd=REPO).stdout.strip().splitlines()[-1]


def start_triggerer(env: dict[str, str], n: int, log_path: Path) -> subprocess.Popen:
    """``airflow triggerer`` for N triggers, its output in ``log_path``. No log server: it would take port 8794
    from a triggerer that runs beside the benchmark (the test suite)."""
    with log_path.open("wb") as log:
        return subprocess.Popen([AIRFLOW, "triggerer", "--capacity", str(n + 10), "--skip-serve-logs"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


@dataclass
class Measured:
    """One round's figures (``_measure``)."""

    n: int
    label: str
    events: int  #: task instances that left ``deferred`` (Airflow recorded their event in the metadata DB)
    latencies: list[float]  #: Airflow's ``updated_at`` of each such task instance − the job's end
    yielded: list[float]  #: the trigger-log time of the trigger's own event line − the job's end
    cpu: float
    wall: float
    steady: float  #: % of a core after warm-up, supervisor + runner
    steady_supervisor: float
    watch_hours: float
    peak_rss: float
    blocked: int
    per_poll: float  #: emulator requests per watch per poll interval
    emu_cpu: float
    db_cpu: float


def _round(emu, n: int, poll: float, durations: tuple[float, float], print_log: bool, store: bool = True,
           postgres: bool = False, baseline: bool = False) -> tuple[Measured, Measured | None]:
    """Ours; then, with ``baseline``, the NoisyTrigger round of the same shape in the same home and metadata DB
    (a DAG run of its own: ours has left ``deferred`` by then)."""
    with contextlib.ExitStack() as stack:
        db = None
        if postgres:
            import pg_server as _postgres

            db = stack.enter_context(_postgres.server())
        home, env = airflow_home("bench-triggerer-", n, db[0] if db else None,
                                 emu.conn_json("aksk", api_version="v1"), sitecustomize=None if store else NO_STORE)
        ours = _measure(emu, home, env, n, poll, durations, print_log, store, db)
        base = _measure(emu, home, env, n, poll, durations, False, True, db, quiet=True) if baseline else None
    return ours, base


def _emulator_jobs(emu, n: int, poll: float, durations: tuple[float, float]) -> list[dict]:
    """N virtual emulator jobs of random duration (seeded by N): ``{"job_id", "version_id"}`` each."""
    from helpers import put

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    put(emu, "/bench/trig/data/a.txt", "a")
    hook = ModelArtsHook()
    rng = random.Random(n)
    jobs = []
    for index in range(n):
        seconds = rng.uniform(*durations)
        body = {"job_name": f"bench_trig_{n}_{int(poll)}_{index}_{int(time.time())}", "config": {
            "worker_server_num": 1, "user_image_url": "swr.example/bench:1", "user_command": "unused",
            "data_url": "/bench/trig/data/", "train_url": f"/bench/trig/out/{index}/", "spec_id": 7,
            "parameter": [{"label": "emulator_virtual_seconds", "value": f"{seconds:.1f}"},
                          {"label": "emulator_virtual_lines", "value": str(max(1, int(seconds // 10)))}]}}
        version = hook.create_training_job(body)
        jobs.append({"job_id": version.job_id, "version_id": version.version_id})
    return jobs


def _measure(emu, home: Path, env: dict[str, str], n: int, poll: float, durations: tuple[float, float],
             print_log: bool, store: bool, db: tuple[str, int] | None, quiet: bool = False) -> Measured:
    """One round in ``home`` (``airflow_home``); ``db``: a PostgreSQL server's URL and PID, or None for SQLite in
    the home; ``quiet``: the baseline — ``NoisyTrigger(lines=0, interval=poll)`` waking as often as ours polls,
    until the same random ends, instead of ``TrainingJobTrigger`` watches."""
    import sqlalchemy

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if quiet:
        rng, created = random.Random(n), time.time()
        ends = [created + rng.uniform(*durations) for _ in range(n)]
        jobs = [{"noisy": {"until": end, "interval": poll, "lines": 0}} for end in ends]
    else:
        jobs = _emulator_jobs(emu, n, poll, durations)
    run_id = defer_all(home, env, jobs, poll, print_log)

    emu.reset_stats()
    emu_cpu_before, _ = _tree_usage(emu.pid)
    db_cpu_before = _tree_usage(db[1])[0] if db else 0.0
    log_path = home / "triggerer.out"
    started = time.time()
    triggerer = start_triggerer(env, n, log_path)
    peak_rss, cpu, supervisor = 0.0, 0.0, 0.0
    warm: tuple[float, float, float] | None = None
    engine = sqlalchemy.create_engine(url)
    where = "dag_id='bench_triggerer' AND run_id=:run"
    deferred = sqlalchemy.text(f"SELECT count(*) FROM task_instance WHERE {where} AND state='deferred'")
    deadline = started + durations[1] + 600
    try:
        while time.time() < deadline:
            cpu, rss = _tree_usage(triggerer.pid)
            supervisor = _tree_usage(triggerer.pid, children=False)[0] or supervisor
            peak_rss = max(peak_rss, rss)
            if warm is None and time.time() - started >= WARM_UP:
                warm = (time.time(), cpu, supervisor)
            with engine.connect() as conn:
                left = conn.execute(deferred, {"run": run_id}).scalar()
            if left == 0:
                break
            time.sleep(1.0)
        wall = time.time() - started
        emu_cpu = _tree_usage(emu.pid)[0] - emu_cpu_before
        db_cpu = _tree_usage(db[1])[0] - db_cpu_before if db else 0.0
        # when Airflow recorded each event: the supervisor's write of the task instance (no scheduler runs, so
        # nothing else touches it after the deferral)
        with engine.connect() as conn:
            recorded = {index: _epoch(at) for index, at in conn.execute(sqlalchemy.text(
                f"SELECT map_index, updated_at FROM task_instance WHERE {where} AND state <> 'deferred'"),
                {"run": run_id})}
    finally:
        os.killpg(triggerer.pid, 15)
        try:
            triggerer.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(triggerer.pid, 9)
        engine.dispose()

    from datetime import datetime

    # the trigger's own event line (ours, or Airflow's "Trigger fired event" for the baseline), as kept in the
    # trigger logs: under load Airflow loses some of these lines, so this row counts fewer
    own_event = re.compile(FIRED_EVENT) if quiet else YIELDED
    yielded: dict[int, float] = {}
    for path in (home / "logs" / "dag_id=bench_triggerer" / f"run_id={run_id}").rglob("*.trigger.*"):
        index = int(re.search(r"map_index=(\d+)", str(path))[1])
        for line in path.read_text(errors="replace").splitlines():
            if own_event.search(line):
                stamp = json.loads(line)["timestamp"].replace("Z", "+00:00")
                yielded[index] = datetime.fromisoformat(stamp).timestamp()
    if quiet:
        ended = [job["noisy"]["until"] for job in jobs]
    else:
        hook = ModelArtsHook()
        ended = []
        for job in jobs:
            detail = hook.get_job_version(job["job_id"], job["version_id"]).raw
            ended.append((detail["start_time"] + detail["duration"]) / 1000)
    watch_seconds = sum(max(0.0, end - started) for end in ended)
    stats = emu.stats()["requests"]
    calls = sum(stats.get(name, 0) for name in ("get_version", "log_files", "aom_log"))
    polls = n * max(1.0, watch_seconds / max(n, 1) / poll)  # polls of an average watch, all watches
    end = time.time() if warm is None else min(time.time(), started + wall)
    span = max(end - warm[0], 1e-9) if warm else max(wall, 1e-9)
    label = (f"N={n:,} (poll {poll:g} s, jobs {durations[0]:g}–{durations[1]:g} s"
             f"{', print_log' if print_log else ''}{'' if store else ', no saved cursor'}"
             f", {'PostgreSQL' if db else 'SQLite'})")
    return Measured(
        n=n, label=label, events=len(recorded),
        latencies=[at - ended[index] for index, at in recorded.items()],
        yielded=[at - ended[index] for index, at in yielded.items()],
        cpu=cpu, wall=wall,
        steady=100 * (cpu - warm[1]) / span if warm else 100 * cpu / span,
        steady_supervisor=100 * (supervisor - warm[2]) / span if warm else 100 * supervisor / span,
        watch_hours=watch_seconds / 3600, peak_rss=peak_rss, blocked=log_path.read_text(errors="replace").count(
            BLOCKED), per_poll=calls / max(polls, 1), emu_cpu=emu_cpu, db_cpu=db_cpu)


def _epoch(value: Any) -> float:
    """A UTC timestamp column's value: a datetime (PostgreSQL) or its text (SQLite, naive UTC)."""
    from datetime import datetime, timezone

    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


def _latency(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in (percentile(values, 50), percentile(values, 95),
                                           max(values or [float("nan")])))


def _rows(ours: Measured, base: Measured | None, *, poll: float) -> list[Row]:
    """Ours, with the baseline's figure beside each when the round had one."""
    label, n = ours.label, ours.n
    p95_goal = poll + 2  # #14: 7 s at 5 s polls, 32 s at 30 s

    def beside(figure: Callable[[Measured], str], alone: str = "") -> str:
        """The baseline's ``figure`` for the context column; ``alone`` when the round had no baseline."""
        return f"Airflow alone (baseline): {figure(base)}" if base else alone

    p95 = percentile(ours.latencies, 95)
    return [
        Row("8. Airflow triggerer", f"{label}: events recorded / watches", f"{ours.events}/{n}",
            beside(lambda m: f"{m.events}/{m.n}"), "all", ours.events == n),
        Row("8. Airflow triggerer", f"{label}: detection latency p50 / p95 / max (s)", _latency(ours.latencies),
            beside(lambda m: _latency(m.latencies)), f"p95 ≤ {p95_goal:g} s",
            bool(ours.latencies) and p95 <= p95_goal),
        Row("8. Airflow triggerer", f"{label}: the trigger's event line in its log: count; p50 / p95 / max (s)",
            f"{len(ours.yielded)}; {_latency(ours.yielded)}",
            beside(lambda m: f"{len(m.yielded)}; {_latency(m.yielded)}",
                   "the row above: Airflow wrote the event to the metadata DB"), "", None),
        Row("8. Airflow triggerer", f"{label}: triggerer CPU (s per watch-hour; % of a core after warm-up)",
            f"{ours.cpu / max(ours.watch_hours, 1e-9):.2f}; {ours.steady:.0f} %",
            beside(lambda m: f"{m.cpu / max(m.watch_hours, 1e-9):.2f}; {m.steady:.0f} % (supervisor "
                             f"{m.steady_supervisor:.0f} %); ")
            + f"{ours.cpu:.0f} s over {ours.wall:.0f} s, warm-up included; supervisor "
            f"{ours.steady_supervisor:.0f} % + runner {ours.steady - ours.steady_supervisor:.0f} %",
            "≤ 25 % of a core", ours.steady <= 25),
        Row("8. Airflow triggerer", f"{label}: triggerer peak RSS (MB, supervisor + runner)", ours.peak_rss,
            beside(lambda m: f"{m.peak_rss:.0f}"), "", None),
        Row("8. Airflow triggerer", f"{label}: Airflow's blocked-event-loop warnings", ours.blocked,
            beside(lambda m: str(m.blocked)), "0", ours.blocked == 0),
        Row("8. Airflow triggerer", f"{label}: requests per watch per poll (status + log)", ours.per_poll,
            f"emulator CPU {ours.emu_cpu:.0f} s apart" + (f"; PostgreSQL CPU {ours.db_cpu:.0f} s apart"
                                                         if ours.db_cpu else "")
            + (f" (baseline: PostgreSQL CPU {base.db_cpu:.0f} s)" if base and base.db_cpu else ""), "", None),
    ]


def run(smoke: bool = False) -> list[Row]:
    from airflow_provider_modelarts.emulator import ModelArtsEmulator
    from benchmarks.common import use_connection

    if smoke:
        plan = [(20, 1.0, (3.0, 6.0), True, True, False, True)]
    else:
        # N:poll:min_s:max_s[:flag…] — nolog: print_log=False; nostore: tailing without the saved cursor;
        # sqlite: the metadata DB in SQLite (default: PostgreSQL when its server and psycopg2 are installed);
        # baseline: a second round of the same shape with NoisyTrigger(lines=0), Airflow's share, shown beside
        import pg_server as _postgres

        plan = []
        for item in os.environ.get("BENCH_TRIGGERER", "1000:5:60:120,1000:5:60:120:nolog").split(","):
            n, p, a, b, *flags = item.split(":")
            plan.append((int(n), float(p), (float(a), float(b)), "nolog" not in flags, "nostore" not in flags,
                         "sqlite" not in flags and _postgres.available(), "baseline" in flags))
    rows: list[Row] = []
    with ModelArtsEmulator(step_delay=0.5, virtual_jobs=True, max_running=max(n for n, *_ in plan) + 10) as emu, \
            quiet_logging():
        use_connection(emu)
        for n, poll, durations, print_log, store, postgres, baseline in plan:
            rows += _rows(*_round(emu, n, poll, durations, print_log=print_log, store=store, postgres=postgres,
                                  baseline=baseline), poll=poll)
    return rows


if __name__ == "__main__":
    for row in run("--smoke" in sys.argv):
        print(row.cells())
