"""Every request the provider sends, and every answer the emulator gives it, checked mechanically (#10).

The provider is driven through the shapes it can send — the seed examples on v1 and v2, sync and through the
trigger, dataset and data_source inputs, custom image with code, retries (v1 versions, v2 attempts), stop,
logs, lookups — against the emulator, which logs each request it receives. Then every logged request is
checked against the documented query table (``emulator/documented.py``, the same table the emulator enforces)
and every v2 body against the official SDK request model. A request that breaks either fails the test.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import put, unique
from integration.test_lifecycle import RETRY_SCRIPT, TaskInstanceStub, ctx, framework_op

from airflow_provider_modelarts.emulator.documented import (
    BODY_RANGES,
    QUERY,
    V1_ANSWERS,
    answer_problems,
    query_problem,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger
from conformance.sdk_models import problems

#: v2 endpoints with a body → the SDK model of that body
V2_BODIES = {"v2_create_job": "Job", "v2_search_jobs": "JobSearches", "v2_job_action": "JobActionType"}
#: v2 endpoints → the SDK model of a successful answer
V2_ANSWERS = {"v2_create_job": "CreateTrainingJobResponse", "v2_get_job": "ShowTrainingJobDetailsResponse",
              "v2_search_jobs": "ListTrainingJobsResponse", "v2_job_action": "StopTrainingJobResponse",
              "v2_aom_log": "ShowTrainingJobLogsFromAomResponse", "v2_flavors": "ShowTrainingJobFlavorsResponse",
              "v2_engines": "ShowTrainingJobEnginesResponse", "v2_algorithms": "ListAlgorithmsResponse"}
#: what every v2 error answer carries (the API reference's error body)
V2_ERROR_KEYS = {"error_msg", "error_code", "error_solution"}


def drive_everything(emu, api: str) -> None:
    name = unique(f"conf{api}")
    ok = "v1" if api == "v1" else "v2"
    framework_op(emu, name, wait=True, api_version=ok).execute(ctx())  # framework, OBS inputs, logs
    put(emu, f"/bucket/{name}/ds/a.txt", "a")
    emu.add_dataset("ds-" + name, "1", f"/bucket/{name}/ds/")
    framework_op(emu, unique("confds"), inputs=None, dataset_id="ds-" + name, dataset_version_id="1",
                 api_version=ok).execute(ctx())
    framework_op(emu, unique("confsrc"), inputs=None, data_source=[{"type": "obs", "data_url": f"/bucket/{name}/ds/"}],
                 api_version=ok).execute(ctx())
    put(emu, f"/bucket/{name}/img/code/run.py", "print('x')\n")
    CreateTrainingJobOperator(
        task_id="t", user_image_url="swr.example/img:1", user_command="python3 user-job-dir/code/run.py",
        code_dir=f"/bucket/{name}/img/code/", boot_file=f"/bucket/{name}/img/code/run.py",
        inputs=f"/bucket/{name}/ds/", output_path=f"/bucket/{name}/img/out/", hyperparameters={"lr": "0.1"},
        train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1, job_name=unique("confimg"),
        api_version=ok, wait=True, poll_interval=0.1).execute(ctx())
    CreateTrainingJobOperator(
        task_id="t", model_name="Faster_RCNN_ResNet_v1_50", inputs=f"/bucket/{name}/ds/",
        output_path=f"/bucket/{name}/builtin/", train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1,
        job_name=unique("confbi"), api_version=ok).execute(ctx())
    # a retry: the failed first try, then the next version (v1) / attempt (v2)
    retry_ti = TaskInstanceStub()
    retry = framework_op(emu, unique("confretry"), RETRY_SCRIPT, wait=True, api_version=ok)
    with pytest.raises(Exception, match="ended"):
        retry.execute(ctx(retry_ti))
    retry.execute(ctx(retry_ti))
    # through the trigger, then stop a running job
    running = framework_op(emu, unique("confstop"), "import time\ntime.sleep(30)\n", api_version=ok).execute(ctx())

    async def one_poll() -> None:
        trigger = TrainingJobTrigger(job_id=running["job_id"], version_id=running.get("version_id"), poll_interval=0.05,
                                     deadline=time.time() + 0.5)
        async for _ in trigger.run():
            return

    asyncio.run(one_poll())
    hook = ModelArtsHook()
    hook.stop_job(running["job_id"], running.get("version_id"))
    assert hook.test_connection()[0]
    # the hook's thin public methods a user may call
    done = framework_op(emu, unique("confhook"), wait=True, api_version=ok).execute(ctx())
    if api == "v1":
        assert hook.list_job_versions(done["job_id"])
        files = hook.get_log_file_names(done["job_id"], done["version_id"])
        hook.get_byte_log(done["job_id"], done["version_id"], log_file=files[0])
        hook.update_job_description(done["job_id"], "conformance")
        hook.delete_job_version(done["job_id"], done["version_id"])
        hook.delete_training_job(done["job_id"])
    else:
        hook.get_log_preview_v2(done["job_id"])
        hook.delete_training_job_v2(done["job_id"])


#: every endpoint the provider can call, per API version (IAM and the metadata service through the auth modes)
PROVIDER_ENDPOINTS = {
    "v1": {"create_job", "create_version", "list_jobs", "get_version", "list_versions", "stop_version", "delete_job",
           "delete_version", "update_job", "log_file_names", "aom_log", "byte_log", "resource_specs", "ai_engines",
           "built_in_algorithms"},
    "v2": {"v2_create_job", "v2_get_job", "v2_search_jobs", "v2_job_action", "v2_delete_job", "v2_log_preview",
           "v2_aom_log", "v2_engines", "v2_flavors", "v2_algorithms"},
    "auth": {"iam_token", "iam_projects", "metadata_token", "metadata_securitykey"},
}


def drive_auth_modes(use_conn, api: str) -> None:
    """Each other auth mode once: password (IAM token, project discovery) and env (the metadata service)."""
    for auth_type in ("password", "env"):
        use_conn(auth_type, api_version=api)
        assert ModelArtsHook().test_connection()[0]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_every_request_matches_the_documented_table_and_sdk_models(emu, use_conn, api):
    use_conn("aksk", api_version=api, retry_backoff=0.05, retry_max_delay=0.2)
    emu.reset_stats()
    emu.configure(record_responses=True)
    drive_everything(emu, api)
    drive_auth_modes(use_conn, api)
    requests = emu.recorded()
    endpoints = {r["endpoint"] for r in requests}
    missing = (PROVIDER_ENDPOINTS[api] | PROVIDER_ENDPOINTS["auth"]) - endpoints
    assert not missing, f"endpoints the provider calls but this test did not drive: {sorted(missing)}"
    answered = [r for r in requests if r["status"] == 200 and not r["endpoint"].startswith("metadata_")]
    assert answered and all(isinstance(r["response"], dict) for r in answered)  # the answers are really checked
    found = []
    for request in requests:
        where = f"{request['method']} {request['path']}"
        if request["endpoint"] in QUERY:
            problem = query_problem(request["endpoint"], request["query"])
            if problem:
                found.append(f"{where}: {problem}")
        found += [f"{where}: {p}" for p in _answer_problems(request)]
        model = V2_BODIES.get(request["endpoint"])
        if model:
            found += [f"{where}: {p}" for p in problems(request["body"], model)]
            for (endpoint, key), (low, high) in BODY_RANGES.items():
                value = (request["body"] or {}).get(key)
                if endpoint == request["endpoint"] and value is not None and not low <= value <= high:
                    found.append(f"{where}: body {key}={value} outside [{low}, {high}]")
    assert not found, "\n".join(found)


def _answer_problems(request: dict) -> list[str]:
    status, answer = request["status"], request["response"]
    if status is None:
        return []
    if request["endpoint"] in V1_ANSWERS:  # v1: the page's response table (errors use the same envelope)
        return [f"answer {p}" for p in answer_problems(request["endpoint"], answer)]
    if not request["endpoint"].startswith("v2_"):
        return []
    if status >= 400:
        return [] if isinstance(answer, dict) and set(answer) == V2_ERROR_KEYS else [f"error answer {answer!r}"]
    model = V2_ANSWERS.get(request["endpoint"])
    return [f"answer {p}" for p in problems(answer, model)] if model and answer is not None else []


def test_the_checker_can_fail():
    """The validator finds what it must: an unknown key, a wrong type, a range break."""
    bad = {"kind": "job", "metadata": {"name": "x", "labels": {}}, "algorithm": {"parameters": {"lr": 1}},
           "spec": {"resource": {"node_count": "2"}}}
    assert len(problems(bad, "Job")) == 3
    assert query_problem("v2_algorithms", [("limit", "500")])
    assert query_problem("built_in_algorithms", [("per_page", "1000")])
    assert query_problem("v2_aom_log", [("order", "up")])
    assert answer_problems("get_version", {"is_success": True, "status_name": "x"})
    assert answer_problems("list_jobs", {"jobs": [{"job_id": 1, "colour": "red"}]})
