"""The emulator's console in a real headless browser (Debian's chromium + chromedriver, through Selenium):
what a person sees. Screenshots go to ``test-artifacts/console/`` (``TEST_ARTIFACTS`` to move them)."""

from __future__ import annotations

import time

import pytest
from helpers import ARTIFACTS_ROOT, unique
from integration.test_lifecycle import TaskInstanceStub, ctx, framework_op

ARTIFACTS = ARTIFACTS_ROOT / "console"
pytestmark = pytest.mark.slow(24)  # seconds in the suite: started first (tests/conftest.py)
SLOW = """
import time
for i in range({lines}):
    print("console-line-%03d" % i, flush=True)
    time.sleep(0.25)
"""


def _wait(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def _job(emu, use_conn, api_version: str, lines: int) -> dict:
    use_conn("aksk", api_version=api_version, retry_backoff=0.05)
    name = unique(f"console{api_version}")
    op = framework_op(emu, name, SLOW.format(lines=lines), wait=False)
    ti = TaskInstanceStub()
    op.execute(ctx(ti))
    return {"name": name, "url": ti.xcoms["modelarts_console_url"], **ti.xcoms}


def _text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_a_job_page_follows_the_job_live_without_a_reload(emu, use_conn, browser, api_version):
    job = _job(emu, use_conn, api_version, lines=24)
    browser.get(job["url"])
    browser.execute_script("window.notReloaded = true;")
    _wait("the job to run", lambda: _text(browser, "status") == "Running")
    _wait("log lines in the page", lambda: "console-line-003" in browser.page_source)
    browser.save_screenshot(str(ARTIFACTS / f"job-{api_version}-running.png"))
    done = "Completed"
    _wait("the status to change to Completed", lambda: _text(browser, "status") == done, 60)
    assert browser.execute_script("return window.notReloaded === true;"), "the page was reloaded"
    assert "console-line-023" in browser.page_source
    timeline = _text(browser, "timeline")
    assert "Created" in timeline and "Started" in timeline and "Completed" in timeline and "UTC" in timeline
    page = browser.find_element("tag name", "body").text
    assert "[airflow-ti" not in page and "Started by an Airflow task." in page
    if api_version == "v2":  # v2's vocabulary: the UUID and phases, no versions or JOBSTAT codes
        assert job["job_id"] in page and "JOBSTAT" not in page and "V0001" not in page
    else:
        assert "V0001" in page and "JOBSTAT_COMPLETED" in page
    assert "Hyperparameter lr" in _text(browser, "parameters")
    assert f"/bucket/{job['name']}/out/" in _text(browser, "io")
    assert _text(browser, "stop") == "Ended"
    browser.save_screenshot(str(ARTIFACTS / f"job-{api_version}-completed.png"))


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_stop_stops_the_job(emu, use_conn, browser, api_version):
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    job = _job(emu, use_conn, api_version, lines=400)
    browser.get(job["url"])
    _wait("the job to run", lambda: _text(browser, "status") == "Running")
    browser.find_element("id", "stop").click()
    stopped = {"v2": "Terminated", "v1": "Killed"}[api_version]
    _wait(f"the status to change to {stopped}", lambda: _text(browser, "status") == stopped, 60)
    browser.save_screenshot(str(ARTIFACTS / f"job-{api_version}-stopped.png"))
    state = ModelArtsHook().get_job(job["job_id"], job.get("version_id")).state
    assert state.outcome.value == "stopped", state


def test_the_job_list_shows_both_apis_in_their_own_vocabulary(emu, use_conn, browser):
    v2 = _job(emu, use_conn, "v2", lines=2)
    v1 = _job(emu, use_conn, "v1", lines=2)
    browser.get(emu.url + "/console")

    def both_rows() -> tuple[str, str] | None:
        """The two jobs' rows; None while the page (it reloads itself every 5 s) is between two loads."""
        from selenium.common.exceptions import StaleElementReferenceException

        try:
            texts = [row.text for row in browser.find_elements("css selector", "#jobs tbody tr")]
        except StaleElementReferenceException:
            return None
        found = [next((text for text in texts if job["name"] in text), None) for job in (v2, v1)]
        return None if None in found else (found[0], found[1])

    v2_row, v1_row = _wait("both jobs in the console's job list", both_rows, 30)
    assert v2["job_id"] in v2_row and "v2" in v2_row and "V0001" not in v2_row
    assert "V0001" in v1_row and f"job {v1['job_id']}" in v1_row and "v1" in v1_row
    assert "UTC" in v1_row and "ago" in v1_row
    browser.find_element("link text", f"{v1['name']} V0001").click()
    _wait("the v1 job page", lambda: v1["name"] in browser.title)
    browser.save_screenshot(str(ARTIFACTS / "job-list-then-page.png"))
