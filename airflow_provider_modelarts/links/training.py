"""``ModelArtsTrainingJobLink``: the "ModelArts Training Job" button on the task."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

XCOM_KEY = "modelarts_console_url"


def console_url(config: Any, job_id: int | str, version_id: int | str | None) -> str:
    """The job's console page (the emulator's when the connection points at one), from its API adapter."""
    from airflow_provider_modelarts.adapters import for_ref, job_ref

    ref = job_ref(job_id, version_id)
    return for_ref(None, ref).console_url(config, ref)  # type: ignore[arg-type]


class ModelArtsTrainingJobLink(BaseOperatorLink):
    """Link to the training job version the task created or watches."""

    name = "ModelArts Training Job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # At the end of a try (Airflow 3 stores each link then) the running operator knows its job — or that
        # there is none (a create that failed first): no XCom lookup, so no "XCom not found" error in the log.
        if "modelarts_console_url" in vars(operator):
            return operator.modelarts_console_url or ""
        return XCom.get_value(key=XCOM_KEY, ti_key=ti_key) or ""

    @staticmethod
    def persist(context: Any, url: str) -> None:
        context["ti"].xcom_push(key=XCOM_KEY, value=url)
