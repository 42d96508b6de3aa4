"""Test setup: an isolated AIRFLOW_HOME (before anything imports airflow) and a shared emulator."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parent / "dags")
os.environ.setdefault("HOME", _AIRFLOW_HOME)
for _name in [n for n in os.environ if n.startswith(("AIRFLOW_CONN_", "HUAWEICLOUD_SDK_"))]:
    del os.environ[_name]
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from helpers import MemoryVariables  # noqa: E402

from airflow_provider_modelarts.emulator import ModelArtsEmulator  # noqa: E402
from airflow_provider_modelarts.hooks import lockout  # noqa: E402
from airflow_provider_modelarts.hooks.credentials import clear_caches  # noqa: E402

TIERS = {"unit": "unit", "integration": "integration", "conformance": "integration", "e2e": "e2e"}


def pytest_collection_modifyitems(items):
    """Each test's tier from its folder: ``-m unit`` (seconds), ``-m integration``, ``-m e2e``. Then the modules
    marked ``slow(seconds)`` first, slowest first: pytest-xdist (``--dist loadfile --no-loadscope-reorder``, see
    scripts/test.sh) hands modules out in this order, so the long ones start at once on different workers and the
    short ones fill the gaps at the end (longest-first scheduling)."""
    for item in items:
        folder = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts[0]
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, TIERS[folder]))

    def seconds(item) -> float:
        mark = item.get_closest_marker("slow")
        return float(mark.args[0]) if mark else 0.0

    order = {item: index for index, item in enumerate(items)}
    items.sort(key=lambda item: (-seconds(item), order[item]))


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator process for the session; tests that change faults/config restore them."""
    with ModelArtsEmulator(root=tmp_path_factory.mktemp("emulator"), step_delay=0.05, kill_grace=2.0) as emu:
        yield emu


@pytest.fixture
def emu(emulator):
    """The shared emulator with faults cleared and stats reset around each test."""
    emulator.set_faults(None)
    emulator.reset_stats()
    yield emulator
    emulator.set_faults(None)
    emulator.configure(token_lifetime=86400, temp_key_lifetime=900, metadata_agency=True, metadata_token_api=True,
                       record_responses=False)


@pytest.fixture(autouse=True)
def _fresh_process_caches(monkeypatch, tmp_path):
    """Each test starts without cached tokens, temporary keys, project ids or lock-out counters (its own
    lock-out guard directory: the guard is shared by every process on a machine)."""
    clear_caches()
    lockout.clear_process_cache()
    monkeypatch.setenv(lockout.ENV_DIR, str(tmp_path / "lockout"))
    monkeypatch.delenv("AIRFLOW_CONN_MODELARTS_DEFAULT", raising=False)
    yield
    clear_caches()
    lockout.clear_process_cache()


@pytest.fixture(autouse=True)
def memory_variables(monkeypatch):
    """In-process tests keep saved log cursors in memory; the e2e tier uses Airflow's real Variables."""
    from airflow_provider_modelarts import cursor_store

    MemoryVariables.values = {}
    monkeypatch.setattr(cursor_store, "variables", lambda: MemoryVariables)
    monkeypatch.setattr(cursor_store, "_KEYS", cursor_store._KnownKeys())  # no listing left from another test
    return MemoryVariables


@pytest.fixture
def use_conn(emu, monkeypatch):
    """use_conn("password") points modelarts_default at the emulator with that auth mode (v1 API unless
    api_version="v2": most suites test v1, the *_v2 suites v2)."""

    def _use(auth_type: str = "aksk", conn_id: str = "modelarts_default", api_version: str = "v1",
             **extra_overrides):
        conn = emu.conn_dict(auth_type, api_version)
        conn["extra"].update(extra_overrides)
        conn["extra"] = {k: v for k, v in conn["extra"].items() if v is not None}
        import json

        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn

    return _use
