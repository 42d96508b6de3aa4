"""The end-to-end tests of ``test_airflow_e2e.py`` on a stack whose connection uses the v1 API (jobs with
versions). A module of its own, so that pytest-xdist runs it beside the v2 stack."""

from __future__ import annotations

from test_airflow_e2e import *  # noqa: F403 (the same tests, scenarios and fixtures)

API_VERSION = "v1"
