"""A headless browser for the e2e tests: Debian's chromium + chromedriver through Selenium."""

from __future__ import annotations

import shutil

import pytest
from helpers import ARTIFACTS_ROOT


@pytest.fixture(scope="session")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not shutil.which("chromedriver") or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.fail("Debian's chromium and chromium-driver are needed (scripts/test.sh installs them: apt-get install "
                    "chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    ARTIFACTS_ROOT.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
