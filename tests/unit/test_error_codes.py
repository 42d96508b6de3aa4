"""Issue #10 item 11: the error-code tables follow the API reference's error-code appendix."""

from __future__ import annotations

import json

import pytest

from airflow_provider_modelarts.exceptions import ModelArtsNotFoundError
from airflow_provider_modelarts.hooks.http import ApiRequest, RawResponse, error_for, is_retryable


def answer(status: int, code: str) -> RawResponse:
    return RawResponse(status, {}, json.dumps({"error_code": code, "error_msg": "x"}).encode())


def test_workspace_missing_is_not_a_missing_job():
    err = error_for(answer(400, "ModelArts.0102"))
    assert err is not None and not isinstance(err, ModelArtsNotFoundError)


def test_v2_job_not_found_is_http_400_2775():
    assert isinstance(error_for(answer(400, "ModelArts.2775")), ModelArtsNotFoundError)


@pytest.mark.parametrize("code", ["ModelArts.4700", "ModelArts.4205", "ModelArts.4503"])
def test_permanent_400s_are_not_retried(code):
    err = error_for(answer(400, code))
    assert not is_retryable(request=ApiRequest("GET", "/x"), error=err)


@pytest.mark.parametrize(("status", "code"), [(408, "ModelArts.6100"), (500, "ModelArts.4302"),
                                              (429, "ModelArts.2799"), (429, "ModelArts.6101")])
def test_documented_transient_codes_are_retried(status, code):
    assert is_retryable(request=ApiRequest("GET", "/x"), error=error_for(answer(status, code)))
