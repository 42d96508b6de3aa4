"""Issue #10: what the provider sends and how it reads answers, item by item, against the documented API.

Each test names the item it covers; each failed before its fix.
"""

from __future__ import annotations

import ast
import asyncio
import time

import pytest
from helpers import framework_job, put, unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op, lines  # noqa: F401

from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsConfigError
from airflow_provider_modelarts.hooks import api_v1, api_v2
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

pytestmark = pytest.mark.slow(13)  # seconds in the suite: started first (tests/conftest.py)


def recorded(emu, endpoint: str) -> list[dict]:
    return [r for r in emu.recorded() if r["endpoint"] == endpoint]


SLOW_OK = "import time\nprint('first line', flush=True)\ntime.sleep(1.0)\nprint('done', flush=True)\n"


@pytest.fixture(params=["v1", "v2"])
def api(request, emu, use_conn):
    use_conn("aksk", api_version=request.param, retry_backoff=0.05, retry_max_delay=0.2)
    return request.param


# ---------------------------------------------------------------------------------------------- item 6
@pytest.mark.parametrize("code", ["ModelArts.2819", "ModelArts.2820", "ModelArts.2822"])
def test_unreadable_log_never_fails_the_wait(emu, api, code, lines):  # noqa: F811
    """Item 6: 2819/2820/2822 (HTTP 400) on the log API: noted once, the job is still watched to its end."""
    endpoint = "aom_log" if api == "v1" else "v2_aom_log"
    emu.set_faults(f"{endpoint}={code}")
    result = framework_op(emu, unique("logerr"), SLOW_OK, wait=True).execute(ctx())
    assert result["status_name"] in ("JOBSTAT_COMPLETED", "Completed")
    notes = [m for m in lines() if "cannot be read through the API" in m]
    assert len(notes) == 1 and code in notes[0]


def test_unreadable_log_never_fails_the_trigger(emu, api, lines):  # noqa: F811
    endpoint = "aom_log" if api == "v1" else "v2_aom_log"
    op = framework_op(emu, unique("logerrtrig"), SLOW_OK)
    result = op.execute(ctx())  # wait=False: submitted
    emu.set_faults(f"{endpoint}=ModelArts.2822")

    async def first_event() -> dict:
        trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result.get("version_id"), poll_interval=0.1)
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success", event


# ---------------------------------------------------------------------------------------------- items 7, 8
def test_custom_image_gets_its_code_dir_and_boot_file(emu, api):
    """Item 7: a custom image's code_dir/boot_file reach the job (v1 app_url/boot_file_url, v2 algorithm.code_dir/
    boot_file): the container finds the code under user-job-dir/<code dir name>."""
    name = unique("imgcode")
    put(emu, f"/bucket/{name}/code/train.py", "import os\nopen(os.environ['TRAIN_URL'] + '/ran.txt', 'w')"
                                              ".write(os.environ['lr'])\n")
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    op = CreateTrainingJobOperator(
        task_id="t", user_image_url="swr.example/img:1", user_command="python3 user-job-dir/code/train.py",
        code_dir=f"obs://bucket/{name}/code/", boot_file=f"obs://bucket/{name}/code/train.py",
        inputs=f"/bucket/{name}/data/", output_path=f"/bucket/{name}/out/", hyperparameters={"lr": "0.3"},
        train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1, job_name=name, wait=True,
        poll_interval=0.1)
    assert op.execute(ctx())["status_name"] in ("JOBSTAT_COMPLETED", "Completed")
    assert emu.obs_path(f"/bucket/{name}/out/ran.txt").read_text() == "0.3"


def test_custom_image_code_dir_and_boot_file_go_together():
    with pytest.raises(ModelArtsConfigError, match="boot_file"):
        CreateTrainingJobOperator(task_id="t", user_image_url="swr.example/img:1", user_command="x",
                                  code_dir="obs://bucket/code/", inputs="/bucket/d/", output_path="/bucket/o/",
                                  train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1)
    with pytest.raises(ModelArtsConfigError, match=r"hyperparameters\[0\].label"):
        CreateTrainingJobOperator(task_id="t", user_image_url="swr.example/img:1", user_command="x",
                                  hyperparameters={"learning-rate": "1"}, inputs="/bucket/d/",
                                  output_path="/bucket/o/", train_instance_type="modelarts.vm.cpu.2u",
                                  train_instance_count=1)


