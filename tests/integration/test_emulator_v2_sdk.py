"""The emulator's v2 training API, driven by the official huaweicloudsdkmodelarts client, unchanged, over HTTP."""

from __future__ import annotations

import os
import tempfile
import time

import pytest
from helpers import put, unique


@pytest.fixture
def sdk(emu):
    os.environ["HOME"] = tempfile.mkdtemp(prefix="sdkhome-")  # the SDK writes ~/.huaweicloud on import
    pytest.importorskip("huaweicloudsdkmodelarts")
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkmodelarts.v1 import ModelArtsClient

    config = HttpConfig.get_default_config()
    config.timeout = (5, 30)
    c = emu.credentials
    return (ModelArtsClient.new_builder().with_http_config(config)
            .with_credentials(BasicCredentials(c.ak, c.sk, c.project_id)).with_endpoint(emu.url).build())


def _job(emu, name: str, seconds: float = 0.0):
    from huaweicloudsdkmodelarts.v1 import (
        InputDataInfo,
        InputDataInfoObs,
        Job,
        JobAlgorithm,
        JobEngine,
        JobMetadata,
        LogExportPath,
        Output,
        Parameters,
        Remote,
        RemoteObs,
        Spec,
        SpecResource,
    )
    from huaweicloudsdkmodelarts.v1.model.input import Input

    put(emu, f"/bucket/{name}/code/train.py",
        f"import sys, time\nprint('v2 training', sys.argv[1:], flush=True)\ntime.sleep({seconds})\nprint('v2 done')\n")
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    return Job(
        kind="job",
        metadata=JobMetadata(name=name, description="created by huaweicloudsdkmodelarts"),
        algorithm=JobAlgorithm(
            code_dir=f"/bucket/{name}/code/", boot_file=f"/bucket/{name}/code/train.py",
            engine=JobEngine(engine_name="PyTorch", engine_version="PyTorch-1.0.0-python3.6"),
            parameters=[Parameters(name="lr", value="0.1")],
            inputs=[Input(name="data_url", remote=InputDataInfo(obs=InputDataInfoObs(obs_url=f"/bucket/{name}/data/")))],
            outputs=[Output(name="train_url", remote=Remote(obs=RemoteObs(obs_url=f"/bucket/{name}/out/")))],
        ),
        spec=Spec(resource=SpecResource(flavor_id="modelarts.vm.cpu.8u", node_count=2),
                  log_export_path=LogExportPath(obs_url=f"/bucket/{name}/logs/")),
    )


def test_official_sdk_lifecycle_against_the_emulator(emu, sdk):
    from huaweicloudsdkmodelarts.v1 import (
        CreateTrainingJobRequest,
        DeleteTrainingJobRequest,
        Filter,
        JobActionType,
        JobSearches,
        ListTrainingJobsRequest,
        ShowTrainingJobDetailsRequest,
        ShowTrainingJobLogsPreviewRequest,
        StopTrainingJobRequest,
    )

    name = unique("sdkv2")
    created = sdk.create_training_job(CreateTrainingJobRequest(body=_job(emu, name)))
    job_id = created.metadata.id
    assert created.metadata.name == name and created.status.phase in ("Creating", "Pending")
    deadline = time.monotonic() + 30
    while (detail := sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))) \
            .status.phase not in ("Completed", "Failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert detail.status.phase == "Completed" and detail.status.tasks == ["worker-0", "worker-1"]

    found = sdk.list_training_jobs(ListTrainingJobsRequest(body=JobSearches(
        offset=0, limit=10, filters=[Filter(key="name", operator="like", value=[name])])))
    assert [item.metadata.id for item in found.items] == [job_id] and found.count == 1 and found.total >= 1  # count: matches; total: all jobs

    preview = sdk.show_training_job_logs_preview(ShowTrainingJobLogsPreviewRequest(training_job_id=job_id,
                                                                                   task_id="worker-1"))
    assert "v2 training ['--data_url=" in preview.content and "v2 done" in preview.content
    assert preview.full_size == preview.current_size > 0

    other = sdk.create_training_job(CreateTrainingJobRequest(body=_job(emu, unique("sdkv2stop"), seconds=60)))
    time.sleep(0.5)
    stopped = sdk.stop_training_job(StopTrainingJobRequest(training_job_id=other.metadata.id,
                                                           body=JobActionType(action_type="terminate")))
    assert stopped.metadata.id == other.metadata.id
    deadline = time.monotonic() + 15
    while sdk.show_training_job_details(ShowTrainingJobDetailsRequest(
            training_job_id=other.metadata.id)).status.phase != "Terminated":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    sdk.delete_training_job(DeleteTrainingJobRequest(training_job_id=job_id))
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    with pytest.raises(ClientRequestException) as err:
        sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))
    assert err.value.status_code == 400 and err.value.error_code == "ModelArts.2775"


def test_v2_duplicate_name_and_bad_terminate(emu, sdk):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkmodelarts.v1 import CreateTrainingJobRequest, JobActionType, StopTrainingJobRequest

    name = unique("sdkdup")
    created = sdk.create_training_job(CreateTrainingJobRequest(body=_job(emu, name)))
    with pytest.raises(ClientRequestException) as err:
        sdk.create_training_job(CreateTrainingJobRequest(body=_job(emu, name)))
    assert err.value.status_code == 400 and err.value.error_code == "ModelArts.2751"
    time.sleep(2)
    with pytest.raises(ClientRequestException) as err:
        sdk.stop_training_job(StopTrainingJobRequest(training_job_id=created.metadata.id,
                                                     body=JobActionType(action_type="terminate")))
    assert err.value.status_code == 409 and err.value.error_code == "ModelArts.2796"
