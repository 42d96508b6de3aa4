"""6. Bad-input and secret audit: every invalid configuration the test suite exercises, run again here
against an emulator — does it fail with an error naming the field, before any request? — and a scan of the
logs written by the soak (and the demo, when present) for the emulator's secrets."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from benchmarks.common import REPO, Row, TaskInstanceStub, isolate_airflow, use_connection


def _cases():
    from integration.test_hook_auth import BAD_CONNECTIONS
    from integration.test_lifecycle import BAD_AFTER_LOOKUP, BAD_STATIC, BASE

    for change, field in BAD_STATIC:
        yield "operator (static)", field, lambda change=change: _operator({**BASE, **change}, execute=False)
    for change, field, _ in BAD_AFTER_LOOKUP:
        yield "operator (name lookup)", field, lambda change=change: _operator({**BASE, **change}, execute=True)
    for conn, field in BAD_CONNECTIONS:
        yield "connection", field, lambda conn=conn: _connection(conn)


def _operator(params: dict, execute: bool) -> None:
    from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator

    op = CreateTrainingJobOperator(**params)
    if execute:
        op.execute({"ti": TaskInstanceStub(run_id="audit")})


def _connection(conn: dict) -> None:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    os.environ["AIRFLOW_CONN_AUDIT"] = json.dumps(conn)
    ModelArtsHook(modelarts_conn_id="audit").list_training_jobs()


def run(smoke: bool = False, log_dirs: list[Path] | None = None) -> list[Row]:
    isolate_airflow()
    from airflow_provider_modelarts.emulator import ModelArtsEmulator
    from airflow_provider_modelarts.exceptions import ModelArtsConfigError

    clear = zero = lookups_only = 0
    cases = list(_cases())
    with ModelArtsEmulator() as emu:
        use_connection(emu)
        for _kind, field, call in cases:
            emu.reset_stats()
            try:
                call()
                message = ""
            except ModelArtsConfigError as err:
                message = str(err)
            requests = {k: v for k, v in emu.stats()["requests"].items() if not k.startswith("admin")}
            clear += f"{field}:" in message or f"'{field}'" in message
            zero += not requests
            lookups_only += bool(requests) and set(requests) <= {"resource_specs", "ai_engines",
                                                                 "built_in_algorithms", "iam_projects"}
        secrets = [emu.credentials.sk, emu.credentials.password]
    scanned = leaks = 0
    for folder in log_dirs or []:
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".log", ".out", ".txt", ""):
                scanned += 1
                text = path.read_text(errors="replace")
                leaks += sum(secret in text for secret in secrets)
    n = len(cases)
    return [
        Row("6. Bad input", "invalid configurations exercised by the test suite", n),
        Row("6. Bad input", "… failing with an error that names the field", f"{clear}/{n}", "", "all", clear == n),
        Row("6. Bad input", "… with zero requests (the rest only read the lookup APIs, never write)",
            f"{zero}/{n}", f"{lookups_only} lookup-only", "all (lookups allowed for name → id)",
            zero + lookups_only == n),
        Row("6. Secret audit", f"secrets found in {scanned} log files (soak, demo)", leaks, "", "0", leaks == 0),
    ]


if __name__ == "__main__":
    dirs = [p for p in (REPO / ".demo",) if p.exists()]
    for row in run("--smoke" in sys.argv, dirs):
        print(row.cells())
