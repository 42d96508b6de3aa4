"""OpenLineage through the OpenLineage provider's own extractor path (ExtractorManager → DefaultExtractor → our
``get_openlineage_facets_on_*``), on a job run against the emulator; facets serialised with the OpenLineage
client's Serde and checked against the JSON schemas in docs/openlineage/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import TRAIN_FAIL, unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op

pytest.importorskip("airflow.providers.openlineage")
from airflow.providers.openlineage.extractors.manager import ExtractorManager  # noqa: E402
from airflow.utils.state import TaskInstanceState  # noqa: E402
from openlineage.client.serde import Serde  # noqa: E402

from airflow_provider_modelarts.exceptions import ModelArtsJobError  # noqa: E402
from airflow_provider_modelarts.sensors.training import TrainingJobSensor  # noqa: E402

SCHEMAS = Path(__file__).parents[2] / "docs" / "openlineage"


def _validate(facet_dict: dict, schema_name: str) -> None:
    import jsonschema

    schema = json.loads((SCHEMAS / f"{schema_name}.json").read_text())["$defs"][schema_name]["allOf"][1]
    jsonschema.validate(facet_dict, schema)
    assert facet_dict["_schemaURL"].endswith(f"docs/openlineage/{schema_name}.json")
    assert facet_dict["_producer"]


def _extract(op, ti, state):
    return ExtractorManager().extract_metadata(SimpleNamespace(run_id=ti.run_id), op, state, task_instance=ti)


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_operator_lineage_on_start_and_complete(emu, use_conn, api_version):
    use_conn("aksk", api_version=api_version, retry_backoff=0.05)
    name = unique("lineage")
    op = framework_op(emu, name, wait=True)
    ti = TaskInstanceStub()
    start = _extract(op, ti, TaskInstanceState.RUNNING)
    assert [(d.namespace, d.name) for d in start.inputs] == [("obs://bucket", f"{name}/data")]
    assert [(d.namespace, d.name) for d in start.outputs] == [("obs://bucket", f"{name}/out")]
    job = Serde.to_dict(start.job_facets["modelarts_training"])
    _validate(job, "ModelArtsTrainingJobFacet")
    assert job["engine"] == "PyTorch PyTorch-1.0.0-python3.6" and job["flavor"] == "modelarts.vm.cpu.2u"
    assert job["node_count"] == 1 and job["api_version"] == api_version and job["kind"] == "framework"
    assert "modelarts_training_run" not in start.run_facets  # no job yet

    result = op.execute(ctx(ti))
    done = _extract(op, ti, TaskInstanceState.SUCCESS)
    run = Serde.to_dict(done.run_facets["modelarts_training_run"])
    _validate(run, "ModelArtsTrainingRunFacet")
    assert run["job_id"] == str(result["job_id"]) and run["outcome"] == "success"
    assert run["console_url"] == result["console_url"] and run["status"] == result["status_name"]
    assert (run.get("version_name") is not None) == (api_version == "v1")
    assert [(d.namespace, d.name) for d in done.outputs] == [("obs://bucket", f"{name}/out")]


def test_failed_training_lineage_names_the_job_and_the_error(emu, use_conn):
    use_conn("aksk", api_version="v2", retry_backoff=0.05)
    op = framework_op(emu, unique("lineagefail"), TRAIN_FAIL, wait=True)
    ti = TaskInstanceStub()
    with pytest.raises(ModelArtsJobError) as failed:
        op.execute(ctx(ti))
    ti.error = failed.value
    lineage = _extract(op, ti, TaskInstanceState.FAILED)
    assert lineage.run_facets["modelarts_training_run"].job_id == str(ti.xcoms["job_id"])
    assert "Failed" in lineage.run_facets["errorMessage"].message


def test_dataset_inputs_and_the_sensor(emu, use_conn):
    use_conn("aksk", api_version="v1", retry_backoff=0.05)
    name = unique("lineageds")
    emu.add_dataset(f"ds-{name}", "v3", f"/bucket/{name}/data/")
    op = framework_op(emu, name, wait=False, inputs=None, dataset_id=f"ds-{name}", dataset_version_id="v3")
    ti = TaskInstanceStub()
    assert [(d.namespace, d.name) for d in _extract(op, ti, TaskInstanceState.RUNNING).inputs] == [
        ("modelarts://cn-north-4", f"datasets/ds-{name}/versions/v3")]
    op.execute(ctx(ti))
    sensor = TrainingJobSensor(task_id="wait", job_id=ti.xcoms["job_id"], version_id=ti.xcoms["version_id"],
                               poke_interval=0.1)
    sensor.execute(ctx(TaskInstanceStub(task_id="wait")))
    watched = _extract(sensor, ti, TaskInstanceState.SUCCESS)
    assert watched.run_facets["modelarts_training_run"].job_id == str(ti.xcoms["job_id"])
    assert [(d.namespace, d.name) for d in watched.outputs] == [("obs://bucket", f"{name}/out")]


def test_importing_the_provider_does_not_import_lineage():
    code = ("import sys, airflow_provider_modelarts.operators.training, airflow_provider_modelarts.sensors.training;"
            "print('airflow_provider_modelarts.lineage' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
