"""End to end through real Airflow components: api-server, scheduler, dag-processor, triggerer (LocalExecutor,
PostgreSQL) and the emulator, all started here on loopback and stopped by PID, pass or fail. The scenarios that
share a stack run at once, as a busy deployment's DAGs do."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pg_server
import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

from airflow_provider_modelarts.emulator import ModelArtsEmulator

pytestmark = [pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the example DAGs and this setup target Airflow 3"),
              pytest.mark.slow(200)]  # seconds in the suite: started first (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: the connection this process checks the emulator with (the components have their own)
CHECK_CONN = "e2e_emulator"
DAG_IDS = ("modelarts_quickstart", "modelarts_retry", "modelarts_seed_examples", "modelarts_train_model",
           "modelarts_on_new_model", "e2e_kill", "e2e_reschedule",
           "e2e_rerun_operator", "e2e_rerun_sync", "e2e_rerun_sensor", "e2e_wrong_sk", "e2e_triggerer_restart", "e2e_sensor_failure", "e2e_config_error")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Airflow:
    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home, self.env, self.port = home, env, port
        self.processes: dict[str, subprocess.Popen] = {}
        self.api_version = "v2"

    def start(self) -> None:
        subprocess.run([AIRFLOW, "db", "migrate"], env=self.env, check=True, capture_output=True, timeout=300)
        for name in COMPONENTS:
            self.start_component(name)

    def start_component(self, name: str) -> None:
        args = [AIRFLOW, name] + (["--port", str(self.port)] if name == "api-server" else [])
        log = (self.home / f"{name}.out").open("ab")
        self.processes[name] = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)

    def stop_component(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Stop one component the way an operator does (``kill <pid>``) and wait until it has exited."""
        proc = self.processes[name]
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        """The end of the module: SIGTERM, and SIGKILL for what has not exited 5 s later (nothing of the stack is
        kept; a graceful stop is what ``stop_component`` tests)."""
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v2{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def wait_for(self, what: str, check, timeout: float, interval: float = 1.0,
                 task: tuple[str, str, str] | None = None):
        """Poll ``check`` until truthy; on timeout fail with the components' output and ``task``'s logs
        (dag_id, run_id, task_id: the worker's and the triggerer's part)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = check()
                if last:
                    return last
            except OSError as err:
                last = err
            time.sleep(interval)
        tails = {name: (self.home / f"{name}.out").read_text(errors="replace")[-3000:] for name in COMPONENTS}
        if task is not None:
            tails.update({f"task log {name}": text[-6000:] for name, text in self.task_logs(*task).items()})
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}\n" + "\n".join(
            f"--- {n} ---\n{t}" for n, t in tails.items()))

    def trigger(self, dag_id: str) -> str:
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        return self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def ti(self, dag_id: str, run_id: str, task_id: str) -> dict:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str):
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")["value"]

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return {p.name: p.read_text(errors="replace") for p in sorted(folder.glob("*"))} if folder.exists() else {}


#: this module's API version; ``test_airflow_e2e_v1.py`` runs the same tests on a v1 stack. One module per version:
#: pytest-xdist (``--dist loadfile``) runs a module's tests on one worker, so the two stacks start once each, at once
API_VERSION = "v2"


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """The whole stack for the module's ``API_VERSION``: the example DAGs are the same, only the connection
    differs."""
    api_version = request.module.API_VERSION
    home = tmp_path_factory.mktemp("airflow-e2e")
    dags = home / "dags"
    shutil.copytree(REPO / "example_dags", dags)
    for extra in (Path(__file__).parent / "dags").glob("e2e_*.py"):
        shutil.copy(extra, dags / extra.name)
    # jobs queue for ~10 s (INIT → WAITING → RUNNING), as on the real service: on a loaded 2-core machine a
    # sensor can start several seconds after its job was submitted, and it must still find the job running
    emu = ModelArtsEmulator(root=home / "emulator", step_delay=5.0, kill_grace=2.0).start()
    airflow = None
    database = contextlib.ExitStack()
    try:
        if not pg_server.available():
            pytest.fail("the e2e stack's metadata DB is PostgreSQL: Debian's postgresql and the test extra's psycopg2 "
                        "+ asyncpg are needed (scripts/test.sh installs them)")
        # PostgreSQL, as in production: the scenarios run DAGs at once, and SQLite answers "database is locked"
        sql_url, _ = database.enter_context(pg_server.server(durable=False))
        emu.add_dataset("demo-dataset", "v1", "/modelarts-demo/seed/dataset/v1/")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update({
            "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_url,
            "AIRFLOW__CORE__PARALLELISM": "12", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "300",
            "AIRFLOW_CONN_MODELARTS_DEFAULT": emu.conn_json("aksk", api_version=api_version),
            "AIRFLOW_CONN_MODELARTS_WRONG_SK": json.dumps({**emu.conn_dict("aksk", api_version),
                                                           "password": "not-the-secret-key-000000000000000000000"}),
            "MODELARTS_LOCKOUT_DIR": str(home / "lockout"),
            # OpenLineage events of every task, as the OpenLineage provider emits them, into one file
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "append": True,
                                                           "log_file_path": str(home / "openlineage.jsonl")}),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "e2e",
        })
        (emu.obs_root / "modelarts-demo").mkdir(parents=True, exist_ok=True)  # the e2e DAGs' bucket
        port = _free_port()
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
        # the log servers of the scheduler's workers and of the triggerer: ports of their own, so that two stacks
        # (pytest-xdist) or a benchmark's triggerer can run beside this one
        env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(_free_port())
        env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(_free_port())
        airflow = Airflow(home, env, port)
        airflow.api_version = api_version
        airflow.start()
        airflow.wait_for("the api-server", lambda: airflow.api("GET", "/monitor/health"), 90)
        airflow.wait_for("the DAGs to be parsed", lambda: {d["dag_id"] for d in airflow.api("GET", "/dags")["dags"]}
                         >= set(DAG_IDS), 120)
        # this process's own hook calls (checking remote job states) use the stack's emulator through a connection
        # of their own, set once: scenarios run in threads, beside tests whose fixtures reset modelarts_default
        os.environ[f"AIRFLOW_CONN_{CHECK_CONN.upper()}"] = emu.conn_json(api_version=api_version)
        yield airflow, emu
    finally:
        os.environ.pop(f"AIRFLOW_CONN_{CHECK_CONN.upper()}", None)
        if airflow is not None:
            airflow.stop()
        emu.stop()
        database.close()


#: The scenarios that share a stack run at once, ``WORKERS`` at a time, each in a thread (most of their time is
#: waiting for Airflow and for jobs); each has a test that reports its outcome. The tests that must be alone run
#: after all of them (fixture ``alone``): restarting the triggerer, counting bad signatures, searching every log.
#: (all ten at once start ~15 task processes together: on 2 cores beside the rest of the suite the triggerer then
#: falls ~20 s behind, and a cleared task's job can end before its next try starts)
WORKERS = 4
SCENARIOS: dict[str, Callable[[Scenarios], None]] = {}
LONGEST = ("examples", "clear_deferred_operator", "clear_sync_operator", "clear_sensor")


def scenario(name: str) -> Callable:
    def register(fn: Callable) -> Callable:
        SCENARIOS[name] = fn
        return fn
    return register


class Scenarios:
    def __init__(self, airflow: Airflow, emu: ModelArtsEmulator) -> None:
        self.airflow, self.emu = airflow, emu
        self.quickstart_run: str | None = None  # the example scenario's quickstart run (OpenLineage reads it)
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="e2e-scenario")
        # the longest first (a job held until the scenario releases it, after 10 s in the queue; or three DAGs); the
        # OpenLineage scenario waits for the example scenario: it goes last, not to hold a worker early
        order = sorted(SCENARIOS, key=lambda name: (name == "openlineage", name not in LONGEST))
        self.futures = {name: self.pool.submit(SCENARIOS[name], self) for name in order}

    def result(self, name: str) -> None:
        """The scenario's outcome: returns when it passed, raises its assertion error when it failed."""
        self.futures[name].result()

    def settle(self) -> None:
        wait(self.futures.values())


@pytest.fixture(scope="module")
def scenarios(stack):
    runner = Scenarios(*stack)
    yield runner
    runner.settle()
    runner.pool.shutdown()


@pytest.fixture
def alone(scenarios):
    """The stack once every concurrent scenario has ended."""
    scenarios.settle()
    return scenarios.airflow, scenarios.emu


def _wait_run(airflow: Airflow, dag_id: str, run_id: str, timeout: float = 180) -> str:
    return airflow.wait_for(f"{dag_id} {run_id} to finish",
                            lambda: (s := airflow.run_state(dag_id, run_id)) in ("success", "failed") and s, timeout)


def test_example_dags_have_no_import_errors(stack):
    airflow, _ = stack
    errors = airflow.api("GET", "/importErrors")
    assert errors["total_entries"] == 0, errors


@scenario("examples")
def _examples(s: Scenarios) -> None:
    airflow = s.airflow
    runs = {dag_id: airflow.trigger(dag_id) for dag_id in ("modelarts_quickstart", "modelarts_retry",
                                                           "modelarts_seed_examples")}
    # watch the deferrable sensor: it must sit in "deferred" (no worker slot) while the job trains
    sensor_states: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = airflow.ti("modelarts_quickstart", runs["modelarts_quickstart"], "wait_for_training")["state"]
        sensor_states.add(state)
        if state in ("success", "failed", "upstream_failed"):
            break
        time.sleep(1.0)  # the sensor defers for ~10 s: a poll a second sees it; each poll costs the api-server
    for dag_id, run_id in runs.items():
        assert _wait_run(airflow, dag_id, run_id) == "success", (dag_id, airflow.task_logs(dag_id, run_id, "train"))

    quick = s.quickstart_run = runs["modelarts_quickstart"]
    # the job trains ~10 s after ~10 s in the queue: the sensor starts while it runs, even on a loaded machine
    assert "deferred" in sensor_states and "success" in sensor_states, (
        sensor_states, airflow.task_logs("modelarts_quickstart", quick, "wait_for_training"))
    job_id = airflow.xcom("modelarts_quickstart", quick, "train", "job_id")
    if airflow.api_version == "v1":
        version_id = airflow.xcom("modelarts_quickstart", quick, "train", "version_id")
        assert isinstance(job_id, int) and isinstance(version_id, int)
    else:  # v2 jobs: a UUID and no version
        assert isinstance(job_id, str) and len(job_id) == 36
    sensor_logs = airflow.task_logs("modelarts_quickstart", quick, "wait_for_training")
    trigger_logs = [text for name, text in sensor_logs.items() if ".trigger." in name]
    assert trigger_logs, f"no trigger log among {list(sensor_logs)}"
    # the job's 22 lines, each once in the sensor's logs: in the worker's before it deferred, in the trigger's
    # while the job ran, and in the worker's again after it resumed (what the trigger read after the job ended)
    printed = re.findall(r"\] (loaded|epoch \d+/20|training finished)\b", "".join(sensor_logs.values()))
    assert sorted(printed) == sorted(["loaded", *(f"epoch {i}/20" for i in range(1, 21)), "training finished"]), \
        printed

    retry = runs["modelarts_retry"]
    result = airflow.xcom("modelarts_retry", retry, "train", "return_value")
    if airflow.api_version == "v1":
        assert (result["version_name"], result["status_name"]) == ("V0002", "JOBSTAT_COMPLETED")
    else:  # the retry is a second job, named after the attempt
        assert result["job_name"].endswith("-a2") and result["status_name"] == "Completed"
    retry_logs = airflow.task_logs("modelarts_retry", retry, "train")
    first_try = "".join(text for name, text in retry_logs.items() if name.startswith("attempt=1"))
    assert "RuntimeError: CUDA out of memory (simulated)" in first_try
    assert any(name.startswith("attempt=2") for name in retry_logs)

    for task_id in ("obs_inputs", "dataset", "custom_image", "built_in"):
        value = airflow.xcom("modelarts_seed_examples", runs["modelarts_seed_examples"], task_id, "return_value")
        assert value["status_name"] in ("JOBSTAT_COMPLETED", "Completed"), task_id


def _click(airflow: Airflow, browser, what: str, xpath: str, then=None) -> None:
    """Click the element ``xpath`` finds, retrying while the page re-renders (React replaces elements)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    def attempt() -> bool:
        try:
            found = browser.find_elements(By.XPATH, xpath)
            if not found:
                return False
            found[0].click()
            if then is not None:
                then(found[0])
            return True
        except (StaleElementReferenceException, WebDriverException):
            return False
    airflow.wait_for(what, attempt, 60, interval=0.5)


def test_the_connection_form_in_the_airflow_ui_shows_every_field_with_its_help(stack, browser):
    """Airflow's own UI, as a person uses it: Admin → Connections → Add, type "Huawei Cloud ModelArts"."""
    from helpers import ARTIFACTS_ROOT
    from selenium.webdriver.common.by import By

    from airflow_provider_modelarts.get_provider_info import get_provider_info

    airflow, emu = stack
    fields = get_provider_info()["connection-types"][0]["conn-fields"]
    browser.get(f"http://127.0.0.1:{airflow.port}/connections")
    _click(airflow, browser, "the Add Connection button", "//button[normalize-space(.)='Add Connection']")
    _click(airflow, browser, "the connection type box", "//*[@role='combobox']",
           then=lambda box: box.send_keys("modelarts"))
    _click(airflow, browser, "our connection type", "//*[@role='option'][normalize-space(.)='Huawei Cloud ModelArts']")
    airflow.wait_for("login/password relabelled", lambda: "AK or IAM user name" in (t := browser.find_element(
        By.TAG_NAME, "body").text) and "SK or IAM password" in t, 30, interval=0.5)
    _click(airflow, browser, "the Extra Fields section", "//*[normalize-space(text())='Extra Fields']")
    page = airflow.wait_for("the extra fields", lambda: (t := browser.find_element(By.TAG_NAME, "body").text)
                            and "Console URL" in t and t, 30, interval=0.5)
    browser.save_screenshot(str(ARTIFACTS_ROOT / "airflow-connection-form.png"))
    missing = [f["label"] for f in fields.values() if f["label"] not in page or f["description"] not in page]
    assert not missing, missing


@scenario("openlineage")
def _openlineage(s: Scenarios) -> None:
    """The events the OpenLineage provider emitted for the quickstart's train and sensor tasks (file transport)."""
    airflow = s.airflow
    events_file = airflow.home / "openlineage.jsonl"
    s.result("examples")  # the example scenario's quickstart run, not another one beside it
    run_id = s.quickstart_run
    job_id = airflow.xcom("modelarts_quickstart", run_id, "train", "job_id")

    def complete(job_name: str) -> dict | None:
        for line in events_file.read_text().splitlines() if events_file.exists() else []:
            event = json.loads(line)
            if event.get("eventType") == "COMPLETE" and event["job"]["name"] == job_name and \
                    event["run"]["facets"].get("modelarts_training_run", {}).get("job_id") == str(job_id):
                return event
        return None

    train = airflow.wait_for("the train task's COMPLETE event", lambda: complete("modelarts_quickstart.train"), 30)
    assert [(d["namespace"], d["name"].split("/")[:2]) for d in train["inputs"]] == [
        ("obs://modelarts-demo", ["quickstart", "data"])]
    assert [(d["namespace"], d["name"].split("/")[:2]) for d in train["outputs"]] == [
        ("obs://modelarts-demo", ["quickstart", "output"])]
    facet = train["job"]["facets"]["modelarts_training"]
    assert facet["engine"] == "PyTorch PyTorch-1.0.0-python3.6" and facet["flavor"] == "modelarts.vm.cpu.2u"
    assert facet["api_version"] == airflow.api_version
    waited = airflow.wait_for("the sensor's COMPLETE event", lambda: complete("modelarts_quickstart.wait_for_training"),
                              30)
    assert waited["run"]["facets"]["modelarts_training_run"]["outcome"] == "success"


@scenario("asset")
def _asset(s: Scenarios) -> None:
    airflow = s.airflow
    airflow.api("PATCH", "/dags/modelarts_on_new_model", {"is_paused": False})
    run_id = airflow.trigger("modelarts_train_model")
    assert _wait_run(airflow, "modelarts_train_model", run_id) == "success", \
        airflow.task_logs("modelarts_train_model", run_id, "train")
    job_id = airflow.xcom("modelarts_train_model", run_id, "train", "job_id")
    consumer = airflow.wait_for("the asset to schedule modelarts_on_new_model", lambda: [
        r for r in airflow.api("GET", "/dags/modelarts_on_new_model/dagRuns")["dag_runs"]
        if r["run_type"] == "asset_triggered"], 90)[0]
    assert _wait_run(airflow, "modelarts_on_new_model", consumer["dag_run_id"]) == "success", \
        airflow.task_logs("modelarts_on_new_model", consumer["dag_run_id"], "use_new_model")
    used = airflow.xcom("modelarts_on_new_model", consumer["dag_run_id"], "use_new_model", "return_value")
    assert used["job_id"] == job_id and used["train_url"] == "obs://modelarts-demo/asset-demo/model/"
    assert used["rows"] == 4 and "accuracy" in used  # the metrics the job wrote, read back through ObsHook


@scenario("kill")
def _kill(s: Scenarios) -> None:
    airflow = s.airflow
    run_id = airflow.trigger("e2e_kill")
    airflow.wait_for("the training to run", lambda: airflow.ti("e2e_kill", run_id, "train")["state"] == "running"
                     and "still training" in "".join(airflow.task_logs("e2e_kill", run_id, "train").values()), 120,
                     interval=1.0)
    job_id = airflow.xcom("e2e_kill", run_id, "train", "job_id")
    version_id = airflow.xcom("e2e_kill", run_id, "train", "version_id") if airflow.api_version == "v1" else None
    airflow.api("PATCH", f"/dags/e2e_kill/dagRuns/{run_id}/taskInstances/train", {"new_state": "failed"})
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    stopped = "JOBSTAT_KILLED" if airflow.api_version == "v1" else "Terminated"
    hook = ModelArtsHook(modelarts_conn_id=CHECK_CONN)
    airflow.wait_for("the remote job to be stopped", lambda: hook.get_job(job_id, version_id).state.name == stopped,
                     60)
    assert "Asked ModelArts to stop" in "".join(airflow.task_logs("e2e_kill", run_id, "train").values())


@scenario("reschedule")
def _reschedule(s: Scenarios) -> None:
    airflow = s.airflow
    run_id = airflow.trigger("e2e_reschedule")
    assert _wait_run(airflow, "e2e_reschedule", run_id, timeout=120) == "success"
    attempts = airflow.task_logs("e2e_reschedule", run_id, "wait")
    text = "".join(attempts.values())
    expected = [f"{i:02d}" for i in range(40)]
    # Airflow 3.3 + LocalExecutor under load can overrule a poke with the previous poke's late "finished" event
    # (see the DAG): a retry continues from the saved cursor, so no line repeats — unless the overruled poke was
    # the last one, which saw the job end, printed the last lines and removed the cursor before Airflow refused
    # its success ("Failed to report terminal task state"): then the retry prints the log again, in its own
    # attempt (a known gap: the note of #14). Each attempt prints each line at most once.
    seen: list[str] = []
    overruled_at_the_end = False
    for name, log in sorted(attempts.items()):
        lines = re.findall(r"reschedule-line-(\d\d)", log)
        assert len(lines) == len(set(lines)), (name, lines)
        if overruled_at_the_end:
            seen = []
        seen += lines
        overruled_at_the_end = sorted(seen) == expected and "Failed to report terminal task state" in log
    assert sorted(seen) == expected, (list(attempts), seen)
    pokes = text.count("Filling up the DagBag")  # one per task process: the sensor was rescheduled between pokes
    assert pokes >= 2, text[-2000:]


# ---------------------------------------------------------------------------------------------- re-runs (#11)
def _deferred_with_job(airflow: Airflow, dag_id: str, run_id: str, task_id: str, lines: int = 3,
                       state: str = "deferred") -> None:
    """Wait until the task is deferred (or ``state``) and its job has printed some lines into the task log."""
    def ready() -> bool:
        if airflow.ti(dag_id, run_id, task_id)["state"] != state:
            return False
        text = "".join(airflow.task_logs(dag_id, run_id, task_id).values())
        return len(set(re.findall(r"rerun-line-\d{3}", text))) >= lines
    airflow.wait_for(f"{dag_id}.{task_id} to be deferred with its job running", ready, 150, interval=1.0)


def _release(emu, run_id: str) -> None:
    """Let the DAG run's job end (RUN_RELEASE in dags/e2e_rerun.py)."""
    name = "release-" + run_id.replace(":", "").replace("+", "").replace(".", "")
    emu.obs_path(f"/modelarts-demo/e2e-rerun/data/{name}").write_text("")


def _clear(airflow: Airflow, dag_id: str, run_id: str, task_id: str) -> None:
    airflow.api("POST", f"/dags/{dag_id}/clearTaskInstances", {
        "dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False,
        "reset_dag_runs": True})


def _remote_state(airflow: Airflow, emu, job_id, version_id=None) -> str:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    return ModelArtsHook(modelarts_conn_id=CHECK_CONN).get_job(job_id, version_id).state.name


def _ids(airflow: Airflow, dag_id: str, run_id: str) -> tuple:
    job_id = airflow.xcom(dag_id, run_id, "train", "job_id")
    return job_id, (airflow.xcom(dag_id, run_id, "train", "version_id") if airflow.api_version == "v1" else None)


def _line_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in re.findall(r"rerun-line-\d{3}", text):
        counts[line] = counts.get(line, 0) + 1
    return counts


COMPLETED = {"v1": "JOBSTAT_COMPLETED", "v2": "Completed"}
STOPPED = {"v1": "JOBSTAT_KILLED", "v2": "Terminated"}


@scenario("clear_deferred_operator")
def _clear_deferred_operator(s: Scenarios) -> None:
    _clear_operator(s, "e2e_rerun_operator", "deferred")


@scenario("clear_sync_operator")
def _clear_sync_operator(s: Scenarios) -> None:
    _clear_operator(s, "e2e_rerun_sync", "running")


def _clear_operator(s: Scenarios, dag_id: str, state: str) -> None:
    airflow, emu = s.airflow, s.emu
    run_id = airflow.trigger(dag_id)
    _deferred_with_job(airflow, dag_id, run_id, "train", state=state)
    ids = _ids(airflow, dag_id, run_id)
    _clear(airflow, dag_id, run_id, "train")
    airflow.wait_for("the next try to reattach (or train again)", lambda: any(
        name.startswith("attempt=2") and ("Reattaching to" in text or "creating a new one" in text)
        for name, text in airflow.task_logs(dag_id, run_id, "train").items()), 150, task=(dag_id, run_id, "train"))
    _release(emu, run_id)
    assert _wait_run(airflow, dag_id, run_id) == "success", airflow.task_logs(dag_id, run_id, "train")
    ti = airflow.ti(dag_id, run_id, "train")
    result = airflow.xcom(dag_id, run_id, "train", "return_value")
    assert ti["try_number"] == 2 and result["status_name"] == COMPLETED[airflow.api_version]
    logs = airflow.task_logs(dag_id, run_id, "train")
    first, second = ("".join(t for n, t in logs.items() if n.startswith(f"attempt={i}")) for i in (1, 2))
    if state == "running" and "its state could not be read" in first:
        # the worker's on_kill could not get the task's state from Airflow before its 5 s SIGKILL window: the
        # documented fallback stops the job, and the re-run trains the next one — still a completed re-run
        assert (result["job_id"], result.get("version_id")) != ids and "creating a new one" in second
        return
    assert (result["job_id"], result.get("version_id")) == ids  # the same job: nothing new was created
    assert _remote_state(airflow, emu, *ids) == COMPLETED[airflow.api_version]
    assert "Reattaching to" in second
    assert "keeps running" in "".join(logs.values())  # the old try's on_kill (worker or trigger) spared it


@scenario("clear_sensor")
def _clear_sensor(s: Scenarios) -> None:
    airflow, emu = s.airflow, s.emu
    run_id = airflow.trigger("e2e_rerun_sensor")
    _deferred_with_job(airflow, "e2e_rerun_sensor", run_id, "wait")
    ids = _ids(airflow, "e2e_rerun_sensor", run_id)
    _clear(airflow, "e2e_rerun_sensor", run_id, "wait")
    airflow.wait_for("the sensor's next try to wait for the job", lambda: (
        ti := airflow.ti("e2e_rerun_sensor", run_id, "wait"))["try_number"] == 2 and ti["state"] == "deferred", 150,
        task=("e2e_rerun_sensor", run_id, "wait"))
    _release(emu, run_id)
    assert _wait_run(airflow, "e2e_rerun_sensor", run_id) == "success"
    assert airflow.ti("e2e_rerun_sensor", run_id, "wait")["try_number"] == 2
    result = airflow.xcom("e2e_rerun_sensor", run_id, "wait", "return_value")  # the sensor returns the job too
    assert (result["job_id"], result.get("version_id")) == ids
    assert result["status_name"] == COMPLETED[airflow.api_version] and result["train_url"].startswith("obs://")
    assert _remote_state(airflow, emu, *ids) == COMPLETED[airflow.api_version]


@scenario("mark_failed")
def _mark_failed(s: Scenarios) -> None:
    airflow, emu = s.airflow, s.emu
    run_id = airflow.trigger("e2e_rerun_operator")
    _deferred_with_job(airflow, "e2e_rerun_operator", run_id, "train")
    ids = _ids(airflow, "e2e_rerun_operator", run_id)
    airflow.api("PATCH", f"/dags/e2e_rerun_operator/dagRuns/{run_id}/taskInstances/train", {"new_state": "failed"})
    airflow.wait_for("the remote job to be stopped",
                     lambda: _remote_state(airflow, emu, *ids) == STOPPED[airflow.api_version], 60,
                     task=("e2e_rerun_operator", run_id, "train"))


@scenario("failures")
def _failures(s: Scenarios) -> None:
    airflow = s.airflow
    failing = airflow.trigger("e2e_sensor_failure")
    config = airflow.trigger("e2e_config_error")
    assert _wait_run(airflow, "e2e_sensor_failure", failing) == "failed"
    sensor_log = "".join(airflow.task_logs("e2e_sensor_failure", failing, "wait").values())
    assert "To retrain, clear the task that created the job" in sensor_log
    assert "wait=True, deferrable=True" in sensor_log
    assert _wait_run(airflow, "e2e_config_error", config) == "failed"
    ti = airflow.ti("e2e_config_error", config, "train")
    assert (ti["state"], ti["try_number"]) == ("failed", 1), ti  # retries=3, none used
    text = "".join(airflow.task_logs("e2e_config_error", config, "train").values())
    assert "train_instance_count: expected an integer >= 1, got 0" in text


# ---------------------------------------------------------------------- the tests that report the scenarios
def test_example_dags_run_through_scheduler_and_triggerer(scenarios):
    scenarios.result("examples")


def test_openlineage_events_name_the_obs_datasets_and_the_job(scenarios):
    scenarios.result("openlineage")


def test_a_trained_model_asset_schedules_the_consumer_dag_with_the_job_in_its_event(scenarios):
    scenarios.result("asset")


def test_killing_a_running_training_task_stops_the_job(scenarios):
    scenarios.result("kill")


def test_reschedule_mode_sensor_prints_each_line_once(scenarios):
    scenarios.result("reschedule")


def test_clearing_a_deferred_sensor_keeps_the_job_and_its_rerun_sees_it_complete(scenarios):
    scenarios.result("clear_sensor")


def test_marking_a_deferred_operator_failed_stops_its_job(scenarios):
    scenarios.result("mark_failed")


def test_failed_training_and_config_errors_say_what_to_do(scenarios):
    scenarios.result("failures")


@pytest.mark.parametrize("name", ["clear_deferred_operator", "clear_sync_operator"])
def test_clearing_a_waiting_operator_reattaches_and_the_rerun_completes(scenarios, name):
    scenarios.result(name)


def test_triggerer_restart_prints_every_training_line_once(alone):
    """The triggerer is stopped while it tails a job and started again; the job runs on until the restarted
    triggerer has tailed it live (then the test releases it: see dags/e2e_rerun.py), and ends. Every line is in
    the task's logs once: the first triggerer's, the second's and the worker's after it resumed."""
    airflow, emu = alone
    dag_id = "e2e_triggerer_restart"
    run_id = airflow.trigger(dag_id)
    _deferred_with_job(airflow, dag_id, run_id, "train", lines=8)
    airflow.stop_component("triggerer")
    before = set(airflow.task_logs(dag_id, run_id, "train"))
    time.sleep(2)  # lines keep coming while no triggerer runs
    airflow.start_component("triggerer")

    def restarted_tails() -> bool:
        return any(".trigger." in name and name not in before and "rerun-line-" in text
                   for name, text in airflow.task_logs(dag_id, run_id, "train").items())
    airflow.wait_for("the restarted triggerer to tail the running job", restarted_tails, 150,
                     task=(dag_id, run_id, "train"))
    _release(emu, run_id)
    assert _wait_run(airflow, dag_id, run_id, timeout=240) == "success"
    logs = airflow.task_logs(dag_id, run_id, "train")
    counts = _line_counts("".join(logs.values()))
    assert len([n for n in logs if ".trigger." in n]) >= 2, f"the trigger ran in one triggerer only: {list(logs)}"
    assert len(counts) >= 10 and counts == {f"rerun-line-{i:03d}": 1 for i in range(len(counts))}, \
        {k: v for k, v in counts.items() if v != 1} or sorted(counts)


def test_eight_tasks_with_a_wrong_sk_and_retries_leave_the_ak_unlocked(alone):
    airflow, emu = alone
    emu.reset_stats()
    run_id = airflow.trigger("e2e_wrong_sk")
    assert _wait_run(airflow, "e2e_wrong_sk", run_id) == "failed"
    for index in range(8):
        ti = airflow.ti("e2e_wrong_sk", run_id, f"wait_{index}")
        assert (ti["state"], ti["try_number"]) == ("failed", 1), ti  # a rejected signature is not retried
    log = "".join(airflow.task_logs("e2e_wrong_sk", run_id, "wait_0").values())
    assert "check the AK/SK" in log or "signature was rejected" in log
    assert emu.stats()["requests"].get("v2_get_job", 0) <= 3  # bad signatures that reached the service
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    assert ModelArtsHook(modelarts_conn_id=CHECK_CONN).list_training_jobs(per_page=1)[0] >= 1  # the right key still works: the AK is not locked


def test_no_secret_in_airflow_logs(alone):
    airflow, emu = alone
    secrets = [emu.credentials.sk, emu.credentials.password]
    leaks = []
    for path in airflow.home.joinpath("logs").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            leaks += [(str(path), s[:4] + "…") for s in secrets if s in text]
    assert list(airflow.home.joinpath("logs").rglob("*.log")), "no logs were written"
    assert leaks == []
