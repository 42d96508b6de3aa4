"""Asset outlets carry the finished job in their event's extra (the e2e suite checks a consumer DAG runs)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.assets import Asset
from helpers import TRAIN_FAIL, unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op

from airflow_provider_modelarts.exceptions import ModelArtsJobError


def _events():
    return defaultdict(lambda: SimpleNamespace(extra={}))


def test_a_successful_training_annotates_each_asset_outlet(emu, use_conn):
    use_conn("aksk", api_version="v1", retry_backoff=0.05)
    model, report = Asset("obs://bucket/models/"), Asset("obs://bucket/reports/")
    op = framework_op(emu, unique("asset"), wait=True, outlets=[model, report, "not an asset"])
    events = _events()
    result = op.execute({**ctx(TaskInstanceStub()), "outlet_events": events})
    for asset in (model, report):
        extra = events[asset].extra
        assert extra["job_id"] == result["job_id"] and extra["version_name"] == "V0001"
        assert extra["train_url"] == result["train_url"] and extra["status_name"] == "JOBSTAT_COMPLETED"
    assert set(events) == {model, report}


def test_a_failed_training_annotates_nothing(emu, use_conn):
    use_conn("aksk", api_version="v2", retry_backoff=0.05)
    model = Asset("obs://bucket/models/")
    op = framework_op(emu, unique("assetfail"), TRAIN_FAIL, wait=True, outlets=[model])
    events = _events()
    with pytest.raises(ModelArtsJobError):
        op.execute({**ctx(TaskInstanceStub()), "outlet_events": events})
    assert dict(events) == {}
