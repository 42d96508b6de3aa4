"""Where the example DAGs put training data and code: one setting, not a code edit.

OBS paths ``/bucket/key`` live under the Airflow Variable ``modelarts_obs_url`` (also settable as the
environment variable ``AIRFLOW_VAR_MODELARTS_OBS_URL``):

- on the emulator: ``file:///…/<emulator root>/obs`` (the emulator's local OBS; the demo sets it);
- on Huawei Cloud: ``s3://`` with the Variable ``modelarts_obs_conn_id`` naming an ``aws`` connection whose
  extra is ``{"endpoint_url": "https://obs.<region>.myhuaweicloud.com"}`` and whose login/password are an AK/SK
  (OBS speaks the S3 protocol; needs ``apache-airflow-providers-amazon`` and ``s3fs``).
"""

from __future__ import annotations

from pathlib import Path

OBS_URL_VARIABLE = "modelarts_obs_url"
OBS_CONN_VARIABLE = "modelarts_obs_conn_id"
TRAINING_DIR = Path(__file__).parent / "training"


def obs_object(obs_path: str):
    """An ``ObjectStoragePath`` for an OBS path like ``/bucket/dir/file`` (or ``obs://bucket/dir/file``)."""
    from airflow.sdk import ObjectStoragePath, Variable

    root = Variable.get(OBS_URL_VARIABLE).rstrip("/")
    conn_id = Variable.get(OBS_CONN_VARIABLE, default=None)
    key = obs_path.removeprefix("obs://").lstrip("/")
    if root.startswith("s3://") or root == "s3:":
        return ObjectStoragePath(f"s3://{key}", conn_id=conn_id)
    return ObjectStoragePath(f"{root}/{key}", conn_id=conn_id)


def upload_script(name: str, obs_dir: str) -> str:
    """Copy a training script from ``example_dags/training`` to an OBS directory; returns its OBS path."""
    target = obs_object(f"{obs_dir.rstrip('/')}/{name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((TRAINING_DIR / name).read_text())
    return f"{obs_dir.rstrip('/')}/{name}"
