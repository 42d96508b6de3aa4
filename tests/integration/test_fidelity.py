"""Issue #10: what the provider sends and how it reads answers, item by item, against the documented API.

Each test names the item it covers; each failed before its fix.
"""

from __future__ import annotations

import asyncio

import pytest
from helpers import unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op, lines  # noqa: F401

from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

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
        trigger = TrainingJobTrigger(job_id=result["job_id"], version_id=result["version_id"], poll_interval=0.1)
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success", event