def test_v2_parameters_are_arguments_and_environments_are_env(emu, use_conn):
    """Item 8, emulator side: like the real v2 service, ``parameters`` are appended to a custom image's command
    as arguments, ``environments`` become environment variables."""
    use_conn("aksk", api_version="v2")
    name = unique("v2args")
    put(emu, f"/bucket/{name}/data/a.txt", "a")
    script = "import os, sys; open(os.environ['TRAIN_URL'] + '/a.txt', 'w').write(repr((sys.argv[1:], os.environ.get('lr'), os.environ.get('mode'))))"
    body = {"kind": "job", "metadata": {"name": name, "description": ""},
            "algorithm": {"engine": {"image_url": "swr.example/img:1"}, "command": f'python3 -c "{script}"',
                          "parameters": [{"name": "lr", "value": "0.3"}], "environments": {"mode": "fast"},
                          "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": f"/bucket/{name}/data/"}}}],
                          "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"/bucket/{name}/o/"}}}]},
            "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.2u", "node_count": 1}}}
    hook = ModelArtsHook()
    job = hook.create_training_job_v2(body)
    deadline = time.monotonic() + 30
    while not hook.get_training_job_v2(job.job_id).state.is_terminal:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    argv, lr, mode = ast.literal_eval(emu.obs_path(f"/bucket/{name}/o/a.txt").read_text())
    assert (lr, mode) == (None, "fast")
    assert argv[-1] == "--lr=0.3" and argv[0].startswith("--data_url=") and argv[1].startswith("--train_url=")


# ---------------------------------------------------------------------------------------------- item 4
def test_v1_spec_id_and_pool_id_exclude_each_other(emu, use_conn):
    """Item 4: the v1 field table — spec_id for public pools, pool_id for dedicated pools, never both."""
    use_conn("aksk", api_version="v1")
    name = unique("v1pool")
    body = framework_job(emu, name, pool_id="pool-cpu-demo")
    with pytest.raises(ModelArtsApiError, match="spec_id and config.pool_id"):
        ModelArtsHook().create_training_job(body)
    op = framework_op(emu, unique("v1poolop"), pool_id="pool-cpu-demo", api_version="v1")
    with pytest.raises(ModelArtsConfigError, match="train_instance_type"):
        op.execute(ctx())
    op = framework_op(emu, unique("v1poolok"), pool_id="pool-cpu-demo", train_instance_type=None, api_version="v1",
                      wait=True)
    assert op.execute(ctx())["status_name"] == "JOBSTAT_COMPLETED"


# ---------------------------------------------------------------------------------------------- items 1, 2, 9
def test_v1_built_in_algorithms_are_paged_within_the_documented_range(emu, use_conn):
    """Item 1: per_page is documented within [1, 100]; the emulator refuses more, the hook pages through."""
    use_conn("aksk", api_version="v1")
    hook = ModelArtsHook()
    with pytest.raises(ModelArtsApiError, match="per_page"):
        hook.run(api_v1.built_in_algorithms(per_page=1000))
    emu.reset_stats()  # clears the request log too
    names = {a.model_name for a in hook.get_built_in_algorithms()}
    assert "Faster_RCNN_ResNet_v1_50" in names
    assert all(dict(r["query"])["per_page"] == "100" for r in recorded(emu, "built_in_algorithms"))


def test_v2_algorithm_list_limit_is_at_most_50(emu, use_conn):
    """Item 2 (the list part): ListAlgorithms ``limit`` is 1–50."""
    use_conn("aksk", api_version="v2")
    hook = ModelArtsHook()
    with pytest.raises(ModelArtsApiError, match="limit"):
        hook.run(api_v2.algorithms(limit=500))
    assert "Faster_RCNN_ResNet_v1_50" in {a.name for a in hook.get_v2_algorithms()}


def test_v2_search_offset_is_a_page_index(emu, use_conn):
    """Item 9: JobSearches.offset is a page index and ``count`` the number of matches: jobs beyond the first
    page are found."""
    use_conn("aksk", api_version="v2")
    prefix = unique("v2page")
    for index in range(3):
        put(emu, f"/bucket/{prefix}/data/a.txt", "a")
        framework_op(emu, f"{prefix}_{index}", "print('x')\n", api_version="v2").execute(ctx())
    found = ModelArtsHook().search_training_jobs_v2(prefix, page_size=2)
    assert sorted(j.job_name for j in found) == [f"{prefix}_{i}" for i in range(3)]


# ---------------------------------------------------------------------------------------------- item 11 (emulator)
def test_emulator_answers_with_documented_v2_codes(emu, use_conn):
    """Item 11: a missing v2 job is HTTP 400 ModelArts.2775; a bad JSON body 2787, a bad parameter 2788."""
    use_conn("aksk", api_version="v2")
    hook = ModelArtsHook()
    with pytest.raises(ModelArtsApiError) as missing:
        hook.get_training_job_v2("no-such-job")
    assert (missing.value.http_status, missing.value.error_code) == (400, "ModelArts.2775")
    with pytest.raises(ModelArtsApiError) as bad:
        hook.create_training_job_v2({"kind": "job", "metadata": {"name": "bad name!"}})
    assert (bad.value.http_status, bad.value.error_code) == (400, "ModelArts.2788")


