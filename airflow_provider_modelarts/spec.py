"""The seed SDK's ``Estimator(...)`` + ``fit(...)`` parameters as one validated value object.

Validation names the field and what was expected, and runs before any request: at operator construction
for static values and again after templating.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_modelarts.exceptions import ModelArtsConfigError

JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_OBS_RE = re.compile(r"^/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\\:*?\"<>|\x00-\x1f]*)?$")
#: JobAlgorithm.environments (SDK docstring): letters, digits and underscores, starting with a letter or underscore
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,8191}$")
#: the channel names the job's data and output arrive under (``--data_url``, ``--train_url``; v2 adds
#: ``data_url_N`` for further data sources): a hyperparameter with such a label would silently replace them
RESERVED_LABEL_RE = re.compile(r"^(data_url(_\d+)?|train_url)$")
FRAMEWORK_FIELDS = ("framework_type", "framework_version", "code_dir", "boot_file")
OBS_FIELDS = ("code_dir", "boot_file", "log_url", "output_path", "inputs")


def _fail(field_name: str, expected: str, got: Any = ...) -> ModelArtsConfigError:
    suffix = "" if got is ... else f", got {got!r}"
    return ModelArtsConfigError(f"{field_name}: {expected}{suffix}")


def normalise_obs(value: Any, field_name: str) -> str:
    """``obs://bucket/x`` or ``/bucket/x`` → ``/bucket/x``; anything else is an error naming the field."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(field_name, "expected an OBS path like /bucket/dir/ or obs://bucket/dir/", value)
    path = value.strip()
    if path.startswith("obs://"):
        path = "/" + path[len("obs://"):]
    elif path.startswith("s3://"):
        path = "/" + path[len("s3://"):]
    if not _OBS_RE.match(path) or "/../" in path + "/":
        raise _fail(field_name, "expected an OBS path like /bucket/dir/ or obs://bucket/dir/ (bucket: 3-63 "
                                "lower-case letters, digits, '.' or '-')", value)
    return path


def is_local_code(value: Any) -> bool:
    """A ``code_dir`` / ``boot_file`` that names a local path: relative, or ``file://`` (see local_code.py)."""
    from airflow_provider_modelarts.local_code import is_local

    return is_local(value)


def normalise_hyperparameters(value: Any) -> list[dict[str, str]]:
    """``[{"label", "value"}]`` or ``{label: value}`` → ``[{"label": str, "value": str}]``."""
    if value is None or value == "" or value == [] or value == {}:
        return []
    if isinstance(value, dict):
        value = [{"label": k, "value": v} for k, v in value.items()]
    if not isinstance(value, (list, tuple)):
        raise _fail("hyperparameters", 'expected a list of {"label": ..., "value": ...} or a {label: value} dict',
                    value)
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"label", "value"}:
            raise _fail(f"hyperparameters[{index}]", 'expected {"label": ..., "value": ...}', item)
        label, val = item["label"], item["value"]
        if not isinstance(label, str) or not label:
            raise _fail(f"hyperparameters[{index}].label", "expected a non-empty string", label)
        if isinstance(val, bool) or not isinstance(val, (str, int, float)):
            raise _fail(f"hyperparameters[{index}].value", "expected a string (or a number)", val)
        out.append({"label": label, "value": str(val)})
    return out


@dataclass(frozen=True)
class TrainingJobSpec:
    """What to train: the seed's Estimator and fit arguments, unchanged in name and meaning."""

    train_instance_type: str | None = None
    train_instance_count: int | None = None
    output_path: str | None = None
    framework_type: str | None = None
    framework_version: str | None = None
    code_dir: str | None = None
    boot_file: str | None = None
    log_url: str | None = None
    hyperparameters: list[dict[str, str]] = field(default_factory=list)
    job_description: str | None = None
    model_name: str | None = None
    user_image_url: str | None = None
    user_command: str | None = None
    pool_id: str | None = None
    inputs: str | None = None
    dataset_id: str | None = None
    dataset_version_id: str | None = None
    data_source: list[dict[str, Any]] | None = None

    @classmethod
    def validated(cls, **values: Any) -> TrainingJobSpec:
        """Check the seed's parameter table and return a normalised spec (raises ModelArtsConfigError)."""
        return cls(**_checked(values, frozenset()))

    @classmethod
    def check_static(cls, values: dict[str, Any], templated: frozenset[str]) -> None:
        """At DAG parse time: every check that involves no templated field (those are checked after rendering)."""
        _checked(values, templated)

    @property
    def kind(self) -> str:
        if self.model_name:
            return "built-in"
        if self.user_image_url:
            return "custom-image"
        return "framework"


