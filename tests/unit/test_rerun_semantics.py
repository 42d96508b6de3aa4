"""Re-run semantics without a server: parse-time validation beside templated fields, which errors are final,
what an interrupted wait does to its job, the typed result, the saved cursor."""

from __future__ import annotations

import re

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_modelarts.cursor_store import CursorStore
from airflow_provider_modelarts.exceptions import ModelArtsConfigError
from airflow_provider_modelarts.models import JobState, JobV2, JobVersion, PhaseState, TrainingResult
from airflow_provider_modelarts.operators.training import CreateTrainingJobOperator
from airflow_provider_modelarts.sensors.training import TrainingJobSensor
from airflow_provider_modelarts.task_state import ENDED_STATES, TaskIdentity, stops_job

FRAMEWORK = dict(framework_type="PyTorch", framework_version="PyTorch-1.0.0-python3.6", code_dir="/bkt/code/",
                 boot_file="/bkt/code/train.py", inputs="/bkt/data/", output_path="/bkt/out/",
                 train_instance_type="modelarts.vm.cpu.2u", train_instance_count=1)


def op(**overrides) -> CreateTrainingJobOperator:
    return CreateTrainingJobOperator(task_id="train", **{**FRAMEWORK, **overrides})


# ---------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("overrides, field", [
    ({"inputs": "{{ params.data }}", "train_instance_count": None}, "train_instance_count"),
    ({"output_path": "{{ params.out }}", "boot_file": "/bkt/elsewhere/train.py"}, "boot_file"),
    ({"hyperparameters": "{{ params.hp }}", "train_instance_type": None}, "train_instance_type"),
    ({"inputs": "{{ params.data }}", "code_dir": "obs://Not_A_Bucket/code/"}, "code_dir"),
    ({"inputs": "{{ params.data }}", "code_dir": "training/"}, "boot_file"),  # local code_dir, OBS boot_file
    ({"job_description": "{{ params.d }}", "user_command": "python x.py"}, "user_command"),
])
def test_static_mistakes_fail_at_parse_time_beside_templated_fields(overrides, field):
    with pytest.raises(ModelArtsConfigError, match=f"^{field}"):
        op(**overrides)


@pytest.mark.parametrize("overrides", [
    {"train_instance_count": "{{ params.n }}"},
    {"code_dir": "{{ params.code }}", "boot_file": "{{ params.code }}train.py"},
    {"inputs": "{{ params.data }}", "output_path": "{{ params.out }}"},
    {"model_name": "{{ params.algo }}", "framework_type": None, "framework_version": None, "code_dir": None,
     "boot_file": None},  # which kind of job depends on a rendered value: its checks wait for rendering
])
def test_checks_that_involve_a_templated_field_wait_for_rendering(overrides):
    op(**overrides)


def test_a_configuration_error_is_final_for_airflow():
    """AirflowFailException: the task fails at once, its retries are not used."""
    assert issubclass(ModelArtsConfigError, AirflowFailException) and issubclass(ModelArtsConfigError, ValueError)


# ---------------------------------------------------------------------------------------------- kill vs clear
@pytest.mark.parametrize("state", sorted(ENDED_STATES))
def test_a_task_a_user_ended_stops_its_job(state):
    assert stops_job(state, in_trigger=True) and stops_job(state, in_trigger=False)


@pytest.mark.parametrize("state", ["none", "scheduled", "queued", "restarting", "up_for_retry"])
def test_a_cleared_task_leaves_its_job_to_the_next_try(state):
    assert not stops_job(state, in_trigger=True) and not stops_job(state, in_trigger=False)


def test_running_means_a_new_try_in_the_triggerer_and_a_timeout_in_the_worker():
    # the trigger is cancelled by a user action: a running/deferred task instance is the next try
    assert not stops_job("running", in_trigger=True) and not stops_job("deferred", in_trigger=True)
    # the worker's on_kill with the state still running: execution_timeout or a worker shutdown
    assert stops_job("running", in_trigger=False)
    assert stops_job(None, in_trigger=True) and stops_job(None, in_trigger=False)  # unknown: stop


def test_sensor_does_not_stop_a_job_it_did_not_create_and_takes_poll_interval():
    sensor = TrainingJobSensor(task_id="wait", job_id=1, version_id=2, poll_interval=7)
    assert sensor.stop_job_on_kill is False and sensor.poke_interval == 7 == sensor.poll_interval
    assert TrainingJobSensor(task_id="w2", job_id=1, version_id=2).poke_interval == 30
    with pytest.raises(ModelArtsConfigError, match="poll_interval and poke_interval"):
        TrainingJobSensor(task_id="w3", job_id=1, version_id=2, poll_interval=7, poke_interval=5)


