"""Run every benchmark and write docs/benchmarks.md: ``python -m benchmarks.run_all`` (``./scripts/bench.sh``).

``--smoke`` runs tiny sizes and writes nothing (the test suite does this so the benchmarks never rot);
``--only NAME[,NAME]`` runs some of: parse_cost, requests_per_job, log_efficiency, triggerer_scale,
fault_soak, bad_input_audit, emulator_cost, airflow_triggerer, poll_cost.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import (
    airflow_triggerer,
    bad_input_audit,
    emulator_cost,
    fault_soak,
    log_efficiency,
    parse_cost,
    poll_cost,
    requests_per_job,
    triggerer_scale,
)
from benchmarks.common import REPO, Row, output_to

ORDER = ["parse_cost", "requests_per_job", "log_efficiency", "triggerer_scale", "fault_soak", "bad_input_audit",
         "emulator_cost", "airflow_triggerer", "poll_cost"]


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0") if Path("/proc/meminfo").exists() else "0"
    from importlib.metadata import version

    return (f"{os.cpu_count()} cores ({model}), {int(mem) / 1024 / 1024:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, Airflow {version('apache-airflow')}")


def table(rows: list[Row]) -> str:
    head = ["benchmark", "metric", "value", "baseline / context", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    smoke = "--smoke" in argv
    only = ORDER
    if "--only" in argv:
        only = argv[argv.index("--only") + 1].split(",")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    modules = {"parse_cost": parse_cost, "requests_per_job": requests_per_job, "log_efficiency": log_efficiency,
               "triggerer_scale": triggerer_scale, "fault_soak": fault_soak, "bad_input_audit": bad_input_audit,
               "emulator_cost": emulator_cost, "airflow_triggerer": airflow_triggerer,
               "poll_cost": poll_cost}
    rows: list[Row] = []
    started = time.monotonic()
    for name in only:
        print(f"== {name}", file=sys.stderr, flush=True)
        with output_to(log_dir / f"{name}.log"):
            if name == "fault_soak":
                rows += fault_soak.run(smoke, log_dir=log_dir)
            elif name == "bad_input_audit":
                rows += bad_input_audit.run(smoke, [log_dir] + [p for p in (REPO / ".demo",) if p.exists()])
            else:
                rows += modules[name].run(smoke)
    text = table(rows)
    print(text)
    if not smoke and only == ORDER:
        doc = REPO / "docs" / "benchmarks.md"
        doc.write_text(
            "# Benchmarks\n\n"
            f"Reproduce: `./scripts/bench.sh` (all; each alone: `./scripts/bench.sh --only NAME`). Last run "
            f"{datetime.date.today()}, {time.monotonic() - started:.0f} s, on {machine()}.\n\n"
            "Measured side by side in one run on one machine; CI runs each at tiny sizes "
            "(`tests/integration/test_benchmarks_smoke.py`) and does not gate on the numbers.\n\n"
            f"{text}\n\n" + (REPO / "benchmarks" / "NOTES.md").read_text())
        print(f"wrote {doc}", file=sys.stderr)
    return 0  # targets missed are reported in the table; nothing gates on the numbers


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
