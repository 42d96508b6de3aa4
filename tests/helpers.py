"""Small helpers for tests: training scripts in the emulator's local OBS, waiting for a version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from airflow_provider_modelarts.models import JobVersion

#: screenshots of the browser tests (``TEST_ARTIFACTS`` moves them)
ARTIFACTS_ROOT = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts"))

TRAIN_OK = """
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--data_url"); p.add_argument("--train_url"); p.add_argument("--lr", default="0.1")
a, _ = p.parse_known_args()
files = sorted(os.listdir(a.data_url))
print("rank", os.environ.get("DLS_TASK_INDEX"), "of", os.environ.get("DLS_TASK_NUMBER"), "files", files)
os.makedirs(a.train_url, exist_ok=True)
with open(os.path.join(a.train_url, "metrics-%s.json" % os.environ.get("DLS_TASK_INDEX")), "w") as f:
    json.dump({"lr": float(a.lr), "files": len(files)}, f)
print("done")
"""

TRAIN_FAIL = """
import sys
for i in range(30):
    print("step", i)
print("Traceback: something broke in the training loop", flush=True)
sys.exit(3)
"""


#: Airflow's CLI entry point (``airflow.__main__.main``) run for several commands in one process: one interpreter
#: start and one Airflow import instead of one per command (the suite's time); each command's output ends with
#: ``CLI_SEPARATOR``
_CLI = """
import json, sys
from airflow.__main__ import main
for argv in json.loads(sys.argv[1]):
    sys.argv = ["airflow", *argv]
    main()
    print(%r, flush=True)
"""
CLI_SEPARATOR = "--- end of command ---"


def airflow_commands(env: dict[str, str], *commands: list[str], timeout: float = 600) -> list[str]:
    """Run ``airflow <command>`` for each command, in order, in one process with ``env``; each one's stdout.
    Fails with the output when a command fails."""
    proc = subprocess.run([sys.executable, "-c", _CLI % CLI_SEPARATOR, json.dumps(commands)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow {commands} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    outputs = proc.stdout.split(CLI_SEPARATOR + "\n")
    if len(outputs) != len(commands) + 1:
        raise RuntimeError(f"airflow {commands}: {len(outputs) - 1} outputs:\n{proc.stdout[-3000:]}")
    return outputs[:-1]


def unique(prefix: str = "job") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def put(emu, obs_path: str, content: str) -> str:
    path = emu.obs_path(obs_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(content))
    return obs_path


def framework_job(emu, name: str, script: str = TRAIN_OK, workers: int = 1, **config) -> dict:
    """A create body for a framework job whose code and data are in the emulator's OBS."""
    put(emu, f"/bucket/{name}/code/train.py", script)
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    body = {"job_name": name, "job_desc": "test", "config": {
        "worker_server_num": workers, "app_url": f"/bucket/{name}/code/", "boot_file_url": f"/bucket/{name}/code/train.py",
        "data_url": f"/bucket/{name}/data/", "train_url": f"/bucket/{name}/out/", "log_url": f"/bucket/{name}/logs/",
        "spec_id": 7, "engine_id": 122, "parameter": [{"label": "lr", "value": "0.5"}], **config}}
    return body


def wait_terminal(hook, version: JobVersion, timeout: float = 30.0) -> JobVersion:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = hook.get_job_version(version.job_id, version.version_id)
        if version.state.is_terminal:
            return version
        time.sleep(0.05)
    raise AssertionError(f"{version} did not finish within {timeout}s")


class MemoryVariables:
    """Airflow Variables for in-process tests (no task runtime to reach): what the cursor store writes."""

    values: dict[str, object] = {}

    @classmethod
    def get(cls, key, default=None, deserialize_json=False, **_):
        import json

        value = cls.values.get(key, default)
        return json.loads(value) if deserialize_json and isinstance(value, str) else value

    @classmethod
    def set(cls, key, value, serialize_json=False, **_):
        import json

        cls.values[key] = json.dumps(value) if serialize_json else value

    @classmethod
    def delete(cls, key):
        cls.values.pop(key, None)

    @classmethod
    def keys(cls, prefix=None):
        return [key for key in cls.values if key.startswith(prefix or "")]
