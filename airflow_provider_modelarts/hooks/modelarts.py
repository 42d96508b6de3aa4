"""``ModelArtsHook``: an Airflow connection of type ``modelarts`` → an authenticated ModelArts client."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_modelarts.adapters import for_ref, for_version, job_ref
from airflow_provider_modelarts.catalogue import (
    AiEngine,
    Algorithm,
    BuiltInAlgorithm,
    Engine,
    Flavor,
    ResourceSpec,
)
from airflow_provider_modelarts.hooks import api_v1 as api
from airflow_provider_modelarts.hooks import api_v2
from airflow_provider_modelarts.hooks.client import ModelArtsClient
from airflow_provider_modelarts.hooks.connection import ASYNC_CONFIGS, ConnectionConfig
from airflow_provider_modelarts.hooks.credentials import mask
from airflow_provider_modelarts.models import ByteLogChunk, JobSummary, JobV2, JobVersion, LogChunk

T = TypeVar("T")


class ModelArtsHook(BaseHook):
    """Talk to Huawei Cloud ModelArts training jobs (v1 and v2 APIs) with an Airflow connection's credentials.

    The connection (type ``modelarts``) carries AK/SK or an IAM user/password in login/password, and
    ``region`` (required), ``project_id``, ``auth_type`` (``aksk`` | ``password`` | ``env``), ``domain_name``,
    ``security_token``, ``modelarts_endpoint``, ``iam_endpoint``, ``metadata_endpoint``, ``verify``,
    ``timeout``, ``connect_timeout``, ``max_retries``, ``retry_backoff``, ``retry_max_delay`` and
    ``api_version`` (``v2``, the default, or ``v1``) in its extra.

    Every method has an ``a``-prefixed async twin where a trigger needs it; both use one request path.

    :param modelarts_conn_id: the connection id, ``modelarts_default`` by default.
    """

    conn_name_attr = "modelarts_conn_id"
    default_conn_name = "modelarts_default"
    conn_type = "modelarts"
    hook_name = "Huawei Cloud ModelArts"

    def __init__(self, modelarts_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.modelarts_conn_id = modelarts_conn_id
        self._lookups: dict[str, Any] = {}
        self._aclient: ModelArtsClient | None = None

    # ------------------------------------------------------------------ connection form (Airflow 2.11's classic
    # form; Airflow 3.2+ reads the same table as ``conn-fields`` from the provider info and skips these)
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from airflow_provider_modelarts.hooks.connection_form import form_widgets

        return form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_modelarts.hooks.connection_form import UI_FIELD_BEHAVIOUR

        return UI_FIELD_BEHAVIOUR

    # ------------------------------------------------------------------ connection
    @staticmethod
    def _config_from(conn: Any) -> ConnectionConfig:
        config = ConnectionConfig.from_connection(conn)
        mask(*config.secrets)
        return config

    @cached_property
    def config(self) -> ConnectionConfig:
        return self._config_from(self.get_connection(self.modelarts_conn_id))

    @cached_property
    def client(self) -> ModelArtsClient:
        return ModelArtsClient(self.config)

    async def aclient(self) -> ModelArtsClient:
        """The client for async use; the connection is fetched the Airflow-3-safe way (triggerer), and shared by
        the async hooks of this process for a short while (:class:`~.connection.SharedConfigs`)."""
        if self._aclient is None:
            self._aclient = ModelArtsClient(await ASYNC_CONFIGS.get(self.modelarts_conn_id, self._afetch_config))
        return self._aclient

    async def _afetch_config(self) -> ConnectionConfig:
        from airflow.providers.common.compat.connection import get_async_connection

        return self._config_from(await get_async_connection(self.modelarts_conn_id, hook=self))

    def run(self, operation: api.Operation[T]) -> T:
        return operation.parse(self.client.call(operation.request).json())

    async def arun(self, operation: api.Operation[T]) -> T:
        client = await self.aclient()
        return operation.parse((await client.acall(operation.request)).json())

    @property
    def project_id(self) -> str | None:
        return self.client.project_id

    # ------------------------------------------------------------------ jobs and versions
    def create_training_job(self, body: dict[str, Any]) -> JobVersion:
        return self.run(api.create_job(body))

    def create_job_version(self, job_id: int | str, body: dict[str, Any]) -> JobVersion:
        return self.run(api.create_version(job_id, body))

    def list_training_jobs(self, **kwargs: Any) -> tuple[int, list[JobSummary]]:
        return self.run(api.list_jobs(**kwargs))

    def find_job_by_name(self, job_name: str) -> JobSummary | None:
        """The job whose name is exactly ``job_name`` (the list API searches substrings)."""
        page = 1
        while True:
            total, jobs = self.run(api.list_jobs(search_content=job_name, per_page=100, page=page))
            for job in jobs:
                if job.job_name == job_name:
                    return job
            if page * 100 >= total or not jobs:
                return None
            page += 1

    def get_job_version(self, job_id: int | str, version_id: int | str) -> JobVersion:
        return self.run(api.get_version(job_id, version_id))

    async def aget_job_version(self, job_id: int | str, version_id: int | str) -> JobVersion:
        return await self.arun(api.get_version(job_id, version_id))

    def list_job_versions(self, job_id: int | str) -> list[JobVersion]:
        return self.run(api.list_versions(job_id))

    def stop_job_version(self, job_id: int | str, version_id: int | str) -> None:
        self.run(api.stop_version(job_id, version_id))

    async def astop_job_version(self, job_id: int | str, version_id: int | str) -> None:
        await self.arun(api.stop_version(job_id, version_id))

    def delete_training_job(self, job_id: int | str) -> None:
        self.run(api.delete_job(job_id))

    def delete_job_version(self, job_id: int | str, version_id: int | str) -> None:
        self.run(api.delete_version(job_id, version_id))

    def update_job_description(self, job_id: int | str, job_desc: str) -> None:
        self.run(api.update_description(job_id, job_desc))

    # ------------------------------------------------------------------ new-version (v2) training jobs
    def create_training_job_v2(self, body: dict[str, Any]) -> JobV2:
        return self.run(api_v2.create_job(body))

    def get_training_job_v2(self, job_id: str) -> JobV2:
        return self.run(api_v2.get_job(job_id))

    async def aget_training_job_v2(self, job_id: str) -> JobV2:
        return await self.arun(api_v2.get_job(job_id))

    def search_training_jobs_v2(self, name: str | None = None, *, page_size: int = 50) -> list[JobV2]:
        """Every job whose name contains ``name`` (all pages), newest first."""
        # JobSearches: offset is a page index; the answer's count is the number of matching jobs
        return self._all_pages(lambda index, _: api_v2.search_jobs(name=name, limit=page_size, offset=index))

    def terminate_training_job_v2(self, job_id: str) -> None:
        self.run(api_v2.terminate_job(job_id))

    async def aterminate_training_job_v2(self, job_id: str) -> None:
        await self.arun(api_v2.terminate_job(job_id))

    def delete_training_job_v2(self, job_id: str) -> None:
        self.run(api_v2.delete_job(job_id))

    def get_log_preview_v2(self, job_id: str, task_id: str = "worker-0") -> dict[str, Any]:
        return self.run(api_v2.log_preview(job_id, task_id))

    def get_v2_engines(self) -> list[Engine]:
        return self._lookup("v2_engines", api_v2.engines())

    def get_v2_flavors(self) -> list[Flavor]:
        return self._lookup("v2_flavors", api_v2.flavors())

    def get_v2_algorithms(self) -> list[Algorithm]:
        """Every algorithm of the account's algorithm management (all pages of 50; ``offset`` counts items)."""
        return self._lookup("v2_algorithms", lambda: self._all_pages(
            lambda _, got: api_v2.algorithms(offset=got, limit=50)))

    # ------------------------------------------------------------------ either API: a job version or a v2 job
    def get_job(self, job_id: int | str, version_id: int | str | None = None) -> JobVersion | JobV2:
        """A v1 job version, or the v2 job when ``version_id`` is None."""
        ref = job_ref(job_id, version_id)
        return self.run(for_ref(self, ref).get(ref))

    def stop_job(self, job_id: int | str, version_id: int | str | None = None) -> None:
        """Stop a v1 job version, or the v2 job when ``version_id`` is None."""
        ref = job_ref(job_id, version_id)
        self.run(for_ref(self, ref).stop(ref))

    async def astop_job(self, job_id: int | str, version_id: int | str | None = None) -> None:
        ref = job_ref(job_id, version_id)
        await self.arun(for_ref(self, ref).stop(ref))

    # ------------------------------------------------------------------ logs
    def get_log_file_names(self, job_id: int | str, version_id: int | str) -> list[str]:
        return self.run(api.log_file_names(job_id, version_id))

    async def aget_log_file_names(self, job_id: int | str, version_id: int | str) -> list[str]:
        return await self.arun(api.log_file_names(job_id, version_id))

    def get_aom_log(self, job_id: int | str, version_id: int | str, **kwargs: Any) -> LogChunk:
        return self.run(api.aom_log(job_id, version_id, **kwargs))

    async def aget_aom_log(self, job_id: int | str, version_id: int | str, **kwargs: Any) -> LogChunk:
        return await self.arun(api.aom_log(job_id, version_id, **kwargs))

    def get_byte_log(self, job_id: int | str, version_id: int | str, **kwargs: Any) -> ByteLogChunk:
        return self.run(api.byte_log(job_id, version_id, **kwargs))

    # ------------------------------------------------------------------ lookups (cached per hook)
    def _lookup(self, key: str, load: api.Operation[T] | Callable[[], T]) -> T:
        """A catalogue, read once per hook: one operation, or a loader (e.g. all pages)."""
        if key not in self._lookups:
            self._lookups[key] = self.run(load) if isinstance(load, api.Operation) else load()
        return self._lookups[key]

    def _all_pages(self, page: Callable[[int, int], api.Operation[tuple[int, list[Any]]]]) -> list[Any]:
        """Read ``page(page index, items so far)`` until the total is reached or a page comes back empty."""
        items: list[Any] = []
        for index in range(10_000):
            total, batch = self.run(page(index, len(items)))
            items += batch
            if not batch or len(items) >= total:
                break
        return items

    def get_resource_specs(self) -> list[ResourceSpec]:
        return self._lookup("specs", api.resource_specs())

    def get_ai_engines(self) -> list[AiEngine]:
        return self._lookup("engines", api.ai_engines())

    def get_built_in_algorithms(self) -> list[BuiltInAlgorithm]:
        """Every v1 built-in algorithm (all pages of 100, the documented maximum)."""
        return self._lookup("algorithms", lambda: self._all_pages(
            lambda index, _: api.built_in_algorithms(per_page=100, page=index + 1)))

    # ------------------------------------------------------------------ Airflow UI
    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call: list jobs, one per page (with the connection's API version)."""
        try:
            total, _ = self.run(for_version(self, self.config.api_version).count_jobs())
        except Exception as err:
            return False, str(err)
        return True, (f"Connected to ModelArts in region {self.config.region}, project {self.project_id} "
                      f"({self.config.auth_type} auth, {self.config.api_version} API); {total} training jobs")
