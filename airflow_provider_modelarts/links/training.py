"""``ModelArtsTrainingJobLink``: the "ModelArts Training Job" button on the task."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

XCOM_KEY = "modelarts_console_url"


def console_url(config: Any, job_id: int | str, version_id: int | None) -> str:
    """The emulator's console page when the connection points at one, the Huawei Cloud console otherwise
    (its URL layout is [inference])."""
    if config.console_url:
        base = config.console_url.rstrip("/") + "/console/training-jobs"
        return f"{base}/v2/{job_id}" if version_id is None else f"{base}/{job_id}/versions/{version_id}"
    console = f"https://console.huaweicloud.com/modelarts/?region={config.region}#/trainingJobs"
    if version_id is None:
        return f"{console}/trainingJobDetail?jobId={job_id}"
    return f"{console}/trainingjobDetail?jobId={job_id}&versionId={version_id}"


class ModelArtsTrainingJobLink(BaseOperatorLink):
    """Link to the training job version the task created or watches."""

    name = "ModelArts Training Job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(key=XCOM_KEY, ti_key=ti_key) or ""

    @staticmethod
    def persist(context: Any, url: str) -> None:
        context["ti"].xcom_push(key=XCOM_KEY, value=url)
