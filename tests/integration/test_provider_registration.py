"""Airflow discovers the provider and keeps the connection type (an unregistered one becomes 'generic')."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import airflow_commands

pytestmark = pytest.mark.slow(10)  # seconds in the suite: started first (tests/conftest.py)


def _airflow(home: Path, *commands: list[str]) -> list[str]:
    """Each command's stdout, as ``airflow <command>`` prints it (one process for all: helpers.airflow_commands)."""
    return airflow_commands({**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
                            *commands, timeout=180)


def test_provider_is_listed_and_connection_type_kept(tmp_path):
    _, providers, hooks, _, got = _airflow(
        tmp_path, ["db", "migrate"], ["providers", "list"], ["providers", "hooks"],
        ["connections", "add", "t", "--conn-type", "modelarts", "--conn-extra", '{"region": "cn-north-4"}'],
        ["connections", "get", "t", "-o", "json"])
    assert "airflow-provider-modelarts" in providers
    assert "airflow_provider_modelarts.hooks.modelarts.ModelArtsHook" in hooks
    conn = json.loads(got.strip().splitlines()[-1])
    assert conn[0]["conn_type"] == "modelarts"


def test_provider_info_declares_connection_form():
    from airflow_provider_modelarts.get_provider_info import get_provider_info

    info = get_provider_info()
    conn_type = info["connection-types"][0]
    assert info["package-name"] == "airflow-provider-modelarts"
    assert conn_type["connection-type"] == "modelarts"
    assert conn_type["conn-fields"]["security_token"]["schema"]["format"] == "password"
    assert "region" in conn_type["conn-fields"]


def test_the_connection_form_has_every_extra_with_defaults_that_validate():
    """Every extra ConnectionConfig reads is a labelled field; choices are choices (no 'null' option); the form's
    defaults, saved as they are, make a valid connection."""
    from airflow_provider_modelarts.get_provider_info import get_provider_info
    from airflow_provider_modelarts.hooks.connection import KNOWN_EXTRAS, ConnectionConfig

    fields = get_provider_info()["connection-types"][0]["conn-fields"]
    assert set(fields) == KNOWN_EXTRAS
    assert all(f["label"] and f["description"] for f in fields.values())
    assert fields["api_version"]["schema"] == {"type": "string", "enum": ["v1", "v2"], "default": "v2"}
    assert fields["auth_type"]["schema"]["enum"] == ["aksk", "password", "env"]
    defaults = {name: f["schema"]["default"] for name, f in fields.items() if "default" in f["schema"]}
    config = ConnectionConfig.from_values(conn_id="form", login="AK", password="SK",
                                          extra={**defaults, "region": "cn-north-4"})
    assert (config.api_version, config.auth_type, config.verify, config.max_retries) == ("v2", "aksk", True, 5)


def test_airflow_builds_the_form_from_it():
    """Airflow's own ProvidersManager: conn-fields on Airflow 3.2+, the classic WTForms widgets on Airflow 2."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    from airflow_provider_modelarts.hooks.connection import KNOWN_EXTRAS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.providers_manager import ProvidersManager

        widgets = ProvidersManager().connection_form_widgets
        ours = {name.removeprefix("extra__modelarts__"): w for name, w in widgets.items()
                if name.startswith("extra__modelarts__")}
        assert set(ours) == KNOWN_EXTRAS
        assert ours["api_version"].field["schema"]["title"] == "Training API version"
        assert ours["security_token"].is_sensitive
    else:
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        widgets = ModelArtsHook.get_connection_form_widgets()
        assert set(widgets) == KNOWN_EXTRAS
        assert "v2 | v1" in str(widgets["api_version"].kwargs["description"]) or \
            "(v1 | v2)" in str(widgets["api_version"].kwargs["description"])
        assert ModelArtsHook.get_ui_field_behaviour()["hidden-fields"] == ["host", "schema", "port"]
