"""The v2 (new-version) training API: one job per run; a re-run is a new job named ``<name>-a<N>``."""

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
from airflow_provider_modelarts.catalogue import POOL_FLAVORS
from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.hooks import api_v2 as api
from airflow_provider_modelarts.hooks.api_v1 import Operation
from airflow_provider_modelarts.models import JobRef, JobV2, LogChunk
from airflow_provider_modelarts.spec import attempt_name, attempt_of

if TYPE_CHECKING:
    from airflow_provider_modelarts.catalogue import Algorithm, Engine, Flavor
    from airflow_provider_modelarts.hooks.connection import ConnectionConfig
    from airflow_provider_modelarts.spec import TrainingJobSpec


@dataclass(frozen=True)
class ResolvedV2:
    """The seed's names as v2 catalogue entries."""

    flavor: Flavor | None = None
    engine: Engine | None = None
    algorithm: Algorithm | None = None


def create_body(spec: TrainingJobSpec, resolved: ResolvedV2, naming: Naming, name: str) -> dict[str, Any]:
    """The v2 create body (§3): metadata / algorithm / spec, from the same seed parameters."""
    algorithm: dict[str, Any] = {"outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": spec.output_path}}}]}
    if spec.kind == "custom-image":
        # the seed's hyperparameters are a custom image's environment variables; v2 ``parameters`` would be
        # appended to the command as arguments (JobAlgorithm.environments / .parameters in the SDK models)
        algorithm["environments"] = {p["label"]: p["value"] for p in spec.hyperparameters}
    else:
        algorithm["parameters"] = [{"name": p["label"], "value": p["value"]} for p in spec.hyperparameters]
    if spec.inputs:
        algorithm["inputs"] = [{"name": "data_url", "remote": {"obs": {"obs_url": spec.inputs}}}]
    elif spec.dataset_id:
        algorithm["inputs"] = [{"name": "data_url", "remote": {"dataset": {
            "id": spec.dataset_id, "version_id": spec.dataset_version_id}}}]
    else:
        algorithm["inputs"] = [
            {"name": f"data_url_{i}" if i else "data_url",
             "remote": ({"obs": {"obs_url": source["data_url"]}} if source.get("data_url") else
                        {"dataset": {"id": source["dataset_id"], "version_id": source["dataset_version"]}})}
            for i, source in enumerate(spec.data_source or [])]
    if spec.kind == "built-in":
        algorithm["id"] = resolved.algorithm.algorithm_id if resolved.algorithm else None
    elif spec.kind == "custom-image":
        algorithm["engine"] = {"image_url": spec.user_image_url}
        algorithm["command"] = spec.user_command
        if spec.code_dir:
            algorithm["code_dir"], algorithm["boot_file"] = spec.code_dir, spec.boot_file
    else:
        algorithm["code_dir"], algorithm["boot_file"] = spec.code_dir, spec.boot_file
        engine = resolved.engine
        algorithm["engine"] = {"engine_name": engine.engine_name, "engine_version": engine.engine_version} \
            if engine else {}
    resource: dict[str, Any] = {"node_count": spec.train_instance_count}
    if spec.train_instance_type:
        resource["flavor_id"] = spec.train_instance_type
    if spec.pool_id:
        resource["pool_id"] = spec.pool_id
    body_spec: dict[str, Any] = {"resource": resource}
    if spec.log_url:
        body_spec["log_export_path"] = {"obs_url": spec.log_url}
    return {"kind": "job",
            "metadata": {"name": name, "description": naming.description,
                         "annotations": {"airflow-ti": naming.tag}},
            "algorithm": algorithm, "spec": body_spec}


