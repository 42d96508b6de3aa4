"""A local code_dir: uploaded through the OBS endpoint before submitting, content-addressed, reused by re-runs;
the job runs the uploaded code (the emulator's jobs read the same local OBS the OBS endpoint writes)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from helpers import TRAIN_OK, put, unique
from integration.test_lifecycle import TaskInstanceStub, ctx

from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator


def _op(name: str, code_dir: str, dag_file, **kwargs) -> CreateTrainingJobOperator:
    op = CreateTrainingJobOperator(
        task_id="train", framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6",
        code_dir=code_dir, boot_file="train.py", inputs=f"obs://bucket/{name}/data/",
        output_path=f"obs://bucket/{name}/out/", hyperparameters={"lr": "0.3"},
        train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1, job_name=name, wait=True,
        poll_interval=0.1, **kwargs)
    return op, {**ctx(TaskInstanceStub()), "dag": SimpleNamespace(fileloc=str(dag_file))}


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_a_local_code_dir_is_uploaded_once_and_trained(emu, use_conn, tmp_path, api_version, capsys):
    use_conn("aksk", api_version=api_version, retry_backoff=0.05)
    name = unique("local")
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    dags = tmp_path / "dags"
    (dags / "training" / "lib").mkdir(parents=True)
    (dags / "training" / "train.py").write_text(TRAIN_OK)
    (dags / "training" / "lib" / "helper.py").write_text("X = 1\n")
    (dags / "training" / "__pycache__").mkdir()
    (dags / "training" / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    op, context = _op(name, "training/", dags / "my_dag.py", code_upload_path=f"obs://bucket/{name}/code-cache/")
    result = op.execute(context)
    assert result["outcome"] == "success"
    assert json.loads(emu.obs_path(f"/bucket/{name}/out/metrics-0.json").read_text())["lr"] == 0.3
    uploaded = sorted(p.relative_to(emu.obs_path(f"/bucket/{name}/code-cache")).as_posix()
                      for p in emu.obs_path(f"/bucket/{name}/code-cache").rglob("*") if p.is_file())
    assert len(uploaded) == 3 and uploaded[0].startswith("training-")  # helper, train, the manifest; no .pyc
    prefix = uploaded[0].split("/")[0]
    assert {u.split("/", 1)[1] for u in uploaded} == {".airflow-code-manifest.json", "lib/helper.py", "train.py"}
    # the job was submitted with the uploaded OBS paths
    submitted = [r for r in emu.recorded() if r["endpoint"] in ("create_job", "v2_create_job")][-1]["body"]
    text = json.dumps(submitted)
    assert f"/bucket/{name}/code-cache/{prefix}/" in text and "train.py" in text

    # a re-run of unchanged code uploads nothing; changed code goes to a new prefix
    emu.reset_stats()
    op2, context2 = _op(unique("local2"), "training/", dags / "my_dag.py",
                        code_upload_path=f"obs://bucket/{name}/code-cache/")
    put(emu, f"/bucket/{op2.job_name}/data/a.txt", "a")
    assert op2.execute(context2)["outcome"] == "success"
    puts = [r for r in emu.recorded() if r["endpoint"] == "obs_object" and r["method"] == "PUT"]
    assert puts == [] and "already on OBS" in capsys.readouterr().out
    (dags / "training" / "lib" / "helper.py").write_text("X = 2\n")
    op3, context3 = _op(unique("local3"), "training/", dags / "my_dag.py",
                        code_upload_path=f"obs://bucket/{name}/code-cache/")
    put(emu, f"/bucket/{op3.job_name}/data/a.txt", "a")
    assert op3.execute(context3)["outcome"] == "success"
    prefixes = {p.name for p in emu.obs_path(f"/bucket/{name}/code-cache").iterdir()}
    assert len(prefixes) == 2


def test_default_upload_path_and_file_urls(emu, use_conn, tmp_path):
    use_conn("aksk", api_version="v2", retry_backoff=0.05)
    name = unique("localabs")
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    code = tmp_path / "abs code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN_OK)
    op, context = _op(name, f"file://{code}", tmp_path / "dag.py")
    assert op.execute(context)["outcome"] == "success"
    assert any(emu.obs_path("/bucket/modelarts-code").glob("abs-code-*/train.py"))


def test_local_code_mistakes_are_config_errors_before_any_job(emu, use_conn, tmp_path):
    use_conn("aksk", api_version="v2")
    name = unique("localbad")
    with pytest.raises(ModelArtsConfigError, match="^code_dir: local directory .* does not exist"):
        op, context = _op(name, "no-such-dir/", tmp_path / "dag.py")
        op.execute(context)
    (tmp_path / "code").mkdir()
    with pytest.raises(ModelArtsConfigError, match="^boot_file: .*train.py does not exist"):
        op, context = _op(name, "code/", tmp_path / "dag.py")
        op.execute(context)
    with pytest.raises(ModelArtsConfigError, match="^code_upload_path"):  # at parse time
        _op(name, "code/", tmp_path / "dag.py", code_upload_path="not an obs path")
    with pytest.raises(ModelArtsConfigError, match="^boot_file: expected a local file"):  # parse time, no I/O
        CreateTrainingJobOperator(task_id="t", framework_type="PyTorch", framework_version="x", code_dir="code/",
                                  boot_file="obs://bucket/code/train.py", inputs="/bucket/d/",
                                  output_path="/bucket/o/", train_instance_type="t", train_instance_count=1)
    assert not [r for r in emu.recorded() if "create" in r["endpoint"]]
