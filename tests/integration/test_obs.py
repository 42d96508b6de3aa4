"""ObsHook against the emulator's OBS endpoint (signature-checked, over the local OBS directory its jobs use),
and the official esdk-obs-python client against the same endpoint (the emulator answers it as OBS would)."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import uuid

import pytest

from airflow_provider_modelarts import obs_api
from airflow_provider_modelarts.exceptions import (
    ModelArtsAuthError,
    ModelArtsConfigError,
    ModelArtsNotFoundError,
)
from airflow_provider_modelarts.hooks.obs import ObsHook


@pytest.fixture
def bucket(emu):
    name = f"it-{uuid.uuid4().hex[:12]}"
    (emu.obs_root / name).mkdir(parents=True)
    return name


@pytest.mark.parametrize("auth_type", ["aksk", "password", "env"])
def test_round_trip_in_every_auth_mode(emu, use_conn, bucket, auth_type):
    use_conn(auth_type)
    hook = ObsHook()
    key = f"obs://{bucket}/dir with space/naïve+&=?#文件.txt"
    assert hook.upload_string("hello\n", key) == key
    assert hook.read_text(key) == "hello\n"
    # the hook wrote the emulator's local OBS: what a training job reads
    assert (emu.obs_root / bucket / "dir with space" / "naïve+&=?#文件.txt").read_text() == "hello\n"
    assert hook.exists(f"/{bucket}/dir with space/naïve+&=?#文件.txt")  # the SDK's /bucket/key form
    assert not hook.exists(f"obs://{bucket}/missing")
    auth = emu.stats()["auth"]
    expected = "aksk" if auth_type == "aksk" else "temp-aksk"
    assert set(auth["obs_object"]) == {expected}, auth
    if auth_type == "password":  # the IAM token was exchanged for temporary keys once, then reused
        assert emu.stats()["requests"]["iam_securitytokens"] == 1


def test_list_pages_with_marker_and_delimiter(emu, use_conn, bucket):
    use_conn("aksk")
    hook = ObsHook()
    keys = sorted(f"data/part-{i:03d}.csv" for i in range(25)) + ["data/sub/x.csv", "other.txt"]
    for k in keys:
        (emu.obs_root / bucket / k).parent.mkdir(parents=True, exist_ok=True)
        (emu.obs_root / bucket / k).write_text(k)
    emu.reset_stats()
    listed = list(hook.list(f"obs://{bucket}/data/", page_size=10))
    assert [i.key for i in listed] == sorted(k for k in keys if k.startswith("data/"))
    assert all(i.size == len(i.key) and i.etag == hashlib.md5(i.key.encode()).hexdigest() for i in listed)
    assert emu.stats()["requests"]["obs_bucket"] == 3  # 26 keys in pages of 10
    folded = list(hook.list(f"obs://{bucket}/data/", delimiter="/", page_size=7))
    assert [i.key for i in folded if i.size == -1] == ["data/sub/"]
    assert len([i for i in folded if i.size >= 0]) == 25
    assert hook.list_keys(f"obs://{bucket}/oth") == [f"obs://{bucket}/other.txt"]


def test_multipart_upload_with_progress_and_ranged_download(emu, use_conn, bucket, tmp_path, caplog, capsys):
    use_conn("aksk")
    hook = ObsHook(part_size=obs_api.MIN_PART_SIZE)
    source = tmp_path / "model.bin"
    data = random.Random(7).randbytes(obs_api.MIN_PART_SIZE * 3 + 12345)
    source.write_bytes(data)
    emu.reset_stats()
    with caplog.at_level(logging.INFO):
        hook.upload_file(source, f"obs://{bucket}/models/model.bin")
    assert (emu.obs_root / bucket / "models" / "model.bin").read_bytes() == data
    logged = caplog.text + capsys.readouterr().out  # Airflow 3 logs through structlog (stdout), 2 through logging
    progress = set(re.findall(r"Uploading model.bin to \S+: part (\d)/4 \(([\d.]+ KiB) of 312.1 KiB\)", logged))
    assert progress == {("1", "100.0 KiB"), ("2", "200.0 KiB"), ("3", "300.0 KiB"), ("4", "312.1 KiB")}, logged
    requests = emu.stats()["requests"]
    assert requests["obs_object"] == 6  # initiate, 4 parts, complete
    assert not any((emu.root / "obs-uploads").glob("*/part-*"))  # the parts are gone
    target = hook.download_file(f"obs://{bucket}/models/model.bin", tmp_path / "out" / "model.bin")
    assert target.read_bytes() == data
    assert not [p for p in target.parent.iterdir() if p.name != "model.bin"]  # no temporary file left


def test_a_failed_multipart_upload_is_aborted(emu, use_conn, bucket, tmp_path, monkeypatch):
    use_conn("aksk")
    hook = ObsHook(part_size=obs_api.MIN_PART_SIZE)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(obs_api.MIN_PART_SIZE * 2 + 1))
    real_call = hook.client.call

    def failing_second_part(request):
        if ("partNumber", 2) in list(request.query):
            raise ModelArtsConfigError("the worker lost its disk")  # anything that ends the upload
        return real_call(request)

    monkeypatch.setattr(hook.client, "call", failing_second_part)
    with pytest.raises(ModelArtsConfigError, match="lost its disk"):
        hook.upload_file(source, f"obs://{bucket}/big.bin")
    assert not (emu.obs_root / bucket / "big.bin").exists()
    assert list((emu.root / "obs-uploads").glob("*/upload.json")) == []  # aborted: no parts left behind


def test_transient_obs_errors_are_retried(emu, use_conn, bucket):
    use_conn("aksk", retry_backoff=0.01)
    hook = ObsHook()
    emu.set_faults("obs_object=503#2")
    assert hook.upload_string("after two 503s", f"obs://{bucket}/retried.txt")
    emu.set_faults(None)
    assert hook.read_text(f"obs://{bucket}/retried.txt") == "after two 503s"


def test_copy_delete_directory_upload_and_download(emu, use_conn, bucket, tmp_path):
    use_conn("aksk")
    hook = ObsHook()
    local = tmp_path / "code"
    (local / "pkg").mkdir(parents=True)
    (local / "train.py").write_text("print('hi')\n")
    (local / "pkg" / "util.py").write_text("X = 1\n")
    uploaded = hook.upload_directory(local, f"obs://{bucket}/code/")
    assert uploaded == [f"obs://{bucket}/code/pkg/util.py", f"obs://{bucket}/code/train.py"]
    assert hook.copy(f"obs://{bucket}/code/train.py", f"/{bucket}/backup/train.py") == f"obs://{bucket}/backup/train.py"
    assert hook.read_text(f"obs://{bucket}/backup/train.py") == "print('hi')\n"
    written = hook.download_directory(f"obs://{bucket}/code", tmp_path / "back")
    assert sorted(p.relative_to(tmp_path / "back").as_posix() for p in written) == ["pkg/util.py", "train.py"]
    assert hook.delete_prefix(f"obs://{bucket}/code/") == 2
    assert hook.list_keys(f"obs://{bucket}/code/") == []
    hook.delete(f"obs://{bucket}/code/never-there")  # deleting nothing is no error


def test_wrong_secret_key_is_refused_with_obs_error_xml_and_not_retried(emu, use_conn, bucket):
    use_conn("aksk")
    conn = emu.conn_dict("aksk", "v2")
    conn["password"] = "wrong-secret-key"
    import json

    os.environ["AIRFLOW_CONN_OBS_WRONG"] = json.dumps(conn)
    try:
        emu.reset_stats()
        with pytest.raises(ModelArtsAuthError, match="SignatureDoesNotMatch.*check the AK/SK"):
            ObsHook("obs_wrong").read(f"obs://{bucket}/x")
        assert emu.stats()["requests"]["obs_object"] == 1  # a rejected signature is not sent again
    finally:
        del os.environ["AIRFLOW_CONN_OBS_WRONG"]


def test_missing_objects_and_buckets(emu, use_conn, bucket):
    use_conn("aksk")
    hook = ObsHook()
    with pytest.raises(ModelArtsNotFoundError, match="NoSuchKey"):
        hook.read(f"obs://{bucket}/nope")
    with pytest.raises(ModelArtsNotFoundError, match="NoSuchBucket"):
        hook.read("obs://no-such-bucket-here/x")
    assert not hook.bucket_exists("no-such-bucket-here")
    assert hook.bucket_exists(bucket)
    new = f"nb-{uuid.uuid4().hex[:10]}"
    hook.create_bucket(new)
    hook.create_bucket(new)  # already yours: no error
    assert new in hook.list_buckets() and (emu.obs_root / new).is_dir()


def test_bad_paths_fail_before_any_request(emu, use_conn):
    use_conn("aksk")
    hook = ObsHook()
    emu.reset_stats()
    for bad in ("bucket/key", "s3://bucket/key", "obs://Bad_Bucket/key", "obs://ab/key", "//x/y",
                "obs://b" * 1 + "/" + "k" * 1100):
        with pytest.raises(ModelArtsConfigError):
            hook.read(bad)
    with pytest.raises(ModelArtsConfigError, match="part_size"):
        ObsHook(part_size=1024)
    assert not [name for name in emu.stats()["requests"] if not name.startswith("admin_")]


def test_emulator_refuses_traversal_and_keys_it_cannot_hold(emu, use_conn, bucket):
    use_conn("aksk")
    hook = ObsHook()
    for key in ("../escape.txt", "a/../../escape.txt", "./x"):  # refused before sending
        with pytest.raises(ModelArtsConfigError, match="segments are not supported"):
            hook.upload_string("x", f"obs://{bucket}/{key}")
    with pytest.raises(Exception, match="InvalidArgument"):
        hook.upload_string("x", f"obs://{bucket}/a//b")
    # a client that sends dot segments percent-encoded, correctly signed: the emulator refuses them
    import http.client

    from airflow_provider_modelarts import obs_signer

    creds = emu.credentials
    for key in ("../escape.txt", "a/../../../escape.txt"):
        headers = obs_signer.sign(method="PUT", bucket=bucket, key=key, query=(), headers={"Content-Length": "1"},
                                  access_key=creds.ak, secret_key=creds.sk, path_style=True)
        host, port = emu.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        encoded = "/".join("%2E%2E" if s == ".." else obs_signer.quote_key(s) for s in key.split("/"))
        connection.request("PUT", f"/{bucket}/{encoded}", body=b"x", headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 400 and b"<Code>InvalidArgument</Code>" in body, (answer.status, body)
    assert not (emu.obs_root / "escape.txt").exists() and not (emu.root / "escape.txt").exists()


# ---------------------------------------------------------------------------------------------- the official SDK
def _esdk(emu, *, sk: str | None = None):
    obs = pytest.importorskip("obs")
    creds = emu.credentials
    return obs.ObsClient(access_key_id=creds.ak, secret_access_key=sk or creds.sk, server=emu.url,
                         path_style=True, signature="obs", max_retry_count=0)


def test_the_official_sdk_is_answered_as_obs_would(emu, bucket, tmp_path):
    client = _esdk(emu)
    key = "esdk/naïve key+&.txt"
    put = client.putContent(bucket, key, "from the official SDK")
    assert put.status == 200, put.errorMessage
    got = client.getObject(bucket, key, loadStreamInMemory=True)
    assert got.status == 200 and got.body.buffer == b"from the official SDK"
    listed = client.listObjects(bucket, prefix="esdk/", max_keys=10)
    assert listed.status == 200 and [c.key for c in listed.body.contents] == [key]
    assert listed.body.contents[0].size == len(b"from the official SDK")
    head = client.getObjectMetadata(bucket, key)
    assert head.status == 200 and int(head.body.contentLength) == len(b"from the official SDK")
    # multipart through the SDK's own calls
    init = client.initiateMultipartUpload(bucket, "esdk/multi.bin")
    assert init.status == 200, init.errorMessage
    upload_id = init.body.uploadId
    first, second = os.urandom(obs_api.MIN_PART_SIZE), b"tail"
    etags = []
    for number, content in ((1, first), (2, second)):
        part = client.uploadPart(bucket, "esdk/multi.bin", number, upload_id, content)
        assert part.status == 200, part.errorMessage
        etags.append(part.body.etag)
    from obs import CompleteMultipartUploadRequest, CompletePart

    done = client.completeMultipartUpload(bucket, "esdk/multi.bin", upload_id, CompleteMultipartUploadRequest(
        [CompletePart(1, etags[0]), CompletePart(2, etags[1])]))
    assert done.status == 200, done.errorMessage
    assert (emu.obs_root / bucket / "esdk" / "multi.bin").read_bytes() == first + second
    client.close()


def test_the_official_sdk_with_a_wrong_key_gets_obs_error_codes(emu, bucket):
    wrong = _esdk(emu, sk="not-the-secret")
    answer = wrong.getObject(bucket, "anything", loadStreamInMemory=True)
    assert answer.status == 403 and answer.errorCode == "SignatureDoesNotMatch"
    wrong.close()
    right = _esdk(emu)
    missing = right.getObject(bucket, "anything", loadStreamInMemory=True)
    assert missing.status == 404 and missing.errorCode == "NoSuchKey"
    too_small = right.initiateMultipartUpload(bucket, "small.bin")
    upload_id = too_small.body.uploadId
    etags = [right.uploadPart(bucket, "small.bin", n, upload_id, b"x" * 10).body.etag for n in (1, 2)]
    from obs import CompleteMultipartUploadRequest, CompletePart

    refused = right.completeMultipartUpload(bucket, "small.bin", upload_id, CompleteMultipartUploadRequest(
        [CompletePart(1, etags[0]), CompletePart(2, etags[1])]))
    assert refused.status == 400 and refused.errorCode == "EntityTooSmall"
    right.close()


def test_temporary_aksk_with_a_security_token_in_the_extra(emu, use_conn, bucket):
    use_conn("password")
    password_hook = ObsHook()
    password_hook.exists(f"obs://{bucket}/x")  # fetches temporary keys for OBS
    keys = password_hook.client.credentials.obs_keys()
    assert keys is not None and keys.security_token
    use_conn("aksk", conn_id="obs_sts", security_token=keys.security_token)
    import json

    conn = json.loads(os.environ["AIRFLOW_CONN_OBS_STS"])
    conn.update(login=keys.access, password=keys.secret)
    os.environ["AIRFLOW_CONN_OBS_STS"] = json.dumps(conn)
    sts = ObsHook("obs_sts")
    assert sts.upload_string("with STS", f"obs://{bucket}/sts.txt") and sts.read_text(f"obs://{bucket}/sts.txt") == "with STS"
    conn["extra"]["security_token"] = "not-the-token"
    os.environ["AIRFLOW_CONN_OBS_STS"] = json.dumps(conn)
    with pytest.raises(ModelArtsAuthError, match="InvalidAccessKeyId") as refused:
        ObsHook("obs_sts").read(f"obs://{bucket}/sts.txt")
    assert keys.secret not in str(refused.value)
