"""The v1 (old-version) training API: jobs with versions; a re-run is the job's next version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.adapters.base import (
    AdapterBase,
    Naming,
    Steps,
    SubmitPolicy,
    check_node_count,
    find_engine,
    find_entry,
)
from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.hooks import api_v1 as api
from airflow_provider_modelarts.models import JobRef, JobVersion

if TYPE_CHECKING:
    from airflow_provider_modelarts.catalogue import AiEngine, BuiltInAlgorithm, ResourceSpec
    from airflow_provider_modelarts.hooks.connection import ConnectionConfig
    from airflow_provider_modelarts.models import LogChunk
    from airflow_provider_modelarts.spec import TrainingJobSpec


@dataclass(frozen=True)
class ResolvedV1:
    """The seed's names as v1 catalogue entries."""

    spec: ResourceSpec | None = None
    engine: AiEngine | None = None
    algorithm: BuiltInAlgorithm | None = None


def config_body(spec: TrainingJobSpec, resolved: ResolvedV1) -> dict[str, Any]:
    """The ``config`` object of a v1 create body (§2.14 mapping)."""
    config: dict[str, Any] = {"worker_server_num": spec.train_instance_count, "train_url": spec.output_path,
                              "parameter": list(spec.hyperparameters)}
    # "When creating a public pool job, spec_id is mandatory and cannot be used with pool_id; when creating a
    # dedicated pool job, pool_id is mandatory and cannot be used with spec_id" (Creating a Training Job, v1 field
    # table; its sample sends both — the table wins, see docs/api-fidelity.md)
    if spec.pool_id:
        config["pool_id"] = spec.pool_id
    elif resolved.spec is not None:
        config["spec_id"] = resolved.spec.spec_id
    if spec.log_url:
        config["log_url"] = spec.log_url
    if spec.inputs:
        config["data_url"] = spec.inputs
    elif spec.dataset_id:
        config["dataset_id"], config["dataset_version_id"] = spec.dataset_id, spec.dataset_version_id
    else:
        config["data_source"] = spec.data_source
    if spec.kind == "built-in":
        config["model_id"] = resolved.algorithm.model_id if resolved.algorithm else None
    elif spec.kind == "custom-image":
        # the parameters are the container's environment variables for a custom image (v1 field table)
        config["user_image_url"], config["user_command"] = spec.user_image_url, spec.user_command
        if spec.code_dir:  # downloaded into the container (user-job-dir/<code dir name>)
            config["app_url"], config["boot_file_url"] = spec.code_dir, spec.boot_file
    else:
        config["engine_id"] = resolved.engine.engine_id if resolved.engine else None
        config["app_url"], config["boot_file_url"] = spec.code_dir, spec.boot_file
    return config


