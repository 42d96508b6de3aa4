"""The default IAM endpoint per region equals the official SDK's choice (issue #10, cosmetic item)."""

from __future__ import annotations

import pytest
from huaweicloudsdkcore.auth.internal import IamHelper

from airflow_provider_modelarts.hooks.connection import REGIONAL_IAM, default_iam_endpoint

REGIONS = sorted(REGIONAL_IAM | {"af-north-1", "cn-southwest-3", "cn-north-11", "eu-west-101", "xx-nowhere-1"})


@pytest.mark.parametrize("region", REGIONS)
def test_default_iam_endpoint_matches_huaweicloudsdkcore(region, monkeypatch):
    monkeypatch.delenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", raising=False)
    assert default_iam_endpoint(region) == IamHelper.get_iam_endpoint(region)
