"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from airflow_provider_modelarts import __version__

    def text(label: str, description: str = "") -> dict[str, Any]:
        return {"label": label, "description": description, "schema": {"type": ["string", "null"]}}

    def secret(label: str, description: str = "") -> dict[str, Any]:
        return {"label": label, "description": description,
                "schema": {"type": ["string", "null"], "format": "password"}}

    return {
        "package-name": "airflow-provider-modelarts",
        "name": "Huawei Cloud ModelArts",
        "description": "Run Huawei Cloud ModelArts training jobs from Airflow DAGs.",
        "versions": [__version__],
        "extra-links": ["airflow_provider_modelarts.links.training.ModelArtsTrainingJobLink"],
        "triggers": [{"integration-name": "Huawei Cloud ModelArts",
                      "python-modules": ["airflow_provider_modelarts.triggers.training"]}],
        "operators": [{"integration-name": "Huawei Cloud ModelArts",
                       "python-modules": ["airflow_provider_modelarts.operators.training"]}],
        "sensors": [{"integration-name": "Huawei Cloud ModelArts",
                     "python-modules": ["airflow_provider_modelarts.sensors.training"]}],
        "hooks": [{"integration-name": "Huawei Cloud ModelArts",
                   "python-modules": ["airflow_provider_modelarts.hooks.modelarts"]},
                  {"integration-name": "Huawei Cloud OBS",
                   "python-modules": ["airflow_provider_modelarts.hooks.obs"]}],
        "config": {
            "modelarts": {
                "description": "Huawei Cloud ModelArts provider.",
                "options": {
                    "keep_ansi_escapes": {
                        "description": "Keep ANSI escape sequences (colours, cursor moves) of training logs in the "
                                       "task log. By default they are removed: they arrive as raw bytes.",
                        "version_added": "0.1.0", "type": "boolean", "example": "True", "default": "False",
                    },
                },
            },
        },
        "integrations": [{"integration-name": "Huawei Cloud ModelArts",
                          "external-doc-url": "https://support.huaweicloud.com/intl/en-us/modelarts/",
                          "tags": ["service"]},
                         {"integration-name": "Huawei Cloud OBS",
                          "external-doc-url": "https://support.huaweicloud.com/intl/en-us/obs/",
                          "tags": ["service"]}],
        "connection-types": [
            {
                "connection-type": "modelarts",
                "hook-class-name": "airflow_provider_modelarts.hooks.modelarts.ModelArtsHook",
                "hook-name": "Huawei Cloud ModelArts",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "AK or IAM user name", "password": "SK or IAM password"},
                    "placeholders": {
                        "login": "access key (aksk) / IAM user (password) / empty (env)",
                        "extra": '{"region": "cn-north-4", "auth_type": "aksk"}',
                    },
                },
                "conn-fields": {
                    "region": text("Region", "Huawei Cloud region id, e.g. cn-north-4 (required)"),
                    "auth_type": {"label": "Auth type", "description": "aksk | password | env (inferred when empty)",
                                  "schema": {"type": ["string", "null"], "enum": ["aksk", "password", "env", None]}},
                    "project_id": text("Project ID", "discovered from the region when empty"),
                    "domain_name": text("Account (domain) name", "password auth; defaults to the user name"),
                    "security_token": secret("STS security token", "for temporary AK/SK"),
                    "modelarts_endpoint": text("ModelArts endpoint", "override, e.g. for other Huawei stacks"),
                    "iam_endpoint": text("IAM endpoint", "override"),
                    "metadata_endpoint": text("Metadata endpoint", "env auth: instance metadata base URL"),
                    "obs_endpoint": text("OBS endpoint", "override; default https://obs.{region}.myhuaweicloud.com"),
                    "obs_path_style": {"label": "OBS path-style addressing",
                                       "description": "endpoint/bucket/key; default: for IP or localhost endpoints",
                                       "schema": {"type": ["boolean", "null"]}},
                    "timeout": {"label": "Read timeout (s)", "schema": {"type": ["number", "null"]}},
                    "max_retries": {"label": "Max retries", "schema": {"type": ["integer", "null"]}},
                },
            }
        ],
    }
