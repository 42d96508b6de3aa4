"""Child of airflow_triggerer: in the benchmark's own AIRFLOW_HOME (SQLite), create N deferred task instances of
the serialized ``bench_triggerer`` DAG's mapped ``watch`` task, each with a ``TrainingJobTrigger`` row — what
Airflow's ``TaskInstance.defer_task`` leaves in the metadata DB when a deferrable sensor defers.

argv: a JSON file ``{"jobs": [{"job_id", "version_id"}], "poll": seconds, "print_log": bool}``; prints the
run id. A job ``{"noisy": {…}}`` gets a ``benchmarks._noisy_trigger.NoisyTrigger`` with those kwargs instead."""

from __future__ import annotations

import json
import sys

from airflow.sdk.timezone import utcnow


def main(path: str) -> None:
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    from airflow_provider_modelarts.triggers.training import TrainingJobTrigger

    spec = json.loads(open(path).read())
    now = utcnow()
    run_id = f"bench__{now.strftime('%Y%m%dT%H%M%S%f')}"
    with create_session() as session:
        dag = SerializedDagModel.get_dag("bench_triggerer", session=session)
        version = DagVersion.get_latest_version("bench_triggerer", session=session)
        task = dag.get_task("watch")
        run = DagRun(dag_id="bench_triggerer", run_id=run_id, run_type=DagRunType.MANUAL, logical_date=None,
                     run_after=now, start_date=now, state=DagRunState.RUNNING,
                     triggered_by=DagRunTriggeredByType.TEST)
        run.created_dag_version_id = version.id
        session.add(run)
        session.flush()
        for index, job in enumerate(spec["jobs"]):
            if "noisy" in job:  # benchmarks/triggerer_deadlock.py: a trigger with no provider code in it
                from benchmarks._noisy_trigger import NoisyTrigger

                trigger = Trigger.from_object(NoisyTrigger(**job["noisy"]))
            else:
                trigger = Trigger.from_object(TrainingJobTrigger(
                    job_id=job["job_id"], version_id=job["version_id"], poll_interval=spec["poll"],
                    print_log=spec["print_log"], stop_on_kill=False))
            session.add(trigger)
            session.flush()
            ti = TaskInstance(task=task, dag_version_id=version.id, run_id=run_id, map_index=index)
            ti.state = TaskInstanceState.DEFERRED
            ti.try_number = 1
            ti.start_date = now
            ti.trigger_id = trigger.id
            ti.next_method = "execute_complete"
            session.add(ti)
            if index % 500 == 499:
                session.flush()
    print(run_id)


if __name__ == "__main__":
    main(sys.argv[1])
