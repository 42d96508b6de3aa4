"""Our signer against huaweicloudsdkcore's (test-only oracle) on a few hundred generated requests."""

from __future__ import annotations

import os
import random
import tempfile

import pytest

from airflow_provider_modelarts import signer

ALPHABET = "abcXYZ019-_.~ +/&=?%#中文é!*'()"


def _oracle():
    os.environ["HOME"] = tempfile.mkdtemp(prefix="sdkhome-")  # the SDK writes ~/.huaweicloud on import
    core = pytest.importorskip("huaweicloudsdkcore.signer.signer")
    from huaweicloudsdkcore.sdk_request import SdkRequest

    return core.Signer, SdkRequest


def _text(rng: random.Random, low: int = 0, high: int = 8) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def _case(rng: random.Random):
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
    path = "/" + "/".join(_text(rng, 1) .replace("/", "x").replace("%", "p") for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.3:
        path += "/"
    query: list[tuple[str, object]] = []
    for _ in range(rng.randint(0, 5)):
        # one value type per key (the SDK itself cannot sort mixed types under one key)
        key = rng.choice(["a", "b", "limit", "flag", "tags", "search_content", _text(rng, 1, 4)])
        value: object = {"limit": rng.randint(0, 99), "flag": rng.random() < 0.5,
                         "tags": [_text(rng, 1), _text(rng, 1)]}.get(key, rng.choice([_text(rng), ""]))
        if key in ("limit", "flag", "tags") and any(k == key for k, _ in query):
            continue
        query.append((key, value))
    headers = {"Content-Type": rng.choice(["application/json", "application/json;charset=UTF-8", "text/plain"]),
               "X-Sdk-Date": "20260101T000000Z"}
    if rng.random() < 0.5:
        headers["X-Project-Id"] = "0123456789abcdef0123456789abcdef"
    if rng.random() < 0.3:
        headers["X-Custom-" + rng.choice("ABC")] = " " + _text(rng, 1) + " "
    if rng.random() < 0.2:
        headers["X_Unsigned"] = "skipped because of the underscore"
    body = _text(rng, 0, 40).encode() if method != "GET" else b""
    return method, path, query, headers, body


def test_matches_huaweicloudsdkcore_on_generated_requests():
    oracle_signer, sdk_request = _oracle()

    class Creds:
        ak, sk = "AKGENERATED", "SKGENERATEDSECRET"

    rng = random.Random(20261127)
    for _ in range(300):
        method, path, query, headers, body = _case(rng)
        # the SDK sorts list values in place: give it its own copies
        sdk_query = [(k, list(v) if isinstance(v, list) else v) for k, v in query]
        req = sdk_request(method=method, schema="https", host="modelarts.example.com:8443",
                          resource_path=path, query_params=sdk_query, header_params=dict(headers), body=body)
        expected = oracle_signer(Creds).sign(req)
        ours, sent_query = signer.sign(method=method, host="modelarts.example.com:8443", path=path,
                                       query=query, headers=headers, body=body,
                                       access_key=Creds.ak, secret_key=Creds.sk)
        assert ours["Authorization"] == expected.header_params["Authorization"], (method, path, query, headers)
        assert (path + ("?" + sent_query if sent_query else "")) == expected.uri
