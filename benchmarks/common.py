"""Shared pieces of the benchmarks: result rows, a task-instance stand-in, log capture, environment setup."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))


def isolate_airflow() -> None:
    """A throwaway AIRFLOW_HOME; must run before airflow is imported."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")  # silences "execute outside the Task Runner"


@dataclass
class Row:
    benchmark: str
    metric: str
    value: Any
    baseline: Any = ""
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        met = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.benchmark, self.metric, _fmt(self.value), _fmt(self.baseline), self.target, met]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class TaskInstanceStub:
    def __init__(self, run_id: str, dag_id: str = "bench", task_id: str = "train") -> None:
        from datetime import datetime, timezone

        self.dag_id, self.task_id, self.run_id, self.map_index = dag_id, task_id, run_id, -1
        self.start_date = datetime.now(timezone.utc)
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


class LineLog:
    """A logger stand-in for JobWatcher/operators: records formatted messages (and can be shared)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def _add(self, msg: str, *args: Any, **_: Any) -> None:
        self.messages.append(msg % args if args else msg)

    info = warning = error = debug = exception = _add


@contextlib.contextmanager
def output_to(path: Path):
    """Send this process's stdout (where Airflow 3's task loggers print) to a file for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    with path.open("ab") as handle:
        os.dup2(handle.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


@contextlib.contextmanager
def quiet_logging():
    """Silence task logging (stdlib and Airflow's structlog on stdout) while a benchmark runs."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with output_to(Path(os.devnull)):
            yield
    finally:
        root.setLevel(level)


def use_connection(emu: Any, auth_type: str = "aksk", api_version: str = "v1", **extra: Any) -> None:
    from airflow_provider_modelarts.hooks import lockout
    from airflow_provider_modelarts.hooks.credentials import clear_caches

    conn = emu.conn_dict(auth_type, api_version)
    conn["extra"].update(extra)
    os.environ["AIRFLOW_CONN_MODELARTS_DEFAULT"] = json.dumps(conn)
    clear_caches()
    lockout.clear_process_cache()


def long_virtual_jobs(emu: Any, hook: Any, count: int, prefix: str, lines: int) -> list:
    """``count`` virtual emulator jobs (no process each) running for an hour — the whole measurement — writing
    ``lines`` log lines over it; their versions as created."""
    import time

    from helpers import framework_job

    versions = []
    for index in range(count):
        body = framework_job(emu, f"{prefix}_{index}_{int(time.time())}", "print('unused')\n")
        body["config"]["parameter"] += [{"label": "emulator_virtual_seconds", "value": "3600"},
                                        {"label": "emulator_virtual_lines", "value": str(lines)}]
        versions.append(hook.create_training_job(body))
    return versions
