"""The signer against the fixed vectors of shared/modelarts-api.md §4.2."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_modelarts import signer

P = "0123456789abcdef0123456789abcdef"
HOST = "modelarts.cn-north-4.myhuaweicloud.com"
DATE = "20260101T000000Z"
AK, SK = "AKTESTEXAMPLE", "SKTESTEXAMPLESECRET"


def _headers(content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, "X-Project-Id": P, "X-Sdk-Date": DATE}


def test_vector0_official_example():
    headers, query = signer.sign(
        method="GET",
        host="service.region.example.com",
        path="/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        query=[("marker", "13551d6b-755d-4757-b956-536f674975c0"), ("limit", "2")],
        headers={"Content-Type": "application/json", "X-Sdk-Date": "20191115T033655Z"},
        access_key="QTWAOYTTINDUT2QVKYUC",
        secret_key="MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
    )
    assert headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )
    assert query == "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"


def test_vector1_canonical_request_verbatim():
    pairs = [("status", "8"), ("per_page", "10"), ("page", "1"), ("sortBy", "job_name"), ("order", "asc"),
             ("search_content", "job")]
    headers = {**_headers(), "Host": HOST}
    query = signer.canonical_query_string(pairs)
    canonical = signer.canonical_request("GET", f"/v1/{P}/training-jobs", query, headers,
                                         signer.signed_header_names(headers), b"")
    assert canonical == (
        f"GET\n/v1/{P}/training-jobs/\n"
        "order=asc&page=1&per_page=10&search_content=job&sortBy=job_name&status=8\n"
        f"content-type:application/json\nhost:{HOST}\nx-project-id:{P}\nx-sdk-date:{DATE}\n\n"
        "content-type;host;x-project-id;x-sdk-date\n" + signer.EMPTY_HASH
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "d5436f55bd2633426e7a1e152cea2514a2d6ced42ee6296348ce767099d27a6b"
    )
    out, sent_query = signer.sign(method="GET", host=HOST, path=f"/v1/{P}/training-jobs", query=pairs,
                                  headers=_headers(), access_key=AK, secret_key=SK)
    assert sent_query == "order=asc&page=1&per_page=10&search_content=job&sortBy=job_name&status=8"
    assert out["Authorization"].endswith(
        "Signature=aaf58e92116e867bedb36a317186870cd081cbc1bce1a1f9148ee0599df85b9c")


def test_vector2_post_body():
    body = (
        b'{"job_name":"TestModelArtsJob","job_desc":"This is a ModelArts job","config":{"worker_server_num":1,'
        b'"app_url":"/bucket/code/","boot_file_url":"/bucket/code/train.py","parameter":[{"label":'
        b'"learning_rate","value":"0.01"}],"data_url":"/bucket/data/","train_url":"/bucket/output/",'
        b'"log_url":"/bucket/log/","spec_id":1,"engine_id":1}}'
    )
    assert hashlib.sha256(body).hexdigest() == "6685870b272e99a7d81f68a5861bfe2cb26ccc3ccc041f2489b02fb59542b5c9"
    out, _ = signer.sign(method="POST", host=HOST, path=f"/v1/{P}/training-jobs",
                         headers=_headers("application/json;charset=UTF-8"), body=body,
                         access_key=AK, secret_key=SK)
    assert out["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        "Signature=718a62c6cd9b96f8b0045ce8b7d6282141b0b98e4719040b530d64119bce6233"
    )


@pytest.mark.parametrize("path", [f"/v1/{P}/training-jobs/10/versions/10/aom-log/",
                                  f"/v1/{P}/training-jobs/10/versions/10/aom-log"])
def test_vector3_special_characters_and_trailing_slash(path):
    pairs = [("log_file", "job a+b/c~d.0"), ("lines", "50"), ("order", "desc"), ("base_line", ""),
             ("search_content", "中文 & =")]
    out, query = signer.sign(method="GET", host=HOST, path=path, query=pairs, headers=_headers(),
                             access_key=AK, secret_key=SK)
    assert query == ("base_line=&lines=50&log_file=job%20a%2Bb%2Fc~d.0&order=desc"
                     "&search_content=%E4%B8%AD%E6%96%87%20%26%20%3D")
    assert out["Authorization"].endswith(
        "Signature=c06a6e3d636be86ded7bfb074918632d5c1f04eb2c74f598d1e8e4747b0617c2")


def test_non_json_content_type_is_unsigned_payload():
    out, _ = signer.sign(method="PUT", host=HOST, path="/x", headers={"Content-Type": "text/plain"},
                         body=b"abc", access_key=AK, secret_key=SK)
    assert out[signer.HEADER_CONTENT_SHA] == "UNSIGNED-PAYLOAD"
    assert "x-sdk-content-sha256" in out["Authorization"]


def test_verify_roundtrip_and_tamper():
    out, query = signer.sign(method="POST", host=HOST, path="/v1/p/x", query=[("a", "1")],
                             headers={"Content-Type": "application/json"}, body=b"{}",
                             access_key=AK, secret_key=SK)
    auth = signer.AuthorizationHeader.parse(out["Authorization"])
    assert auth is not None and auth.access_key == AK
    signer.verify(method="POST", path="/v1/p/x", query=[("a", "1")], headers=out, body=b"{}",
                  secret_key=SK, auth=auth)
    with pytest.raises(signer.SignatureError, match="verify aksk signature fail"):
        signer.verify(method="POST", path="/v1/p/x", query=[("a", "2")], headers=out, body=b"{}",
                      secret_key=SK, auth=auth)
    stale = {**out, "X-Sdk-Date": "20200101T000000Z"}
    with pytest.raises(signer.SignatureError, match="15 minutes"):
        signer.verify(method="POST", path="/v1/p/x", query=[("a", "1")], headers=stale, body=b"{}",
                      secret_key=SK, auth=auth)


def test_sign_requires_both_keys():
    with pytest.raises(ValueError, match="access key and a secret key"):
        signer.sign(method="GET", host=HOST, path="/", access_key="", secret_key=SK)
