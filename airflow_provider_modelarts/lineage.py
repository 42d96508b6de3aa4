"""OpenLineage for training jobs: what a job read (OBS inputs, ModelArts datasets), what it wrote (its output
path), what it is (engine, flavor, nodes) and how the run went (job id, version, status, console URL).

Imported only by the operator's and sensor's ``get_openlineage_facets_on_*`` methods, which only the OpenLineage
provider calls: without ``apache-airflow-providers-openlineage`` installed nothing here is ever imported, and
DAG parsing never is (the methods import lazily).

Dataset naming follows the OpenLineage naming spec for object stores (``s3://{bucket}`` + key, ``gs://{bucket}``
+ key): OBS datasets are namespace ``obs://{bucket}``, name = the key without its trailing ``/`` (``/`` for a
bucket root). ModelArts datasets are namespace ``modelarts://{region}``, name
``datasets/{dataset_id}/versions/{version_id}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.openlineage.facet import Dataset, ErrorMessageRunFacet
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define, field
from openlineage.client.generated.base import JobFacet, RunFacet  # the provider's own dependency

if TYPE_CHECKING:
    from airflow_provider_modelarts.spec import TrainingJobSpec

SCHEMA = ("https://raw.githubusercontent.com/airflow-provider-modelarts/airflow-provider-modelarts/main/"
          "docs/openlineage/{}.json")


@define
class ModelArtsTrainingJobFacet(JobFacet):
    """What the task trains (job facet ``modelarts_training``)."""

    api_version: str
    kind: str  # framework | custom-image | built-in
    engine: str | None = field(default=None)  # framework type + version, the image, or the built-in algorithm
    flavor: str | None = field(default=None)  # train_instance_type
    node_count: int | None = field(default=None)
    pool_id: str | None = field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA.format("ModelArtsTrainingJobFacet")


@define
class ModelArtsTrainingRunFacet(RunFacet):
    """The ModelArts job this run created or watched (run facet ``modelarts_training_run``)."""

    job_id: str
    job_name: str | None = field(default=None)
    version_id: str | None = field(default=None)
    version_name: str | None = field(default=None)
    status: str | None = field(default=None)
    outcome: str | None = field(default=None)  # success | failed | stopped | running
    console_url: str | None = field(default=None)
    duration_seconds: float | None = field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA.format("ModelArtsTrainingRunFacet")


def obs_dataset(path: str) -> Dataset:
    """``/bucket/a/b/`` or ``obs://bucket/a/b/`` → namespace ``obs://bucket``, name ``a/b``."""
    bucket, _, key = path.removeprefix("obs://").lstrip("/").partition("/")
    return Dataset(namespace=f"obs://{bucket}", name=key.rstrip("/") or "/")


def modelarts_dataset(region: str, dataset_id: str, version_id: str | None) -> Dataset:
    name = f"datasets/{dataset_id}" + (f"/versions/{version_id}" if version_id else "")
    return Dataset(namespace=f"modelarts://{region}", name=name)


def inputs_of(spec: TrainingJobSpec, region: str) -> list[Dataset]:
    found = []
    if spec.inputs:
        found.append(obs_dataset(spec.inputs))
    if spec.dataset_id:
        found.append(modelarts_dataset(region, spec.dataset_id, spec.dataset_version_id))
    for source in spec.data_source or []:
        if source.get("data_url"):
            found.append(obs_dataset(source["data_url"]))
        elif source.get("dataset_id"):
            found.append(modelarts_dataset(region, source["dataset_id"], source.get("dataset_version")))
    return found


def job_facet(spec: TrainingJobSpec, api_version: str) -> ModelArtsTrainingJobFacet:
    if spec.kind == "built-in":
        engine = spec.model_name
    elif spec.kind == "custom-image":
        engine = spec.user_image_url
    else:
        engine = " ".join(p for p in (spec.framework_type, spec.framework_version) if p) or None
    return ModelArtsTrainingJobFacet(api_version=api_version, kind=spec.kind, engine=engine,
                                     flavor=spec.train_instance_type, node_count=spec.train_instance_count,
                                     pool_id=spec.pool_id)


def run_facet(result: dict[str, Any]) -> ModelArtsTrainingRunFacet:
    def text(key: str) -> str | None:
        value = result.get(key)
        return None if value is None else str(value)

    return ModelArtsTrainingRunFacet(job_id=str(result["job_id"]), job_name=text("job_name"),
                                     version_id=text("version_id"), version_name=text("version_name"),
                                     status=text("status_name"), outcome=text("outcome"),
                                     console_url=text("console_url"), duration_seconds=result.get("duration_seconds"))


def training_lineage(spec: TrainingJobSpec | None, *, region: str, api_version: str,
                     result: dict[str, Any] | None = None, error: str | None = None) -> OperatorLineage:
    """The operator's lineage: ``spec`` for inputs/outputs/job facet, ``result`` (a TrainingResult dict) for the
    run facet, ``error`` for a failed run."""
    inputs = inputs_of(spec, region) if spec else []
    output = spec.output_path if spec else None
    if result and result.get("train_url"):
        output = result["train_url"]
    run_facets: dict[str, Any] = {}
    if result and result.get("job_id") is not None:
        run_facets["modelarts_training_run"] = run_facet(result)
    if error:
        run_facets["errorMessage"] = ErrorMessageRunFacet(message=error, programmingLanguage="python")
    return OperatorLineage(inputs=inputs, outputs=[obs_dataset(output)] if output else [], run_facets=run_facets,
                           job_facets={"modelarts_training": job_facet(spec, api_version)} if spec else {})
