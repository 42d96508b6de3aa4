"""Airflow discovers the provider and keeps the connection type (an unregistered one becomes 'generic')."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow(home: Path, *args: str) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, check=True, timeout=120).stdout


def test_provider_is_listed_and_connection_type_kept(tmp_path):
    _airflow(tmp_path, "db", "migrate")
    providers = _airflow(tmp_path, "providers", "list")
    assert "airflow-provider-modelarts" in providers
    hooks = _airflow(tmp_path, "providers", "hooks")
    assert "airflow_provider_modelarts.hooks.modelarts.ModelArtsHook" in hooks
    _airflow(tmp_path, "connections", "add", "t", "--conn-type", "modelarts", "--conn-extra", '{"region": "cn-north-4"}')
    conn = json.loads(_airflow(tmp_path, "connections", "get", "t", "-o", "json").strip().splitlines()[-1])
    assert conn[0]["conn_type"] == "modelarts"


def test_provider_info_declares_connection_form():
    from airflow_provider_modelarts.get_provider_info import get_provider_info

    info = get_provider_info()
    conn_type = info["connection-types"][0]
    assert info["package-name"] == "airflow-provider-modelarts"
    assert conn_type["connection-type"] == "modelarts"
    assert conn_type["conn-fields"]["security_token"]["schema"]["format"] == "password"
    assert "region" in conn_type["conn-fields"]