# ---------------------------------------------------------------------------------------------- results
def test_results_have_the_same_keys_and_types_on_both_apis():
    v1 = JobVersion(job_id=5, version_id=9, job_name="j", version_name="V0002", state=JobState(10),
                    duration_ms=61500, train_url="/bucket/out/")
    v2 = JobV2(job_id="c0ffee00-0000-0000-0000-000000000000", job_name="j-a2", state=PhaseState("Completed"),
               duration_ms=2000, train_url="obs://bucket/out/")
    a = TrainingResult.of(v1, console_url="https://console/v1").to_dict()
    b = TrainingResult.of(v2, console_url="https://console/v2").to_dict()
    assert a == {"api_version": "v1", "job_id": 5, "job_name": "j", "status_code": "10",
                 "status_name": "JOBSTAT_COMPLETED", "outcome": "success", "train_url": "obs://bucket/out/",
                 "console_url": "https://console/v1", "duration_seconds": 61.5, "version_id": 9,
                 "version_name": "V0002"}
    assert set(a) - set(b) == {"version_id", "version_name"} and not set(b) - set(a)
    assert {k: type(v) for k, v in a.items() if k in b and k != "job_id"} == \
        {k: type(v) for k, v in b.items() if k != "job_id"}
    assert b["train_url"] == "obs://bucket/out/" and b["status_code"] == b["status_name"] == "Completed"
    unstarted = JobVersion(job_id=5, version_id=9, job_name="j", version_name="V1", state=JobState(1))
    assert TrainingResult.of(unstarted, console_url="u", output_path="/bkt/out/").to_dict()["train_url"] == \
        "obs://bkt/out/"


# ---------------------------------------------------------------------------------------------- saved cursor
def test_saved_cursor_belongs_to_one_job_and_is_written_only_when_it_moves(memory_variables):
    identity = TaskIdentity("dag", "train", "manual__1", -1)
    store = CursorStore(identity, "job_id=1, version_id=2")
    writes = []
    original = memory_variables.set
    memory_variables.set = classmethod(lambda cls, *a, **k: (writes.append(a[0]), original(*a, **k)))
    try:
        store.save({"w0": "100"}, 8)
        store.save({"w0": "100"}, 8)
        store.save({"w0": "200"}, 8)
    finally:
        memory_variables.set = original
    assert len(writes) == 2
    assert CursorStore(identity, "job_id=1, version_id=2").load()["cursor"] == {"w0": "200"}
    assert CursorStore(identity, "job_id=1, version_id=3").load() is None  # another run of the task: ignored
    store.delete()
    assert CursorStore(identity, "job_id=1, version_id=2").load() is None


def test_cursor_key_fits_airflows_variable_column():
    long = TaskIdentity("d" * 200, "t" * 200, "r" * 200, 3)
    assert len(CursorStore(long, "x").key) <= 250
    assert CursorStore(long, "x").key != CursorStore(TaskIdentity("d" * 200, "t" * 200, "r" * 200, 4), "x").key


def test_unreachable_variables_never_fail_a_wait_and_warn_once(monkeypatch, caplog):
    from airflow_provider_modelarts import cursor_store

    calls = []

    class Broken:
        @classmethod
        def get(cls, *a, **k):
            calls.append("get")
            raise RuntimeError("no task runtime")

        set = delete = get

    monkeypatch.setattr(cursor_store, "variables", lambda: Broken)
    store = CursorStore(TaskIdentity("d", "t", "r"), "job")
    assert store.load() is None
    store.save({"w": "1"}, 8)
    store.save({"w": "2"}, 8)
    store.delete()
    assert calls == ["get"]  # after the first failure the wait goes on without the store
    assert sum("Could not read the saved log cursor" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("job_id, version_id, message", [
    ("12345", "None", "is a v1 job id, but version_id is 'None': give the version_id too"),
    ("abc?x=1", None, "expected a v2 training job id"),
    ("a/../b", "", "expected a v2 training job id"),
    ("{'job_id': 1}", None, "expected a v2 training job id"),
])
def test_ids_that_cannot_be_valid_are_refused_before_signing(job_id, version_id, message):
    from airflow_provider_modelarts.adapters import job_ref

    with pytest.raises(ModelArtsConfigError, match=re.escape(message)):
        job_ref(job_id, version_id)


@pytest.mark.parametrize("kwargs, field", [
    ({"poll_interval": float("nan")}, "poll_interval"),
    ({"poll_interval": "30"}, "poll_interval"),
    ({"max_run_time": float("inf")}, "max_run_time"),
    ({"failure_log_lines": "x"}, "failure_log_lines"),
    ({"outage_window": -1}, "outage_window"),
    ({"hyperparameters": {"data_url": "/bkt/other/"}}, "hyperparameters[0].label"),
    ({"hyperparameters": {"lr": 1, "train_url": "/bkt/x/"}}, "hyperparameters[1].label"),
])
def test_bad_operator_arguments_name_the_field(kwargs, field):
    with pytest.raises(ModelArtsConfigError, match=f"^{re.escape(field)}: expected|^{re.escape(field)}: data_url"):
        op(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    ({"poke_interval": 0, "deferrable": True}, "poke_interval"),
    ({"poll_interval": float("nan")}, "poll_interval"),
    ({"failure_log_lines": -1}, "failure_log_lines"),
])
def test_bad_sensor_arguments_name_the_field(kwargs, field):
    with pytest.raises(ModelArtsConfigError, match=f"^{field}: expected"):
        TrainingJobSensor(task_id="wait", job_id=1, version_id=2, **kwargs)


@pytest.mark.parametrize("extra, field", [
    ({"timeout": "nan"}, "timeout"), ({"connect_timeout": "inf"}, "connect_timeout"),
    ({"verify": "yes"}, "verify"), ({"region": "cn-north-4/evil"}, "region"), ({"max_retries": True}, "max_retries"),
])
def test_bad_connection_extras_name_the_field(extra, field):
    from airflow_provider_modelarts.hooks.connection import ConnectionConfig

    with pytest.raises(ModelArtsConfigError, match=f"field '{field}'"):
        ConnectionConfig.from_values(conn_id="c", login="ak", password="sk",
                                     extra={"region": "cn-north-4", **extra})
