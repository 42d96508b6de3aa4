"""ModelArtsHook against the emulator over HTTP: every auth mode, every failure mode, retries, secrets."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest
from helpers import framework_job, unique, wait_terminal

from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsAuthError, ModelArtsConfigError
from airflow_provider_modelarts.hooks import credentials as creds
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

pytestmark = pytest.mark.slow(22)  # seconds in the suite: started first (tests/conftest.py)


@pytest.mark.parametrize("auth_type", ["aksk", "password", "env"])
def test_each_auth_mode_discovers_project_and_runs_a_job(emu, use_conn, auth_type):
    use_conn(auth_type)
    hook = ModelArtsHook()
    ok, message = hook.test_connection()
    assert ok, message
    assert emu.credentials.project_id in message and "cn-north-4" in message
    version = hook.create_training_job(framework_job(emu, unique(auth_type)))
    assert version.version_name == "V0001"
    assert wait_terminal(hook, version).state.name == "JOBSTAT_COMPLETED"
    stats = emu.stats()
    if auth_type == "aksk":
        assert stats["requests"]["iam_projects"] == 1  # discovery once, then cached
        assert "iam_token" not in stats["requests"]
    if auth_type == "password":
        assert stats["requests"]["iam_token"] == 1  # the token carries the project id: no discovery call
        assert "iam_projects" not in stats["requests"]
    if auth_type == "env":
        assert stats["requests"]["metadata_securitykey"] == 1
        assert stats["auth"]["create_job"] == {"temp-aksk": 1}


def test_configured_project_id_skips_discovery(emu, use_conn):
    use_conn("aksk", project_id=emu.credentials.project_id)
    assert ModelArtsHook().list_training_jobs(per_page=1)[0] >= 0
    assert "iam_projects" not in emu.stats()["requests"]


def test_password_token_is_reused_across_hooks_and_refreshed_before_expiry(emu, use_conn):
    use_conn("password")
    for _ in range(3):
        ModelArtsHook().list_training_jobs(per_page=1)
    assert emu.stats()["requests"]["iam_token"] == 1
    emu.configure(token_lifetime=1.5)
    creds.clear_caches()
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    time.sleep(1.2)  # inside the refresh margin (a third of the lifetime): refreshed before it expires
    hook.list_training_jobs(per_page=1)
    assert emu.stats()["requests"]["iam_token"] == 3
    assert all(k.startswith("token") or k == "password" for k in emu.stats()["auth"]["list_jobs"])


def test_password_token_rejected_is_refreshed_once_and_retried(emu, use_conn):
    use_conn("password")
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    key = hook.client.credentials._key
    creds._CACHE[key]["token"] = "MIIinvalid-token"  # the server no longer accepts our cached token
    total, _ = hook.list_training_jobs(per_page=1)
    assert total >= 0
    stats = emu.stats()
    assert stats["requests"]["iam_token"] == 2
    assert stats["auth"]["list_jobs"]["denied:APIG.0301"] == 1


def test_sts_security_token_in_aksk_mode(emu, use_conn):
    use_conn("password")
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    token = creds._CACHE[hook.client.credentials._key]["token"]
    import requests

    resp = requests.post(emu.url + "/v3.0/OS-CREDENTIAL/securitytokens", headers={"X-Auth-Token": token},
                         json={"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}})
    assert resp.status_code == 201
    credential = resp.json()["credential"]
    conn = use_conn("aksk", security_token=credential["securitytoken"])
    conn["login"], conn["password"] = credential["access"], credential["secret"]
    import os

    os.environ["AIRFLOW_CONN_MODELARTS_DEFAULT"] = json.dumps(conn)
    assert ModelArtsHook().list_training_jobs(per_page=1)[0] >= 0
    assert emu.stats()["auth"]["list_jobs"].get("temp-aksk") == 1
    use_conn("aksk", security_token="gQwrong")
    conn["extra"]["security_token"] = "gQwrong"
    os.environ["AIRFLOW_CONN_MODELARTS_DEFAULT"] = json.dumps(conn)
    with pytest.raises(ModelArtsAuthError, match="security token"):
        ModelArtsHook().list_training_jobs(per_page=1)


def test_env_variables_take_precedence_over_metadata(emu, use_conn, monkeypatch):
    use_conn("env")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emu.credentials.ak)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", emu.credentials.sk)
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", emu.credentials.project_id)
    assert ModelArtsHook().list_training_jobs(per_page=1)[0] >= 0
    stats = emu.stats()["requests"]
    assert "metadata_securitykey" not in stats and "iam_projects" not in stats


def test_env_metadata_temporary_keys_are_refreshed_before_they_expire(emu, use_conn):
    use_conn("env")
    emu.configure(temp_key_lifetime=1.5)
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    hook.list_training_jobs(per_page=1)
    assert emu.stats()["requests"]["metadata_securitykey"] == 1
    time.sleep(1.2)
    hook.list_training_jobs(per_page=1)
    assert emu.stats()["requests"]["metadata_securitykey"] == 2


def test_env_without_agency_lists_what_was_tried(emu, use_conn):
    use_conn("env")
    emu.configure(metadata_agency=False)
    with pytest.raises(ModelArtsConfigError) as err:
        ModelArtsHook().list_training_jobs()
    text = str(err.value)
    assert "HUAWEICLOUD_SDK_AK" in text and "metadata service" in text and "Agency" in text


def test_env_with_unreachable_metadata_fails_fast(use_conn):
    use_conn("env", metadata_endpoint="http://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(ModelArtsConfigError, match="no credentials found; tried environment variables"):
        ModelArtsHook().list_training_jobs()
    assert time.monotonic() - started < 5


def test_wrong_secret_key_is_not_retried_and_mentions_the_clock(emu, use_conn, monkeypatch):
    conn = use_conn("aksk", project_id=emu.credentials.project_id)
    conn["password"] = "not-the-secret-key"
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", json.dumps(conn))
    with pytest.raises(ModelArtsAuthError) as err:
        ModelArtsHook().list_training_jobs()
    assert err.value.http_status == 401 and err.value.error_code == "APIG.0301"
    assert "15 minutes" in str(err.value)
    assert emu.stats()["requests"]["list_jobs"] == 1


def test_wrong_keys_never_lock_the_ak(emu, use_conn, monkeypatch):
    """A DAG poking with a wrong SK sends at most 3 bad signatures; Huawei locks after more than 5."""
    conn = use_conn("aksk", project_id=emu.credentials.project_id)
    conn["password"] = "not-the-secret-key"
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", json.dumps(conn))
    for _ in range(8):
        with pytest.raises(ModelArtsAuthError):
            ModelArtsHook().list_training_jobs()
    assert emu.stats()["requests"]["list_jobs"] == 3
    use_conn("aksk", project_id=emu.credentials.project_id)  # the right keys still work: not locked
    assert ModelArtsHook().list_training_jobs(per_page=1)[0] >= 0


def test_parallel_processes_with_a_wrong_sk_never_lock_the_ak(emu, use_conn, monkeypatch):
    """Four task processes at once, each trying six times (a task with retries=5 is one process per try): the
    guard is shared by the machine's processes, so the AK sees at most 3 bad signatures and is not locked. (The
    e2e tier runs eight such tasks through a real scheduler.)"""
    import subprocess
    import sys

    conn = use_conn("aksk", project_id=emu.credentials.project_id)
    conn["password"] = "not-the-secret-key"
    env = {**os.environ, "AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps(conn)}
    script = (
        "from airflow_provider_modelarts.hooks import lockout\n"
        "from airflow_provider_modelarts.hooks.credentials import clear_caches\n"
        "from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook\n"
        "for _ in range(6):\n"
        "    lockout.clear_process_cache(); clear_caches()  # each try is a new process\n"
        "    try:\n"
        "        ModelArtsHook().list_training_jobs()\n"
        "    except Exception as err:\n"
        "        assert type(err).__name__ == 'ModelArtsAuthError', err\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(4)]
    assert [p.wait(120) for p in procs] == [0] * 4
    assert emu.stats()["requests"]["list_jobs"] == 3
    use_conn("aksk", project_id=emu.credentials.project_id)  # the right keys still work: not locked
    assert ModelArtsHook().list_training_jobs(per_page=1)[0] >= 0


def test_auth_errors_fail_the_task_without_retries():
    from airflow.providers.common.compat.sdk import AirflowFailException

    assert issubclass(ModelArtsAuthError, AirflowFailException)


def test_wrong_password_is_a_clear_error(emu, use_conn, monkeypatch):
    conn = use_conn("password")
    conn["password"] = "wrong-password"
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", json.dumps(conn))
    with pytest.raises(ModelArtsAuthError, match="username or password is wrong"):
        ModelArtsHook().list_training_jobs()


def test_unknown_region_gives_a_discovery_error(emu, use_conn):
    use_conn("aksk", region="eu-nowhere-1")
    with pytest.raises(ModelArtsConfigError, match="field 'project_id'.*0 projects named 'eu-nowhere-1'"):
        ModelArtsHook().list_training_jobs()


BAD_CONNECTIONS = [
    ({"conn_type": "modelarts", "login": "a", "password": "b", "extra": {}}, "region"),
    ({"conn_type": "modelarts", "extra": {"region": "r", "auth_type": "oauth"}}, "auth_type"),
    ({"conn_type": "modelarts", "extra": {"region": "r", "auth_type": "aksk"}}, "login/password"),
    ({"conn_type": "modelarts", "login": "u", "extra": {"region": "r", "auth_type": "password"}}, "login/password"),
    ({"conn_type": "modelarts", "extra": {"region": "r", "timeout": "soon"}}, "timeout"),
    ({"conn_type": "modelarts", "extra": {"region": "r", "regoin": "typo"}}, "regoin"),
    ({"conn_type": "modelarts", "extra": {"region": "r", "modelarts_endpoint": "ftp://x"}}, "modelarts_endpoint"),
    ({"conn_type": "modelarts", "extra": {"region": 5}}, "region"),
]


@pytest.mark.parametrize(("conn", "field"), BAD_CONNECTIONS)
def test_invalid_connections_name_the_connection_and_field(monkeypatch, conn, field):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", json.dumps(conn))
    with pytest.raises(ModelArtsConfigError) as err:
        ModelArtsHook(modelarts_conn_id="broken").list_training_jobs()
    assert "'broken'" in str(err.value) and f"'{field}'" in str(err.value)


def test_malformed_extra_is_reported(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", "modelarts://AK:SK@/?__extra__=%7Bnot-json")
    with pytest.raises(ModelArtsConfigError, match="'broken'.*'extra'.*JSON"):
        ModelArtsHook(modelarts_conn_id="broken").config  # noqa: B018


def test_auth_type_is_inferred(emu, use_conn, monkeypatch):
    for auth_type, expected in (("aksk", "aksk"), ("password", "password"), ("env", "env")):
        conn = use_conn(auth_type)
        del conn["extra"]["auth_type"]
        monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", json.dumps(conn))
        assert ModelArtsHook().config.auth_type == expected


# ---------------------------------------------------------------------------------------------- retries
def _fast_retries(use_conn, **extra):
    use_conn("aksk", **{"retry_backoff": 0.05, "retry_max_delay": 0.2, **extra})


def test_idempotent_calls_recover_from_503_429_and_drops(emu, use_conn):
    _fast_retries(use_conn)
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    emu.reset_stats()
    emu.set_faults("list_jobs=503#2; get_version=drop#1; ai_engines=429#1")
    hook.list_training_jobs(per_page=1)
    version = hook.create_training_job(framework_job(emu, unique("retry")))
    hook.get_job_version(version.job_id, version.version_id)
    hook.get_ai_engines()
    stats = emu.stats()["requests"]
    assert stats["list_jobs"] == 3 and stats["get_version"] == 2 and stats["ai_engines"] == 2
    assert hook.client.retries_made == 4


def test_retry_after_is_honoured(emu, use_conn):
    _fast_retries(use_conn, retry_max_delay=5)
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    emu.set_faults("list_jobs=429:1#1")
    started = time.monotonic()
    hook.list_training_jobs(per_page=1)
    assert time.monotonic() - started >= 1.0


def test_create_is_never_repeated_on_5xx_or_drop(emu, use_conn):
    _fast_retries(use_conn)
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    for fault in ("create_job=503#1", "create_job=drop#1", "create_job=500/after#1"):
        emu.reset_stats()
        emu.set_faults(fault)
        with pytest.raises(ModelArtsApiError):
            hook.create_training_job(framework_job(emu, unique("once")))
        assert emu.stats()["requests"]["create_job"] == 1, fault


def test_create_is_retried_when_throttled(emu, use_conn):
    _fast_retries(use_conn)
    hook = ModelArtsHook()
    emu.set_faults("create_job=429#1")
    version = hook.create_training_job(framework_job(emu, unique("throttled")))
    assert version.version_name == "V0001"
    assert emu.stats()["requests"]["create_job"] == 2


def test_retries_give_up_after_max_retries(emu, use_conn):
    _fast_retries(use_conn, max_retries=2)
    hook = ModelArtsHook()
    hook.list_training_jobs(per_page=1)
    emu.reset_stats()
    emu.set_faults("list_jobs=503")
    with pytest.raises(ModelArtsApiError) as err:
        hook.list_training_jobs()
    assert err.value.http_status == 503 and err.value.error_code == "APIG.0202"
    assert emu.stats()["requests"]["list_jobs"] == 3


def test_async_path_shares_the_request_path(emu, use_conn):
    import asyncio

    _fast_retries(use_conn)
    for auth_type in ("aksk", "password", "env"):
        use_conn(auth_type, retry_backoff=0.05, retry_max_delay=0.2)
        creds.clear_caches()
        hook = ModelArtsHook()
        version = hook.create_training_job(framework_job(emu, unique("async")))
        emu.set_faults("get_version=503#1")

        async def watch(version=version, hook=hook):
            while True:
                current = await hook.aget_job_version(version.job_id, version.version_id)
                if current.state.is_terminal:
                    return current
                await asyncio.sleep(0.05)

        final = asyncio.run(watch())
        assert final.state.is_successful, auth_type
        names = asyncio.run(hook.aget_log_file_names(final.job_id, final.version_id))
        chunk = asyncio.run(hook.aget_aom_log(final.job_id, final.version_id, log_file=names[0], base_line="0"))
        assert "done" in chunk.content
        emu.set_faults(None)


# ---------------------------------------------------------------------------------------------- secrets
def test_no_secret_in_logs_exceptions_or_reprs(emu, use_conn, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    secrets = [emu.credentials.sk, emu.credentials.password]
    for auth_type in ("aksk", "password", "env"):
        use_conn(auth_type, retry_backoff=0.01, retry_max_delay=0.02)
        hook = ModelArtsHook()
        hook.list_training_jobs(per_page=1)
        texts += [repr(hook.config), str(hook.config)]
        key = getattr(hook.client.credentials, "_key", None)
        cached = creds._CACHE.get(key) if key else None
        if isinstance(cached, dict):
            secrets.append(cached["token"])
        elif cached is not None:
            secrets += [cached.secret, cached.security_token]
            texts.append(repr(cached))
        emu.set_faults("list_jobs=503")
        try:
            hook.list_training_jobs()
        except ModelArtsApiError as err:
            texts.append(str(err))
        emu.set_faults(None)
    for auth_type, field in (("aksk", "password"), ("password", "password")):
        conn = use_conn(auth_type, retry_backoff=0.01)
        conn[field] = "bad-" + conn[field]
        secrets.append(conn[field])
        monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", json.dumps(conn))
        try:
            ModelArtsHook().list_training_jobs()
        except ModelArtsApiError as err:
            texts.append(str(err))
            texts.append(repr(err))
    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    blob = "\n".join(texts)
    assert "ModelArts" in blob  # we did capture something
    leaked = [s for s in secrets if s and s in blob]
    assert leaked == []
