"""The end-to-end tests of ``test_airflow_e2e.py`` on a stack whose connection uses the v1 API (jobs with
versions). A module of its own, so that pytest-xdist runs it beside the v2 stack."""

from __future__ import annotations

from test_airflow_e2e import *  # noqa: F403 (the same tests, scenarios and fixtures)

API_VERSION = "v1"

# Airflow's connection form is the same whatever API version a connection uses: the v2 module checks it in the
# browser, once (a second headless Chromium here would only cost the suite its start-up)
del test_the_connection_form_in_the_airflow_ui_shows_every_field_with_its_help  # noqa: F821
