"""Airflow assets for trained models: the task's ``outlets`` carry the finished job in their event's ``extra``.

Airflow emits an asset event for every asset in a task's ``outlets`` when the task succeeds; a DAG scheduled on
that asset runs for each new model. Put the outlet on the task that *waits* for the training
(``CreateTrainingJobOperator(wait=True)`` or ``TrainingJobSensor``): with ``wait=False`` the task ends when the job
was submitted, before anything is trained (the operator warns at parse time). The extra tells the downstream DAG
which job made the model and where it is: ``job_id``, ``job_name``, ``version_id``/``version_name`` (v1),
``train_url``, ``status_name``, ``console_url`` and ``duration_seconds``.
"""

from __future__ import annotations

from typing import Any

EXTRA_KEYS = ("api_version", "job_id", "job_name", "version_id", "version_name", "train_url", "status_name",
              "console_url", "duration_seconds")


def asset_outlets(outlets: Any) -> list[Any]:
    """The Airflow assets (Airflow 2: datasets) among a task's ``outlets``."""
    from airflow.providers.common.compat.assets import Asset

    return [outlet for outlet in outlets or [] if isinstance(outlet, Asset)]


def annotate_outlets(outlets: Any, context: Any, result: dict[str, Any]) -> None:
    """Add the successful job to the extra of each asset event the task is about to emit."""
    if result.get("outcome") != "success":
        return
    events = context.get("outlet_events") if hasattr(context, "get") else None
    if events is None:
        return
    extra = {key: result[key] for key in EXTRA_KEYS if result.get(key) is not None}
    for asset in asset_outlets(outlets):
        events[asset].extra.update(extra)
