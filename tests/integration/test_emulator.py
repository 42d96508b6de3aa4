"""The emulator over raw HTTP: auth checks, every v1 endpoint and error path, jobs, faults, restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

import pytest
import requests
from helpers import TRAIN_FAIL, framework_job, put, unique, wait_terminal

from airflow_provider_modelarts import signer
from airflow_provider_modelarts.emulator import ModelArtsEmulator
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

pytestmark = pytest.mark.slow(15)  # seconds in the suite: started first (tests/conftest.py)


def signed(emu, method: str, path: str, *, query=(), body: bytes = b"", headers=None, sk=None, ak=None,
           date: str | None = None):
    """Sign with our signer and send with requests, returning the response."""
    host = urlsplit(emu.url).netloc
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if date:
        hdrs["X-Sdk-Date"] = date
    out, qs = signer.sign(method=method, host=host, path=path, query=query, headers=hdrs, body=body,
                          access_key=ak or emu.credentials.ak, secret_key=sk or emu.credentials.sk)
    return requests.request(method, emu.url + path + (f"?{qs}" if qs else ""), headers=out, data=body or None)


def jobs_path(emu, suffix: str = "") -> str:
    return f"/v1/{emu.credentials.project_id}/training-jobs{suffix}"


# ---------------------------------------------------------------------------------------------- auth
def _sdk_signed(emu, path, query, body):
    os.environ["HOME"] = tempfile.mkdtemp(prefix="sdkhome-")
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    class Creds:
        ak, sk = emu.credentials.ak, emu.credentials.sk

    host = urlsplit(emu.url).netloc
    request = SdkRequest(method="POST" if body else "GET", schema="http", host=host, resource_path=path,
                         query_params=list(query), header_params={"Content-Type": "application/json",
                                                                  "X-Project-Id": emu.credentials.project_id,
                                                                  "User-Agent": "huaweicloud-usdk-python/3.0"},
                         body=body)
    return Signer(Creds).sign(request)


def _send(emu, request, *, uri=None, headers=None, body=None):
    return requests.request(request.method, emu.url + (uri or request.uri), headers=headers or request.header_params,
                            data=request.body if body is None else body)


def test_request_signed_by_huaweicloudsdkcore_is_accepted_and_any_change_rejected(emu):
    pytest.importorskip("huaweicloudsdkcore")
    path = jobs_path(emu)
    query = [("per_page", "5"), ("search_content", "中文 a+b")]
    ok = _sdk_signed(emu, path, query, b"")
    resp = _send(emu, ok)
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_success"] is True

    tampered = {
        "path": dict(uri=ok.uri.replace(emu.credentials.project_id, emu.credentials.project_id[:-1] + "x")),
        "query": dict(uri=ok.uri.replace("per_page=5", "per_page=6")),
        "header": dict(headers={**ok.header_params, "X-Project-Id": "0" * 32}),
    }
    for what, change in tampered.items():
        resp = _send(emu, ok, **change)
        assert resp.status_code == 401, what
        assert resp.json()["error_code"] == "APIG.0301", what
        assert "verify aksk signature fail" in resp.json()["error_msg"], what

    body = json.dumps({"job_name": "sdk_signed"}).encode()
    post = _sdk_signed(emu, path, [], body)
    resp = _send(emu, post, body=body.replace(b"sdk_signed", b"sdk_signeD"))
    assert resp.status_code == 401 and resp.json()["error_code"] == "APIG.0301"


def test_stale_date_is_rejected(emu):
    resp = signed(emu, "GET", jobs_path(emu), date="20200101T000000Z")
    assert resp.status_code == 401
    assert resp.json()["error_code"] == "APIG.0301" and "expired" in resp.json()["error_msg"]
    assert "X-Request-Id" in resp.headers and resp.json()["request_id"] == resp.headers["X-Request-Id"]


def test_ak_is_locked_after_more_than_five_bad_signatures(tmp_path):
    with ModelArtsEmulator(root=tmp_path) as emu:
        for _ in range(6):
            assert signed(emu, "GET", jobs_path(emu), sk="wrong").status_code == 401
        resp = signed(emu, "GET", jobs_path(emu))  # the right key, but the AK is now locked
        assert resp.status_code == 401 and "locked" in resp.json()["error_msg"]


def test_token_checks(emu):
    path = jobs_path(emu)
    no_auth = requests.get(emu.url + path)
    assert no_auth.status_code == 401 and "x-auth-token not found" in no_auth.json()["error_msg"]
    bad = requests.get(emu.url + path, headers={"X-Auth-Token": "MIIforged"})
    assert bad.status_code == 401 and "decrypt token fail" in bad.json()["error_msg"]

    def token(scope):
        c = emu.credentials
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": c.user, "password": c.password, "domain": {"name": c.domain}}}}, "scope": scope}}
        resp = requests.post(emu.url + "/v3/auth/tokens", json=body)
        assert resp.status_code == 201, resp.text
        return resp

    project_token = token({"project": {"name": emu.credentials.region}})
    assert project_token.json()["token"]["project"]["id"] == emu.credentials.project_id
    assert "expires_at" in project_token.json()["token"]
    good = requests.get(emu.url + path, headers={"X-Auth-Token": project_token.headers["X-Subject-Token"]})
    assert good.status_code == 200
    other_project = requests.get(emu.url + "/v1/" + "f" * 32 + "/training-jobs",
                                 headers={"X-Auth-Token": project_token.headers["X-Subject-Token"]})
    assert other_project.status_code == 403 and other_project.json()["error_code"] == "ModelArts.0210"
    domain_token = token({"domain": {"name": emu.credentials.domain}}).headers["X-Subject-Token"]
    unscoped = requests.get(emu.url + path, headers={"X-Auth-Token": domain_token})
    assert unscoped.status_code == 401 and unscoped.json()["error_code"] == "ModelArts.0212"
    wrong = requests.post(emu.url + "/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"],
                          "password": {"user": {"name": "x", "password": "y", "domain": {"name": "z"}}}}}})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == 401


def test_expired_token_is_rejected(emu):
    emu.configure(token_lifetime=0.5)
    c = emu.credentials
    resp = requests.post(emu.url + "/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": c.user, "password": c.password, "domain": {"name": c.domain}}}},
        "scope": {"project": {"id": c.project_id}}}})
    time.sleep(0.7)
    expired = requests.get(emu.url + jobs_path(emu), headers={"X-Auth-Token": resp.headers["X-Subject-Token"]})
    assert expired.status_code == 401 and "token expires" in expired.json()["error_msg"]


def test_unknown_api_path_is_a_gateway_error(emu):
    resp = signed(emu, "GET", f"/v1/{emu.credentials.project_id}/no-such-api")
    assert resp.status_code == 404 and resp.json()["error_code"] == "APIG.0101"


def test_admin_and_projects_endpoints(emu):
    resp = signed(emu, "GET", "/v3/projects", query=[("name", emu.credentials.region)])
    assert resp.json()["projects"][0]["id"] == emu.credentials.project_id
    assert signed(emu, "GET", "/v3/projects", query=[("name", "nope")]).json()["projects"] == []
    assert requests.get(emu.url + "/v3/projects").status_code == 401
    assert emu.stats()["requests"]["iam_projects"] == 3


# ---------------------------------------------------------------------------------------------- v1 jobs
@pytest.fixture
def hook(emu, use_conn):
    use_conn("aksk")
    return ModelArtsHook()


def test_framework_job_with_two_workers_writes_outputs_and_logs(emu, hook):
    name = unique("fw")
    version = wait_terminal(hook, hook.create_training_job(framework_job(emu, name, workers=2, spec_id=27)))
    assert version.state.name == "JOBSTAT_COMPLETED" and version.worker_server_num == 2
    out = emu.obs_path(f"/bucket/{name}/out/")
    assert json.loads((out / "metrics-0.json").read_text()) == {"lr": 0.5, "files": 1}
    assert (out / "metrics-1.json").exists()
    names = hook.get_log_file_names(version.job_id, version.version_id)
    assert names == [f"job-{name.lower().replace('_', '-')}.0", f"job-{name.lower().replace('_', '-')}.1"]
    for index, log_file in enumerate(names):
        chunk = hook.get_aom_log(version.job_id, version.version_id, log_file=log_file, base_line="0")
        assert chunk.text_lines() == [f"rank {index} of 2 files ['a.txt']", "done"]
    copied = sorted(p.name for p in emu.obs_path(f"/bucket/{name}/logs/").iterdir())
    assert copied == [f"{version.resource_id}-job-{name}-0.log", f"{version.resource_id}-job-{name}-1.log"]
    detail = version.raw
    assert detail["engine_name"] == "PyTorch" and detail["spec_code"] == "modelarts.vm.cpu.8u"
    assert isinstance(detail["create_time"], int) and detail["duration"] >= 0


def test_custom_image_job_gets_parameters_as_environment(emu, hook):
    name = unique("img")
    put(emu, f"/bucket/{name}/data/x.csv", "1,1\n")
    body = {"job_name": name, "config": {
        "worker_server_num": 1, "user_image_url": "swr.cn-north-4.myhuaweicloud.com/org/train:1.0",
        "user_command": "echo image=$MA_USER_IMAGE_URL lr=$lr && ls $DATA_URL && echo ok > $TRAIN_URL/done.txt",
        "data_url": f"/bucket/{name}/data/", "train_url": f"/bucket/{name}/out/", "spec_id": 7,
        "parameter": [{"label": "lr", "value": "0.01"}]}}
    version = wait_terminal(hook, hook.create_training_job(body))
    assert version.state.is_successful
    assert emu.obs_path(f"/bucket/{name}/out/done.txt").read_text() == "ok\n"
    log = hook.get_aom_log(version.job_id, version.version_id,
                           log_file=hook.get_log_file_names(version.job_id, version.version_id)[0])
    assert log.text_lines() == ["image=swr.cn-north-4.myhuaweicloud.com/org/train:1.0 lr=0.01", "x.csv"]
    assert version.raw["user_image_url"].startswith("swr.")


def test_built_in_algorithm_job(emu, hook):
    name = unique("builtin")
    put(emu, f"/bucket/{name}/data/img1.jpg", "x")
    model_id = next(a.model_id for a in hook.get_built_in_algorithms() if a.model_name == "Faster_RCNN_ResNet_v1_50")
    body = {"job_name": name, "config": {"worker_server_num": 1, "model_id": model_id, "spec_id": 7,
                                         "data_url": f"/bucket/{name}/data/", "train_url": f"/bucket/{name}/out/",
                                         "parameter": [{"label": "max_epoches", "value": "3"}]}}
    version = wait_terminal(hook, hook.create_training_job(body))
    assert version.state.is_successful
    metrics = json.loads(emu.obs_path(f"/bucket/{name}/out/metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["files"] == 1
    lines = hook.get_aom_log(version.job_id, version.version_id,
                             log_file=hook.get_log_file_names(version.job_id, version.version_id)[0]).text_lines()
    assert "epoch 3/3" in "\n".join(lines)


def test_dataset_job_and_unknown_dataset(emu, hook):
    name = unique("ds")
    put(emu, f"/bucket/{name}/dataset/v1/a.txt", "a")
    emu.add_dataset("ds-" + name, "v1", f"/bucket/{name}/dataset/v1/")
    body = framework_job(emu, name)
    del body["config"]["data_url"]
    body["config"].update(dataset_id="ds-" + name, dataset_version_id="v1")
    assert wait_terminal(hook, hook.create_training_job(body)).state.is_successful
    body["job_name"] += "_2"
    body["config"]["dataset_version_id"] = "v9"
    resp = signed(emu, "POST", jobs_path(emu), body=json.dumps(body).encode())
    assert resp.status_code == 400 and resp.json()["error_code"] == "ModelArts.0901"


def test_failed_job_log_and_status(emu, hook):
    version = wait_terminal(hook, hook.create_training_job(framework_job(emu, unique("fail"), TRAIN_FAIL)))
    assert version.state.name == "JOBSTAT_FAILED"
    assert "worker-0 exited with code 3" in version.error_info
    log_file = hook.get_log_file_names(version.job_id, version.version_id)[0]
    latest = hook.get_aom_log(version.job_id, version.version_id, log_file=log_file, lines=2)
    assert latest.text_lines() == ["step 29", "Traceback: something broke in the training loop"]
    older = hook.get_aom_log(version.job_id, version.version_id, log_file=log_file, lines=3, order="asc",
                             base_line=latest.start_line)
    assert older.text_lines() == ["step 26", "step 27", "step 28"]
    newer = hook.get_aom_log(version.job_id, version.version_id, log_file=log_file, order="desc",
                             base_line=latest.end_line)
    assert newer.lines == 0
    chunk = hook.get_byte_log(version.job_id, version.version_id, log_file=log_file, start_byte=0, offset=14)
    assert chunk.log == "step 0\nstep 1\n" and chunk.end_byte == 14 and chunk.count > 14
    tail = hook.get_byte_log(version.job_id, version.version_id, log_file=log_file, start_byte=-1, offset=-7)
    assert tail.log == "loop\n"[-7:] or tail.log.endswith("loop\n")


def test_versions_stop_delete_update_and_list(emu, hook):
    name = unique("life")
    first = wait_terminal(hook, hook.create_training_job(framework_job(emu, name)))
    resp = signed(emu, "POST", jobs_path(emu, f"/{first.job_id}/versions"), body=b'{"config": {}}')
    assert resp.status_code == 400 and "pre_version_id" in resp.json()["error_message"]
    put(emu, f"/bucket/{name}/code/train.py", "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    second = hook.create_job_version(first.job_id, {"config": {"pre_version_id": first.version_id}})
    assert second.version_name == "V0002" and second.job_id == first.job_id
    deadline = time.monotonic() + 10
    while hook.get_job_version(first.job_id, second.version_id).state.code != 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    hook.stop_job_version(first.job_id, second.version_id)
    stopped = wait_terminal(hook, second)
    assert stopped.state.name == "JOBSTAT_KILLED"
    resp = signed(emu, "POST", jobs_path(emu, f"/{first.job_id}/versions/{first.version_id}/stop"))
    assert resp.status_code == 400 and resp.json()["error_code"] == "ModelArts.6357"
    versions = hook.list_job_versions(first.job_id)
    assert [v.version_name for v in versions] == ["V0002", "V0001"]
    assert versions[0].raw["pre_version_id"] == first.version_id
    hook.update_job_description(first.job_id, "new description")
    total, jobs = hook.list_training_jobs(search_content=name)
    assert total == 1 and jobs[0].job_desc == "new description" and jobs[0].version_count == 2
    hook.delete_job_version(first.job_id, second.version_id)
    assert [v.version_name for v in hook.list_job_versions(first.job_id)] == ["V0001"]
    hook.delete_training_job(first.job_id)
    resp = signed(emu, "GET", jobs_path(emu, f"/{first.job_id}/versions/{first.version_id}"))
    assert resp.status_code == 404 and resp.json() == {
        "is_success": False, "error_code": "ModelArts.0015",
        "error_message": f"Training job {first.job_id} does not exist."}


def test_list_paging_sorting_search(emu, hook):
    prefix = unique("page")
    for i in range(3):
        hook.create_training_job(framework_job(emu, f"{prefix}_{i}"))
    total, page1 = hook.list_training_jobs(search_content=prefix, per_page=2, page=1, order="desc")
    _, page2 = hook.list_training_jobs(search_content=prefix, per_page=2, page=2, order="desc")
    assert total == 3
    assert [j.job_name for j in page1 + page2] == [f"{prefix}_2", f"{prefix}_1", f"{prefix}_0"]
    resp = signed(emu, "GET", jobs_path(emu), query=[("sortBy", "bogus")])
    assert resp.status_code == 400 and resp.json()["is_success"] is False
    resp = signed(emu, "GET", jobs_path(emu), query=[("per_page", "1001")])
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"job_name": "bad name!"}, "ModelArts.0104", "job_name"),
        ({"config.data_url": "/bucket/"}, "ModelArts.2606", "root of a bucket"),
        ({"config.data_url": "bucket/data/"}, "ModelArts.2608", "Invalid OBS path"),
        ({"config.boot_file_url": "/bucket/elsewhere/train.py"}, "ModelArts.0104", "Invalid OBS path"),
        ({"config.app_url": "/bucket/missing/"}, "ModelArts.0104", "Invalid OBS path '/bucket/missing/'"),
        ({"config.worker_server_num": 3}, "ModelArts.0104", "max_num"),
        ({"config.spec_id": 999}, "ModelArts.0104", "spec_id"),
        ({"config.engine_id": 999}, "ModelArts.0104", "engine_id"),
        ({"config.dataset_id": "x"}, "ModelArts.0104", "Exactly one"),
        ({"config.parameter": [{"label": "a", "value": 1}]}, "ModelArts.0104", "parameter"),
        ({"config.user_image_url": "swr/x:1", "config.model_id": None}, "ModelArts.0104", "user_command"),
    ],
)
def test_create_validation_errors(emu, change, code, message):
    name = unique("bad")
    body = framework_job(emu, name)
    for key, value in change.items():
        target, _, field = key.rpartition(".")
        (body["config"] if target else body)[field] = value
    resp = signed(emu, "POST", jobs_path(emu), body=json.dumps(body).encode())
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == code and message in resp.json()["error_message"]


def test_duplicate_name(emu, hook):
    body = framework_job(emu, unique("dup"))
    hook.create_training_job(body)
    resp = signed(emu, "POST", jobs_path(emu), body=json.dumps(body).encode())
    assert resp.status_code == 400
    assert resp.json() == {"is_success": False, "error_code": "ModelArts.0103",
                           "error_message": f"Job name:{body['job_name']} is existed"}


def test_lookups(hook):
    engines = {(e.engine_name, e.engine_version) for e in hook.get_ai_engines()}
    assert ("PyTorch", "PyTorch-1.0.0-python3.6") in engines and ("TensorFlow", "TF-1.8.0-python3.6") in engines
    assert {"MXNet", "Scikit Learn", "XGBoost-Sklearn", "MindSpore-GPU"} <= {e[0] for e in engines}
    specs = {s.spec_code: s.max_num for s in hook.get_resource_specs()}
    assert {"modelarts.vm.cpu.2u", "modelarts.vm.cpu.8u", "modelarts.vm.gpu.free"} <= set(specs)
    assert "Faster_RCNN_ResNet_v1_50" in {a.model_name for a in hook.get_built_in_algorithms()}


# ---------------------------------------------------------------------------------------------- faults
def test_fault_before_changes_nothing_and_after_loses_only_the_answer(emu, hook):
    name = unique("fault")
    emu.set_faults("create_job=503#1")
    resp = signed(emu, "POST", jobs_path(emu), body=json.dumps(framework_job(emu, name)).encode())
    assert resp.status_code == 503 and resp.json()["error_code"] == "APIG.0202"
    assert hook.find_job_by_name(name) is None
    emu.set_faults("create_job=drop/after#1")
    with pytest.raises(requests.ConnectionError):
        signed(emu, "POST", jobs_path(emu), body=json.dumps(framework_job(emu, name)).encode())
    assert hook.find_job_by_name(name) is not None  # created, though the answer was lost
    emu.set_faults("list_jobs=latency:0.5#1")
    started = time.monotonic()
    hook.list_training_jobs(per_page=1)
    assert time.monotonic() - started >= 0.5
    assert emu.stats()["faults_fired"] >= 3


def test_fault_spec_errors_and_probabilities(emu):
    from airflow_provider_modelarts.emulator.faults import FaultInjector, FaultSpecError, parse

    with pytest.raises(FaultSpecError, match="bad fault rule"):
        parse("create_job=418")
    with pytest.raises(FaultSpecError):
        parse("get_version=latency")
    injector = FaultInjector("*=503@0.25", seed=7)
    fired = sum(injector.pick("get_version", "before") is not None for _ in range(1000))
    assert 200 < fired < 300
    with pytest.raises(ValueError, match="bad fault rule 'nonsense'"):
        emu.set_faults("nonsense")


# ---------------------------------------------------------------------------------------------- process
def test_state_survives_restart_and_running_jobs_become_lost(tmp_path, monkeypatch):
    emu = ModelArtsEmulator(root=tmp_path).start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", emu.conn_json(api_version="v1"))
        hook = ModelArtsHook()
        done = wait_terminal(hook, hook.create_training_job(framework_job(emu, unique("keep"))))
        running = hook.create_training_job(framework_job(emu, unique("lost"), "import time\ntime.sleep(60)\n"))
        time.sleep(0.5)
    finally:
        emu.kill()
    emu = ModelArtsEmulator(root=tmp_path).start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", emu.conn_json(api_version="v1"))
        from airflow_provider_modelarts.hooks.credentials import clear_caches

        clear_caches()
        hook = ModelArtsHook()
        assert hook.get_job_version(done.job_id, done.version_id).state.name == "JOBSTAT_COMPLETED"
        assert hook.get_job_version(running.job_id, running.version_id).state.name == "JOBSTAT_LOST"
    finally:
        emu.stop()


def test_cli_help_documents_every_option():
    out = subprocess.run([sys.executable, "-m", "airflow_provider_modelarts.emulator", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--host", "--port", "--root", "--region", "--project-id", "--ak", "--user", "--domain",
                   "--fixed-credentials", "--no-metadata", "--faults", "--seed", "--max-running", "--step-delay",
                   "--kill-grace", "--token-lifetime", "--temp-key-lifetime", "MODELARTS_EMULATOR_SK"):
        assert option in out
    assert "--sk" not in out and "--password" not in out  # secrets never travel on a command line


def test_admin_and_console_are_loopback_only_but_console_works(emu, hook):
    version = wait_terminal(hook, hook.create_training_job(framework_job(emu, unique("console"))))
    page = requests.get(emu.console_url(version.job_id, version.version_id))
    assert page.status_code == 200 and "JOBSTAT_COMPLETED" in page.text and "done" in page.text


def test_idle_emulator_uses_almost_no_cpu(tmp_path):
    """No polling loops: an emulator with no jobs sleeps until a request or a worker line. Its own process (the
    session's emulator may still be finishing other tests' jobs), and the quietest of three windows (a busy
    machine can charge one window with a scheduling hiccup; a polling loop costs CPU in every window)."""
    with ModelArtsEmulator(root=tmp_path / "idle") as idle:
        def cpu_seconds() -> float:
            fields = open(f"/proc/{idle.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        time.sleep(0.5)
        windows = []
        for _ in range(3):
            before = cpu_seconds()
            time.sleep(2)
            windows.append(cpu_seconds() - before)
        assert min(windows) < 0.07, windows


def test_v2_error_paths_over_raw_http(emu):
    base = f"/v2/{emu.credentials.project_id}"
    missing = signed(emu, "GET", f"{base}/training-jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 400 and missing.json()["error_code"] == "ModelArts.2775"
    assert set(missing.json()) == {"error_msg", "error_code", "error_solution"}
    bad_name = signed(emu, "POST", f"{base}/training-jobs", body=b'{"kind": "job", "metadata": {"name": "a b"}}')
    assert bad_name.status_code == 400 and bad_name.json()["error_code"].startswith("ModelArts.27")
    bad_search = signed(emu, "POST", f"{base}/training-job-searches", body=b'{"limit": 500}')
    assert bad_search.status_code == 400
    flavors = signed(emu, "GET", f"{base}/training-job-flavors", query=[("flavor_type", "GPU")]).json()
    assert [f["flavor_id"] for f in flavors["flavors"]] == ["modelarts.vm.gpu.free"]
    engines = signed(emu, "GET", f"{base}/training-job-engines").json()
    assert {"PyTorch", "TensorFlow", "MindSpore-GPU"} <= {e["engine_name"] for e in engines["items"]}
    assert requests.get(emu.url + f"{base}/training-job-engines").status_code == 401


def test_admin_api_lists_jobs_faults_and_datasets_and_refuses_bad_bodies(emu, hook):
    version = wait_terminal(hook, hook.create_training_job(framework_job(emu, unique("adminlist"))))
    listed = {j["version_id"]: j for j in emu.jobs()}
    assert listed[version.version_id]["status_name"] == "JOBSTAT_COMPLETED"
    assert listed[version.version_id]["api_version"] == "v1" and listed[version.version_id]["training_job_id"] is None
    emu.set_faults("get_version=503#2; *=latency:0.01@0.5")
    assert [(f["endpoint"], f["status"], f["remaining"]) for f in emu.faults()] == [("get_version", 503, 2),
                                                                                   ("*", 0, None)]
    emu.set_faults(None)
    emu.add_dataset("listed-ds", "v7", "/bucket/listed/")
    assert {"dataset_id": "listed-ds", "version_id": "v7", "obs_path": "/bucket/listed/"} in emu.datasets()
    for body in (b"not json", b"[1, 2]", b'{"dataset_id": "x"}'):
        answer = requests.post(emu.url + "/_emulator/datasets", data=body,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error_code"] == "Emulator.0002", answer.text


def test_cli_help_and_missing_server_packages():
    help_text = subprocess.run([sys.executable, "-m", "airflow_provider_modelarts.emulator", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "v1 and v2 training jobs" in help_text and "(default: None)" not in help_text
    import re

    options = re.split(r"\n  (?=-)", " ".join(help_text.split("options:", 1)[1].split()).replace(" --", "\n  --"))
    assert all(option.count("default") <= 1 for option in options), [o for o in options if o.count("default") > 1]
    assert any("--host" in o and "(default: 127.0.0.1)" in o for o in options)
    hide = ("import sys, importlib.util; real = importlib.util.find_spec; importlib.util.find_spec = lambda n, *a: "
            "None if n in ('fastapi', 'uvicorn') else real(n, *a); from airflow_provider_modelarts.emulator.cli "
            "import main; main(['--quiet'])")
    missing = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True)
    assert missing.returncode == 1 and "pip install 'airflow-provider-modelarts[emulator]'" in missing.stderr


def test_cli_admin_commands_against_a_running_emulator(emu, hook):
    version = wait_terminal(hook, hook.create_training_job(framework_job(emu, unique("clijobs"))))

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "airflow_provider_modelarts.emulator", *args], check=True,
                              capture_output=True, text=True, timeout=60).stdout

    jobs = cli("jobs", "--root", str(emu.root))
    assert f"{version.job_id}/{version.version_id} V0001" in jobs and "JOBSTAT_COMPLETED" in jobs
    cli("faults", "set", "get_version=503#1", "--url", emu.url)
    assert '"endpoint": "get_version"' in cli("faults", "list", "--url", emu.url)
    cli("faults", "clear", "--url", emu.url)
    assert emu.faults() == []
    cli("datasets", "add", "cli-ds", "v2", "/bucket/cli-ds/", "--url", emu.url)
    assert "cli-ds  v2  /bucket/cli-ds/" in cli("datasets", "list", "--url", emu.url)
    refused = subprocess.run([sys.executable, "-m", "airflow_provider_modelarts.emulator", "faults", "set",
                              "no-such-rule", "--url", emu.url], capture_output=True, text=True)
    assert refused.returncode == 1 and "bad fault rule" in refused.stderr