# ---------------------------------------------------------------------------------------------- items 3, 10
def v2_body(emu, name: str, *, inputs: list, outputs: list | None = None, resource: dict | None = None,
            command: str = "true") -> dict:
    return {"kind": "job", "metadata": {"name": name},
            "algorithm": {"engine": {"image_url": "swr.example/img:1"}, "command": command, "inputs": inputs,
                          "outputs": outputs if outputs is not None else
                          [{"name": "train_url", "remote": {"obs": {"obs_url": f"/bucket/{name}/o/"}}}]},
            "spec": {"resource": resource or {"flavor_id": "modelarts.vm.cpu.2u", "node_count": 1}}}


def wait_v2(hook, job_id: str) -> None:
    deadline = time.monotonic() + 30
    while not hook.get_training_job_v2(job_id).state.is_terminal:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_v2_every_input_channel_reaches_the_job_obs_and_dataset_mixed(emu, use_conn):
    """Item 10: an OBS and a dataset channel together are valid; each reaches the job as --<name>=<dir>."""
    use_conn("aksk", api_version="v2")
    name = unique("v2chan")
    put(emu, f"/bucket/{name}/a/x.txt", "a")
    put(emu, f"/bucket/{name}/ds/y.txt", "b")
    emu.add_dataset("ds-" + name, "1", f"/bucket/{name}/ds/")
    script = ("import os, sys; args = dict(a[2:].split('=', 1) for a in sys.argv[1:]); "
              "open(args['train_url'] + '/seen.txt', 'w').write(' '.join(sorted("
              "os.listdir(args['images']) + os.listdir(args['labels']))))")
    hook = ModelArtsHook()
    job = hook.create_training_job_v2(v2_body(emu, name, command=f'python3 -c "{script}"', inputs=[
        {"name": "images", "remote": {"obs": {"obs_url": f"/bucket/{name}/a/"}}},
        {"name": "labels", "remote": {"dataset": {"id": "ds-" + name, "version_id": "1"}}}]))
    wait_v2(hook, job.job_id)
    assert emu.obs_path(f"/bucket/{name}/o/seen.txt").read_text() == "x.txt y.txt"


@pytest.mark.parametrize(("inputs", "outputs", "code"), [
    ([{"name": "d", "remote": {}}], None, "ModelArts.2753"),  # neither obs nor dataset
    ([{"remote": {"obs": {"obs_url": "/bucket/x/"}}}], None, "ModelArts.2753"),  # no name
    ([{"name": "d", "remote": {"dataset": {"id": "x"}}}], None, "ModelArts.2753"),  # dataset without version
    ([], [{"remote": {"obs": {"obs_url": "/bucket/x/o/"}}}], "ModelArts.2753"),  # output without name
    ([{"name": "d", "remote": {"obs": {"obs_url": "/bucket/x/"}}},
      {"name": "d", "remote": {"obs": {"obs_url": "/bucket/y/"}}}], None, "ModelArts.2753"),  # duplicate name
])
def test_v2_channels_are_checked_with_documented_codes(emu, use_conn, inputs, outputs, code):
    use_conn("aksk", api_version="v2")
    with pytest.raises(ModelArtsApiError) as err:
        ModelArtsHook().create_training_job_v2(v2_body(emu, unique("v2bad"), inputs=inputs, outputs=outputs))
    assert (err.value.http_status, err.value.error_code) == (400, code)


def test_v2_unknown_kind_is_refused(emu, use_conn):
    use_conn("aksk", api_version="v2")
    body = {**v2_body(emu, unique("v2kind"), inputs=[]), "kind": "spaceship"}
    with pytest.raises(ModelArtsApiError, match="ModelArts.2788"):
        ModelArtsHook().create_training_job_v2(body)


@pytest.mark.parametrize(("resource", "code"), [
    ({"pool_id": "pool-cpu-demo", "flavor_id": "modelarts.vm.cpu.2u", "node_count": 1}, "ModelArts.2763"),
    ({"pool_id": "pool-gpu-demo", "flavor_id": "modelarts.vm.cpu.2u", "node_count": 1}, "ModelArts.2763"),
    ({"pool_id": "pool-nope", "flavor_id": "modelarts.pool.visual.xlarge", "node_count": 1}, "ModelArts.2890"),
    ({"flavor_id": "modelarts.vm.nope", "node_count": 1}, "ModelArts.2781"),
    ({"flavor_id": "modelarts.vm.cpu.2u", "node_count": 3}, "ModelArts.2793"),
])
def test_v2_dedicated_pools_and_flavors_as_documented(emu, use_conn, resource, code):
    """Item 3: a CPU pool takes no flavor_id, a GPU pool only the modelarts.pool.visual.* flavors."""
    use_conn("aksk", api_version="v2")
    with pytest.raises(ModelArtsApiError) as err:
        ModelArtsHook().create_training_job_v2(v2_body(emu, unique("v2pool"), inputs=[], resource=resource))
    assert err.value.error_code == code