class V1TrainingApi(AdapterBase):
    """:class:`~airflow_provider_modelarts.adapters.base.TrainingApi` on ``/v1/{project_id}/training-jobs``."""

    api_version = "v1"

    def resolve(self, spec: TrainingJobSpec) -> ResolvedV1:
        """Names → catalogue entries through the lookup APIs (cached per hook)."""
        found: dict[str, Any] = {}
        if spec.train_instance_type and spec.pool_id:
            raise ModelArtsConfigError("train_instance_type: on the v1 API a dedicated-pool job (pool_id) takes no "
                                       "resource spec (spec_id and pool_id exclude each other); drop "
                                       "train_instance_type, or use api_version='v2' for a pool flavor")
        if spec.train_instance_type:
            found["spec"] = find_entry(self.hook.get_resource_specs(), lambda s: s.spec_code == spec.train_instance_type,
                                       field="train_instance_type", what="resource spec",
                                       value=spec.train_instance_type, names=lambda s: s.spec_code)
            check_node_count(spec, found["spec"].max_num, spec.train_instance_type)
        if spec.kind == "framework":
            found["engine"] = find_engine(self.hook.get_ai_engines(), spec)
        if spec.kind == "built-in":
            found["algorithm"] = find_entry(self.hook.get_built_in_algorithms(),
                                            lambda a: a.model_name == spec.model_name, field="model_name",
                                            what="built-in algorithm", value=spec.model_name,
                                            names=lambda a: a.model_name)
        return ResolvedV1(**found)

    # ------------------------------------------------------------------ submit, reattach, retry
    def submit(self, spec: TrainingJobSpec, naming: Naming, policy: SubmitPolicy) -> JobVersion:
        """Create the job, a new version of it, or reattach — never a duplicate, never an orphan."""
        config = config_body(spec, self.resolve(spec))
        hook, name = self.hook, naming.job_name
        existing = hook.find_job_by_name(name)
        if existing is None:
            def lookup() -> JobVersion | None:
                found = hook.find_job_by_name(name)
                return hook.get_job_version(found.job_id, found.version_id) if found else None

            body = {"job_name": name, "job_desc": naming.description, "config": config}
            return policy.create(name, naming, lambda: hook.create_training_job(body), lookup)
        latest = policy.settled(hook.get_job_version(existing.job_id, existing.version_id),
                                lambda: hook.get_job_version(existing.job_id, existing.version_id))
        if policy.use_existing(latest, naming, f"Job {name} version {latest.version_name} "
                                               f"(version_id={latest.version_id})"):
            return latest
        body = {"job_desc": naming.description, "config": {**config, "pre_version_id": latest.version_id}}

        def find_created() -> JobVersion | None:
            newest = hook.list_job_versions(latest.job_id)
            ok = newest and newest[0].version_id != latest.version_id and naming.same_request(newest[0])
            return newest[0] if ok else None

        version = policy.create_once(lambda: hook.create_job_version(latest.job_id, body), find_created)
        policy.log.info("Created version %s of job_id=%s (version_id=%s, based on %s)", version.version_name,
                        latest.job_id, version.version_id, latest.version_id)
        return version

    # ------------------------------------------------------------------ watching
    def get(self, ref: JobRef) -> api.Operation[JobVersion]:
        return api.get_version(ref.job_id, _version(ref))

    def log_names(self, ref: JobRef, job: Any) -> Steps:
        """One log file per worker, ``job-<name>.<index>``."""
        return (yield api.log_file_names(ref.job_id, _version(ref)))

    def log_page(self, ref: JobRef, name: str, base_line: str, lines: int) -> api.Operation[LogChunk]:
        # v1: order=desc with a base_line reads the lines after it
        return api.aom_log(ref.job_id, _version(ref), log_file=name, lines=lines, order="desc", base_line=base_line)

    def log_latest(self, ref: JobRef, name: str, lines: int) -> api.Operation[LogChunk]:
        return api.aom_log(ref.job_id, _version(ref), log_file=name, lines=lines, order="desc", base_line="")

    def stop(self, ref: JobRef) -> api.Operation[Any]:
        return api.stop_version(ref.job_id, _version(ref))

    def count_jobs(self) -> api.Operation[tuple[int, list[Any]]]:
        return api.list_jobs(per_page=1)  # type: ignore[return-value]

    def console_url(self, config: ConnectionConfig, ref: JobRef) -> str:
        """The emulator's console page when the connection points at one, else Huawei Cloud's ([inference])."""
        if config.console_url:
            return f"{config.console_url.rstrip('/')}/console/training-jobs/{ref.job_id}/versions/{ref.version_id}"
        return (f"https://console.huaweicloud.com/modelarts/?region={config.region}#/trainingJobs"
                f"/trainingjobDetail?jobId={ref.job_id}&versionId={ref.version_id}")


def _version(ref: JobRef) -> int:
    if ref.version_id is None:
        raise ModelArtsConfigError(f"version_id: a v1 job needs its version id ({ref})")
    return ref.version_id