class V2TrainingApi(AdapterBase):
    """:class:`~airflow_provider_modelarts.adapters.base.TrainingApi` on ``/v2/{project_id}/training-jobs``."""

    api_version = "v2"

    def resolve(self, spec: TrainingJobSpec) -> ResolvedV2:
        """v2 names: flavors (``flavor_id`` is the spec code), engines, algorithms (cached per hook)."""
        found: dict[str, Any] = {}
        if spec.pool_id:  # a dedicated pool: no flavor (CPU pool) or one of the documented pool flavors
            if spec.train_instance_type and spec.train_instance_type not in POOL_FLAVORS:
                raise ModelArtsConfigError(f"train_instance_type: in a dedicated pool (pool_id) expected one of "
                                           f"{', '.join(POOL_FLAVORS)} (GPU/Ascend pools) or none (CPU pools), got "
                                           f"{spec.train_instance_type!r}")
        elif spec.train_instance_type:
            found["flavor"] = find_entry(self.hook.get_v2_flavors(), lambda f: f.flavor_id == spec.train_instance_type,
                                         field="train_instance_type", what="flavor", value=spec.train_instance_type,
                                         names=lambda f: f.flavor_id)
            check_node_count(spec, found["flavor"].max_num, spec.train_instance_type)
        if spec.kind == "framework":
            found["engine"] = find_engine(self.hook.get_v2_engines(), spec)
        if spec.kind == "built-in":
            # v2 has no built-in algorithm catalogue: a job names an Algorithm Management entry (algorithm.id);
            # AI Gallery subscriptions go by subscription_id + item_version_id (SDK JobAlgorithm), which the seed's
            # model_name cannot express. See docs/api-fidelity.md.
            found["algorithm"] = find_entry(
                self.hook.get_v2_algorithms(), lambda a: a.name == spec.model_name, field="model_name",
                what="algorithm in your Algorithm Management (GET /v2/{project_id}/algorithms)",
                value=spec.model_name, names=lambda a: a.name,
                hint=". The v2 API has no built-in algorithms: use api_version='v1' for a v1 built-in algorithm, or "
                     "create the algorithm in ModelArts Algorithm Management and give its name")
        return ResolvedV2(**found)

    # ------------------------------------------------------------------ submit, reattach, retry
    def submit(self, spec: TrainingJobSpec, naming: Naming, policy: SubmitPolicy) -> JobV2:
        """v2 has no versions: reattach to our running job, else a new job per attempt (``<name>-aN``)."""
        resolved = self.resolve(spec)
        base = naming.job_name

        def attempts() -> list[tuple[int, JobV2]]:
            jobs = self.hook.search_training_jobs_v2(base[:50])  # attempt names may shorten the base
            return sorted(((n, j) for j in jobs if (n := attempt_of(base, j.job_name))), key=lambda t: t[0])

        found = attempts()
        ours = [(n, j) for n, j in found if naming.owns(j)]  # a name alone does not make a job ours

        def label(job: JobV2) -> str:
            return f"Job {job.job_name} (job_id={job.job_id})"

        if ours:
            job_id = ours[-1][1].job_id
            latest = policy.settled(ours[-1][1], lambda: self.hook.run(api.get_job(job_id)))
            if policy.use_existing(latest, naming, label(latest)):
                return latest
            attempt = max(n for n, _ in found) + 1  # names are unique: others' jobs may sit between ours
        else:
            taken = next((j for n, j in found if n == 1), None)
            if taken is not None:
                policy.use_existing(taken, naming, label(taken))  # raises: another task's job has our name
            attempt = 1
        name = attempt_name(base, attempt)
        body = create_body(spec, resolved, naming, name)

        def lookup() -> JobV2 | None:
            return next((j for n, j in attempts() if n == attempt), None)

        return policy.create(name, naming, lambda: self.hook.create_training_job_v2(body), lookup)

    # ------------------------------------------------------------------ watching
    def get(self, ref: JobRef) -> Operation[JobV2]:
        return api.get_job(str(ref.job_id))

    def log_names(self, ref: JobRef, job: JobV2 | None) -> Steps:
        """The job lists its tasks (``worker-0``…), one log each."""
        job = job or (yield self.get(ref))
        return list(job.tasks)

    def log_page(self, ref: JobRef, name: str, base_line: str, lines: int) -> Operation[LogChunk]:
        # v2: order=asc reads old → new, i.e. the lines after base_line (the opposite of v1's wording)
        return api.aom_log(str(ref.job_id), name, lines=lines, order="asc", base_line=base_line)

    def log_latest(self, ref: JobRef, name: str, lines: int) -> Operation[LogChunk]:
        # order=desc answers newest first ("desc：降序（从新到旧）", ShowTrainingJobLogsFromAomRequest.order):
        # turned oldest-first so an excerpt reads like the log
        latest = api.aom_log(str(ref.job_id), name, lines=lines, order="desc")
        return Operation(latest.request, lambda body: LogChunk.from_api(body).oldest_first())

    def stop(self, ref: JobRef) -> Operation[Any]:
        return api.terminate_job(str(ref.job_id))

    def count_jobs(self) -> Operation[tuple[int, list[Any]]]:
        return api.search_jobs(limit=1)  # type: ignore[return-value]

    def console_url(self, config: ConnectionConfig, ref: JobRef) -> str:
        """The emulator's console page when the connection points at one, else Huawei Cloud's ([inference])."""
        if config.console_url:
            return f"{config.console_url.rstrip('/')}/console/training-jobs/v2/{ref.job_id}"
        return (f"https://console.huaweicloud.com/modelarts/?region={config.region}#/trainingJobs"
                f"/trainingJobDetail?jobId={ref.job_id}")