def _checked(values: dict[str, Any], templated: frozenset[str]) -> dict[str, Any]:
    """The seed's parameter table. A check that involves a field in ``templated`` is skipped (its value is not
    known yet); every other check runs, so a static mistake fails at parse time even beside templated fields."""
    v = {k: (x.strip() if isinstance(x, str) else x) for k, x in values.items()}
    v = {k: (None if x == "" else x) for k, x in v.items()}
    unknown = set(v) - set(TrainingJobSpec.__dataclass_fields__)
    if unknown:
        raise _fail(sorted(unknown)[0], "unknown parameter")

    def known(*names: str) -> bool:
        return not templated.intersection(names)

    if known("train_instance_type", "pool_id") and not v.get("train_instance_type") and not v.get("pool_id"):
        raise _fail("train_instance_type", "required (a resource spec code such as 'modelarts.vm.cpu.2u')")
    if known("train_instance_count"):
        count = v.get("train_instance_count")
        if count is None:
            raise _fail("train_instance_count", "required (an integer >= 1)")
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise _fail("train_instance_count", "expected an integer >= 1", count)
        v["train_instance_count"] = count
    if known("output_path") and not v.get("output_path"):
        raise _fail("output_path", "required (the OBS directory for the training output)")
    if known("inputs", "dataset_id", "dataset_version_id", "data_source"):
        given = [name for name in ("inputs", "dataset_id", "data_source") if v.get(name)]
        if v.get("dataset_version_id") and "dataset_id" not in given:
            raise _fail("dataset_version_id", "needs dataset_id (they always go together)")
        if len(given) != 1:
            raise _fail("inputs/dataset_id/data_source",
                        f"expected exactly one of inputs, dataset_id + dataset_version_id, data_source; got "
                        f"{', '.join(given) if given else 'none'}")
        if v.get("dataset_id") and not v.get("dataset_version_id"):
            raise _fail("dataset_version_id", "required with dataset_id (they always go together)")
    if known("data_source") and v.get("data_source") is not None:
        v["data_source"] = _data_source(v["data_source"])
    if known("model_name", "user_image_url"):
        _check_kind(v, known)
    local_code = known("code_dir") and is_local_code(v.get("code_dir"))
    for name in OBS_FIELDS:
        if known(name) and v.get(name) and not (name in ("code_dir", "boot_file") and local_code):
            v[name] = normalise_obs(v[name], name)
    if known("code_dir", "boot_file") and v.get("code_dir") and v.get("boot_file"):
        code_dir = v["code_dir"].rstrip("/") + "/"
        boot_file = v["boot_file"]
        if local_code:  # a local directory, uploaded before submitting (local_code.py); boot_file is inside it
            if not is_local_code(boot_file):
                raise _fail("boot_file", "expected a local file inside the local code_dir (relative to it, or "
                                         "starting with it)", boot_file)
            boot_file = boot_file if boot_file.startswith(code_dir) else code_dir + boot_file.removeprefix("./")
            v["boot_file"] = boot_file
        if not boot_file.startswith(code_dir) or boot_file == code_dir:
            raise _fail("boot_file", f"expected a file inside code_dir {v['code_dir']!r}", v["boot_file"])
        v["code_dir"] = code_dir
    if known("hyperparameters"):
        v["hyperparameters"] = normalise_hyperparameters(v.get("hyperparameters"))
        for index, item in enumerate(v["hyperparameters"]):
            if RESERVED_LABEL_RE.match(item["label"]):
                raise _fail(f"hyperparameters[{index}].label", "data_url / train_url are the job's input and output "
                            "channels (set inputs / output_path instead)", item["label"])
        if known("user_image_url") and v.get("user_image_url"):  # a custom image gets them as environment variables
            for index, item in enumerate(v["hyperparameters"]):
                if not ENV_NAME_RE.match(item["label"]):
                    raise _fail(f"hyperparameters[{index}].label", "expected an environment variable name for a "
                                "custom image (letters, digits and '_', not starting with a digit)", item["label"])
    description = v.get("job_description")
    if known("job_description") and description is not None and (
            not isinstance(description, str) or len(description) > 200):
        raise _fail("job_description", "expected a string of at most 200 characters (ModelArts allows 256; "
                                       "the rest carries the Airflow task identity)", description)
    return v


def _data_source(sources: Any) -> list[dict[str, Any]]:
    if not isinstance(sources, list) or not sources or not all(isinstance(s, dict) for s in sources):
        raise _fail("data_source", 'expected a non-empty list of {"type": "obs", "data_url": ...} or '
                                   '{"type": "dataset", "dataset_id": ..., "dataset_version": ...}', sources)
    normalised = []
    for index, source in enumerate(sources):
        if source.get("data_url"):
            normalised.append({**source, "type": source.get("type", "obs"),
                               "data_url": normalise_obs(source["data_url"], f"data_source[{index}].data_url")})
        elif source.get("dataset_id") and source.get("dataset_version"):
            normalised.append({**source, "type": "dataset"})
        else:
            raise _fail(f"data_source[{index}]", "expected data_url, or dataset_id with dataset_version", source)
    return normalised


