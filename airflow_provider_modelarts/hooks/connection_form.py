"""The ``modelarts`` connection form: one table of every extra, rendered two ways.

- Airflow 3.2+: declarative ``conn-fields`` in the provider info (JSON-schema fields with labels, help text,
  defaults and choices).
- Airflow 2.11: the classic form's WTForms widgets (``get_connection_form_widgets``; Airflow 2 accepts only
  text, password, integer and boolean fields, so choices are text fields with the choices in their help text).

The values are checked by :class:`~airflow_provider_modelarts.hooks.connection.ConnectionConfig` when the
connection is used, with one message naming the field. No heavy imports here: the provider info reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.hooks.defaults import (
    API_VERSIONS,
    AUTH_TYPES,
    DEFAULT_API_VERSION,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_RETRY_MAX_DELAY,
)


@dataclass(frozen=True)
class FormField:
    """``kind``: ``text`` | ``secret`` | ``choice`` | ``integer`` | ``number``."""

    name: str
    label: str
    description: str
    kind: str = "text"
    default: Any = None
    choices: tuple[str, ...] = ()


FIELDS: tuple[FormField, ...] = (
    FormField("region", "Region", "Huawei Cloud region id, e.g. cn-north-4 (required)"),
    FormField("auth_type", "Auth type", "aksk: AK/SK in login/password; password: IAM user and password; env: "
              "HUAWEICLOUD_SDK_* variables, then the instance metadata service", "choice", "aksk", AUTH_TYPES),
    FormField("api_version", "Training API version", "v2 (new-version training jobs, the default) or v1 "
              "(old-version jobs with versions)", "choice", DEFAULT_API_VERSION, API_VERSIONS),
    FormField("project_id", "Project ID", "optional: discovered from the region when empty"),
    FormField("domain_name", "Account (domain) name", "password auth: the account of the IAM user; defaults to "
              "the user name"),
    FormField("security_token", "STS security token", "with temporary AK/SK (aksk auth)", "secret"),
    FormField("modelarts_endpoint", "ModelArts endpoint", "optional override; default "
              "https://modelarts.{region}.myhuaweicloud.com"),
    FormField("iam_endpoint", "IAM endpoint", "optional override; default the region's IAM endpoint"),
    FormField("obs_endpoint", "OBS endpoint", "optional override; default https://obs.{region}.myhuaweicloud.com"),
    FormField("obs_path_style", "OBS path-style addressing", "true: endpoint/bucket/key; false: "
              "bucket.endpoint/key; empty: path-style for IP or localhost endpoints only"),
    FormField("metadata_endpoint", "Metadata service endpoint", "env auth: default http://169.254.169.254"),
    FormField("verify", "Verify TLS", "true, false, or the path of a CA bundle", "text", "true"),
    FormField("timeout", "Read timeout (seconds)", "per request", "number", DEFAULT_READ_TIMEOUT),
    FormField("connect_timeout", "Connect timeout (seconds)", "per request", "number", DEFAULT_CONNECT_TIMEOUT),
    FormField("max_retries", "Max retries", "of throttled or failed idempotent calls", "integer",
              DEFAULT_MAX_RETRIES),
    FormField("retry_backoff", "Retry backoff (seconds)", "first delay; doubles per retry, with jitter", "number",
              DEFAULT_RETRY_BACKOFF),
    FormField("retry_max_delay", "Max retry delay (seconds)", "cap of one delay (a Retry-After may ask less)",
              "number", DEFAULT_RETRY_MAX_DELAY),
    FormField("console_url", "Console URL", "emulator only: its console's base URL (set by the emulator)"),
)

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "AK or IAM user name", "password": "SK or IAM password"},
    "placeholders": {"login": "access key (aksk) / IAM user (password) / empty (env)",
                     "password": "secret key (aksk) / IAM password (password) / empty (env)"},
}


def conn_fields() -> dict[str, Any]:
    """Airflow 3.2+ ``conn-fields``."""
    types = {"text": "string", "secret": "string", "choice": "string", "integer": "integer", "number": "number"}
    out: dict[str, Any] = {}
    for field in FIELDS:
        schema: dict[str, Any] = {"type": [types[field.kind], "null"]}
        if field.kind == "choice":
            schema = {"type": "string", "enum": list(field.choices)}
        if field.kind == "secret":
            schema["format"] = "password"
        if field.default is not None:
            schema["default"] = field.default
        out[field.name] = {"label": field.label, "description": field.description, "schema": schema}
    return out


def form_widgets() -> dict[str, Any]:
    """Airflow 2.11's classic form (WTForms; imported only when Airflow asks)."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, PasswordField, StringField

    widgets: dict[str, Any] = {}
    for field in FIELDS:
        description = field.description + (f" ({' | '.join(field.choices)})" if field.choices else "")
        default = None if field.default is None else str(field.default)
        if field.kind == "secret":
            widgets[field.name] = PasswordField(lazy_gettext(field.label), widget=BS3PasswordFieldWidget(),
                                                description=description)
        elif field.kind == "integer":
            widgets[field.name] = IntegerField(lazy_gettext(field.label), widget=BS3TextFieldWidget(),
                                               description=description, default=field.default)
        else:
            widgets[field.name] = StringField(lazy_gettext(field.label), widget=BS3TextFieldWidget(),
                                              description=description, default=default)
    return widgets
