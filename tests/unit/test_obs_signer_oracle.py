"""Our OBS signer against the official esdk-obs-python's (test-only oracle) on generated requests.

Random object keys with unicode, spaces and reserved characters; ``x-obs-meta-*`` and other ``x-obs-*``
headers (values with surrounding spaces); query strings mixing sub-resources (``uploadId``, ``partNumber``,
``response-content-type``, ``x-obs-*``) with parameters that are not signed (``prefix``, ``marker``,
``max-keys``); path-style and virtual-hosted buckets; bucket-level and service-level requests.
"""

from __future__ import annotations

import random

import pytest

from airflow_provider_modelarts import obs_signer

KEY_ALPHABET = "abcXYZ019-_.~ +/&=?%#中文é!*'()$@:;,[]{}"


def _oracle(path_style: bool, flavor: obs_signer.Flavor):
    auth = pytest.importorskip("obs.auth")
    from obs.convertor import Adapter

    adapter = Adapter("obs" if flavor is obs_signer.OBS else "v2")
    return lambda ak, sk: auth.Authentication(ak, sk, path_style, adapter, "obs.example.com", False)


def _text(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def _case(rng: random.Random, flavor: obs_signer.Flavor) -> dict:
    p = flavor.header_prefix
    bucket = rng.choice([None, "bucket", "my-bucket.1", "a" * 63])
    key = _text(rng, KEY_ALPHABET, 1, 24) if bucket and rng.random() < 0.85 else None
    headers: dict[str, str] = {"Date": obs_signer.http_date(1_700_000_000 + rng.randint(0, 10**6))}
    if rng.random() < 0.5:
        headers["Content-Type"] = rng.choice(["application/octet-stream", "text/plain; charset=utf-8"])
    if rng.random() < 0.3:
        headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="
    for _ in range(rng.randint(0, 3)):
        headers[f"{p}meta-{_text(rng, 'abcdef-', 1, 6)}"] = rng.choice(["v", "  padded  ", "a b", ""])
    if rng.random() < 0.3:
        headers[f"{p}security-token"] = _text(rng, "ABCxyz0123456789-_", 20, 40)
    if rng.random() < 0.2:
        headers[f"{p}copy-source"] = "/src/" + obs_signer.quote_key(_text(rng, KEY_ALPHABET, 1, 8))
    if rng.random() < 0.2:
        headers[f"{p}date"] = headers.pop("Date")
    if rng.random() < 0.2:
        headers["User-Agent"] = "not-signed/1.0"
    query: dict[str, str | None] = {}
    for name in rng.sample(["uploads", "uploadId", "partNumber", "response-content-type", "versionId",
                            f"{p}image-process", "prefix", "marker", "max-keys", "delimiter", "acl"],
                           rng.randint(0, 4)):
        query[name] = None if name in ("uploads", "acl") else rng.choice(["1", "abcDEF123", "text/plain", "a b"])
    return {"method": rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"]), "bucket": bucket, "key": key,
            "headers": headers, "query": query}


@pytest.mark.parametrize("flavor", [obs_signer.OBS, obs_signer.S3], ids=["obs", "s3"])
@pytest.mark.parametrize("path_style", [True, False])
def test_signatures_equal_the_official_sdk(path_style: bool, flavor: obs_signer.Flavor) -> None:
    make = _oracle(path_style, flavor)
    rng = random.Random(20261128 + path_style)
    for i in range(400):
        case = _case(rng, flavor)
        ak, sk = _text(rng, "ABCDEFGHIJ0123456789", 20, 20), _text(rng, "abcXYZ0189+/=", 40, 40)
        official = make(ak, sk).getSignature(case["method"], case["bucket"], case["key"], dict(case["query"]),
                                             dict(case["headers"]))
        ours = obs_signer.string_to_sign(case["method"], obs_signer.canonical_resource(
            case["bucket"], case["key"], case["query"].items(), path_style=path_style, flavor=flavor),
            case["headers"], flavor)
        assert ours == official["CanonicalString"], (i, case)
        signed = obs_signer.sign(method=case["method"], bucket=case["bucket"], key=case["key"],
                                 query=case["query"].items(), headers=case["headers"], access_key=ak,
                                 secret_key=sk, path_style=path_style, flavor=flavor)
        assert signed["Authorization"] == f"{flavor.auth_prefix} {ak}:{official['Signature']}", (i, case)
        # and the verifier accepts exactly that signature, and nothing tampered
        now = obs_signer.email.utils.parsedate_to_datetime(
            case["headers"].get("Date") or case["headers"][f"{flavor.header_prefix}date"]).timestamp()
        auth = obs_signer.ObsAuthorization.parse(signed["Authorization"])
        assert auth is not None and auth.access_key == ak and auth.flavor is flavor
        obs_signer.verify(method=case["method"], bucket=case["bucket"], key=case["key"],
                          query=case["query"].items(), headers=signed, secret_key=sk, auth=auth,
                          path_style=path_style, now=now)
        tampered = dict(signed, **{f"{flavor.header_prefix}meta-extra": "1"})
        with pytest.raises(obs_signer.ObsSignatureError, match="SignatureDoesNotMatch"):
            obs_signer.verify(method=case["method"], bucket=case["bucket"], key=case["key"],
                              query=case["query"].items(), headers=tampered, secret_key=sk, auth=auth,
                              path_style=path_style, now=now)


def test_the_documented_example() -> None:
    """obs_04_0010, first example: GET /object.txt of 'bucket' on a virtual-hosted endpoint."""
    text = obs_signer.string_to_sign("GET", obs_signer.canonical_resource("bucket", "object.txt", (),
                                                                            path_style=False),
                                     {"Date": "Sat, 12 Oct 2015 08:12:38 GMT"})
    assert text == "GET\n\n\nSat, 12 Oct 2015 08:12:38 GMT\n/bucket/object.txt"


def test_skew_and_missing_dates_are_refused() -> None:
    headers = obs_signer.sign(method="GET", bucket="b", key="k", query=(), headers={}, access_key="AK",
                              secret_key="SK", path_style=True)
    auth = obs_signer.ObsAuthorization.parse(headers["Authorization"])
    with pytest.raises(obs_signer.ObsSignatureError, match="RequestTimeTooSkewed"):
        obs_signer.verify(method="GET", bucket="b", key="k", query=(), headers=headers, secret_key="SK", auth=auth,
                          path_style=True, now=obs_signer.time.time() + 16 * 60)
    with pytest.raises(obs_signer.ObsSignatureError, match="neither a Date"):
        obs_signer.verify(method="GET", bucket="b", key="k", query=(), headers={"Authorization": "x"},
                          secret_key="SK", auth=auth, path_style=True)