def _check_kind(v: dict[str, Any], known: Any) -> None:
    """Built-in algorithm, custom image or framework job: which fields each needs and excludes."""
    if v.get("model_name"):
        clash = [f for f in FRAMEWORK_FIELDS if known(f) and v.get(f)]
        if clash:
            raise _fail(clash[0], "must not be set together with model_name (a built-in algorithm brings its "
                                  "own code and engine)")
        if v.get("user_image_url"):
            raise _fail("user_image_url", "must not be set together with model_name")
    elif v.get("user_image_url"):
        if known("user_command") and not v.get("user_command"):
            raise _fail("user_command", "required with user_image_url (the container start command)")
        clash = [f for f in ("framework_type", "framework_version") if known(f) and v.get(f)]
        if clash:
            raise _fail(clash[0], "must not be set together with user_image_url (the image is the engine)")
        if known("code_dir", "boot_file") and bool(v.get("code_dir")) != bool(v.get("boot_file")):
            missing = "boot_file" if v.get("code_dir") else "code_dir"
            raise _fail(missing, "code_dir and boot_file go together (the API takes both or neither)")
    else:
        if known("user_command") and v.get("user_command"):
            raise _fail("user_command", "only valid with user_image_url")
        for name in FRAMEWORK_FIELDS:
            if known(name) and not v.get(name):
                raise _fail(name, "required for a framework job (or give model_name, or user_image_url + "
                                  "user_command)")


def seconds(value: Any, field_name: str, *, minimum: float = 0.0, positive: bool = False) -> float:
    """A duration argument (a number of seconds or a timedelta) as finite float seconds: ``>= minimum``, or
    ``> 0`` with ``positive``. Anything else (text, nan, inf, a bool) is an error naming the field."""
    from datetime import timedelta

    number = value.total_seconds() if isinstance(value, timedelta) else value
    ok = not isinstance(number, bool) and isinstance(number, (int, float)) and math.isfinite(number)
    if not ok or (number <= 0 if positive else number < minimum):
        expected = "> 0" if positive else f">= {minimum:g}"
        raise _fail(field_name, f"expected a finite number of seconds {expected} (or a timedelta)", value)
    return float(number)


def count(value: Any, field_name: str, *, minimum: int = 0) -> int:
    """A whole-number argument ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(field_name, f"expected an integer >= {minimum}", value)
    return value


def is_templated(value: Any) -> bool:
    """Whether a constructor argument still holds Jinja (it is checked again after rendering)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_templated(v) for v in value)
    return False


def validate_job_name(value: Any) -> str:
    if not isinstance(value, str) or not JOB_NAME_RE.match(value):
        raise _fail("job_name", "expected 1-64 characters from letters, digits, '-' and '_'", value)
    if value.lower() in ("none", "null"):  # a template whose value was missing (e.g. an XCom that is not there)
        raise _fail("job_name", "expected a name; it rendered to a missing value", value)
    return value


def derive_job_name(dag_id: str, task_id: str, run_id: str, map_index: int | None = None) -> str:
    """Deterministic per task instance, so every try finds the same job; sanitised, ≤ 64 characters."""
    raw = f"{dag_id}__{task_id}__{run_id}" + (f"__{map_index}" if map_index is not None and map_index >= 0 else "")
    clean = re.sub(r"[^a-zA-Z0-9_-]+", "-", raw).strip("-") or "airflow-job"
    if len(clean) <= 64 and clean == raw:
        return clean
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return clean[: 64 - 9].rstrip("-_") + "-" + digest


def attempt_name(base: str, attempt: int) -> str:
    """v2 has no versions: a re-run is a new job named ``<base>-a<attempt>`` (attempt 1 is ``base`` itself)."""
    if attempt <= 1:
        return base
    suffix = f"-a{attempt}"
    return base[: 64 - len(suffix)] + suffix


def attempt_of(base: str, name: str) -> int | None:
    """1 for ``base``, N for ``base-aN`` (also when base was shortened to fit), None for other names."""
    if name == base:
        return 1
    _, sep, tail = name.rpartition("-a")
    if sep and tail.isdigit() and int(tail) >= 2 and attempt_name(base, int(tail)) == name:
        return int(tail)
    return None


def task_marker(dag_id: str, task_id: str, run_id: str, map_index: int | None = None) -> str:
    """The start of the tag stored in each job's description, saying which task instance started it
    (:class:`~airflow_provider_modelarts.adapters.base.Naming` completes it with the request fingerprint)."""
    raw = f"{dag_id}\0{task_id}\0{run_id}\0{map_index if map_index is not None else -1}"
    return f"[airflow-ti:{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def request_fingerprint(spec: TrainingJobSpec, api_version: str) -> str:
    """A short hash of what a task asks ModelArts to train (the validated spec and the API version)."""
    import json
    from dataclasses import asdict

    raw = json.dumps({"api_version": api_version, **asdict(spec)}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:10]