@pytest.mark.parametrize(("pool_id", "flavor"), [("pool-cpu-demo", None),
                                                  ("pool-gpu-demo", "modelarts.pool.visual.xlarge")])
def test_operator_trains_on_a_dedicated_pool(emu, use_conn, pool_id, flavor):
    use_conn("aksk", api_version="v2")
    op = framework_op(emu, unique("v2poolop"), pool_id=pool_id, train_instance_type=flavor, wait=True)
    assert op.execute(ctx())["status_name"] == "Completed"


def test_operator_refuses_a_public_flavor_in_a_dedicated_pool(emu, use_conn):
    use_conn("aksk", api_version="v2")
    op = framework_op(emu, unique("v2poolbad"), pool_id="pool-gpu-demo")  # train_instance_type modelarts.vm.cpu.2u
    with pytest.raises(ModelArtsConfigError, match="modelarts.pool.visual"):
        op.execute(ctx())
    assert not ModelArtsHook().search_training_jobs_v2(op.job_name)


# ---------------------------------------------------------------------------------------------- item 5
def test_env_auth_without_a_metadata_token_api_reads_the_key_without_a_token(emu, use_conn):
    """Item 5: like huaweicloudsdkcore's MetadataAccessor, a token PUT answering 404/405/503 means the metadata
    service has no token API: the securitykey is read without one."""
    use_conn("env", api_version="v2")
    emu.configure(metadata_token_api=False)
    ok, message = ModelArtsHook().test_connection()
    assert ok, message
    calls = [(r["endpoint"]) for r in emu.recorded() if r["endpoint"].startswith("metadata_")]
    assert calls[:2] == ["metadata_token", "metadata_securitykey"]


def test_v2_model_name_unknown_fails_before_any_write_and_says_what_to_use(emu, use_conn):
    """Item 2: on v2 model_name names an Algorithm Management entry; no match → a config error, nothing created."""
    use_conn("aksk", api_version="v2")
    name = unique("v2algo")
    op = CreateTrainingJobOperator(task_id="t", model_name="No_Such_Algorithm", inputs=f"/bucket/{name}/d/",
                                   output_path=f"/bucket/{name}/o/", train_instance_type="modelarts.vm.cpu.2u",
                                   train_instance_count=1, job_name=name)
    emu.reset_stats()
    with pytest.raises(ModelArtsConfigError, match="api_version='v1'") as err:
        op.execute(ctx())
    assert "Algorithm Management" in str(err.value)
    assert not [r for r in emu.recorded() if r["method"] in ("POST", "PUT", "DELETE")
                and r["endpoint"] != "v2_search_jobs"]


# ---------------------------------------------------------------------------------------------- cosmetic items
def test_v2_failure_excerpt_reads_oldest_first_and_sends_no_empty_base_line(emu, use_conn, lines):  # noqa: F811
    """v2 order=desc answers newest first; the failure excerpt still reads like the log, and the latest-lines
    read leaves base_line out (as the SDK does) instead of sending it empty."""
    use_conn("aksk", api_version="v2")
    script = "import sys\nfor i in range(5):\n    print('step', i, flush=True)\nsys.exit(2)\n"
    emu.reset_stats()
    with pytest.raises(Exception) as err:
        framework_op(emu, unique("v2desc"), script, wait=True, failure_log_lines=3, print_log=False).execute(ctx())
    assert "the last lines of each worker's log are above" in str(err.value)
    text = "\n".join(lines())
    assert text.count("--- last 3 lines of worker-0 ---") == 1 and "step 2\nstep 3\nstep 4" in text, text
    latest = [dict(r["query"]) for r in recorded(emu, "v2_aom_log") if dict(r["query"]).get("order") == "desc"]
    assert latest and all("base_line" not in q for q in latest)


def test_iam_nocatalog_answers_without_a_catalog(emu):
    import requests

    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": emu.credentials.user, "password": emu.credentials.password,
        "domain": {"name": emu.credentials.domain}}}}}}
    with_catalog = requests.post(f"{emu.url}/v3/auth/tokens", json=body, timeout=10).json()["token"]
    without = requests.post(f"{emu.url}/v3/auth/tokens?nocatalog=true", json=body, timeout=10).json()["token"]
    assert "catalog" in with_catalog and "catalog" not in without
