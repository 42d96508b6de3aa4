"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from airflow_provider_modelarts import __version__
    from airflow_provider_modelarts.hooks.connection_form import UI_FIELD_BEHAVIOUR, conn_fields

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
                    "trigger_cursor_save_interval": {
                        "description": "Seconds between a deferred wait's saves of its training-log cursor (an "
                                       "Airflow Variable per task instance, so a restarted triggerer prints no "
                                       "line twice). Each save is a metadata-DB write through the triggerer, "
                                       "shared by all its triggers; a trigger also saves when it is cancelled "
                                       "(triggerer stopped, task cleared). A triggerer killed outright can "
                                       "repeat up to this many seconds of lines. 0: after every poll that "
                                       "printed lines. Workers (wait=True, poke and reschedule sensors) always "
                                       "save after every such poll.",
                        "version_added": "0.1.0", "type": "float", "example": "60", "default": "300",
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
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": conn_fields(),
            }
        ],
    }
