"""API-version adapters: the one place that picks v1 or v2 (see :mod:`.base` for the protocol)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.adapters.base import Naming, SubmitPolicy, TrainingApi
from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.models import JobRef, parse_id

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

API_VERSIONS = ("v1", "v2")
__all__ = ["API_VERSIONS", "Naming", "SubmitPolicy", "TrainingApi", "for_ref", "for_version", "job_ref"]


def for_version(hook: ModelArtsHook, api_version: str) -> TrainingApi:
    """The adapter for ``api_version`` (``v1`` or ``v2``)."""
    from airflow_provider_modelarts.adapters.v1 import V1TrainingApi
    from airflow_provider_modelarts.adapters.v2 import V2TrainingApi

    adapters: dict[str, Any] = {"v1": V1TrainingApi, "v2": V2TrainingApi}
    if api_version not in adapters:
        raise ModelArtsConfigError(f"api_version: expected 'v1' or 'v2', got {api_version!r}")
    return adapters[api_version](hook)


def for_ref(hook: ModelArtsHook, ref: JobRef) -> TrainingApi:
    return for_version(hook, ref.api_version)


#: a v2 training job id is a UUID; anything that is not letters, digits, '-' or '_' cannot be one — and would
#: change the signed path (``?``, ``/``, ``#``), so it is refused before anything is signed
V2_JOB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def _absent(value: Any) -> bool:
    return value is None or str(value).strip() in ("", "None")


def job_ref(job_id: Any, version_id: Any = None) -> JobRef:
    """The job given by task arguments or XCom: a v1 version (``job_id`` + ``version_id``), or a v2 job when
    ``version_id`` is None, empty or "None" (what a ``version_id`` XCom template renders to on v2)."""
    if _absent(version_id):
        if _absent(job_id):
            raise ModelArtsConfigError(f"job_id: expected a v2 training job id (or a v1 job id with version_id), "
                                       f"got {job_id!r}")
        text = str(job_id).strip()
        if text.isdigit():
            raise ModelArtsConfigError(
                f"job_id: {text} is a v1 job id, but version_id is {version_id!r}: give the version_id too (XCom key "
                f"'version_id' of the task that created it), or the id of a v2 job (a UUID)")
        if not V2_JOB_ID_RE.match(text):
            raise ModelArtsConfigError(f"job_id: expected a v2 training job id (a UUID: letters, digits, '-'), got "
                                       f"{job_id!r}")
        return JobRef("v2", text)
    ids = []
    for name, value in (("job_id", job_id), ("version_id", version_id)):
        try:
            ids.append(parse_id(value, field_name=name))
        except ValueError as err:
            raise ModelArtsConfigError(f"{name}: expected an integer v1 id (a number or its text), got "
                                       f"{value!r}") from err
    return JobRef("v1", ids[0], ids[1])
