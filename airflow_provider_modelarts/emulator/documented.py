"""The documented request table: every query parameter the emulator checks, with its range and its source.

One table, used twice: the emulator refuses requests that break it (with the documented error), and the
conformance tests (tests/conformance) check every request the provider sends against it. v2 request *bodies*
are checked against the official SDK models in the tests; their ranges that the SDK only states in docstrings
are rows here too. Sources: OTC = github.com/opentelekomcloud-docs/modelarts ``api-ref/source/…``; SDK =
``huaweicloudsdkmodelarts.v1.model`` class docstrings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    name: str
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    text: bool = False  # a free string (no range)


@dataclass(frozen=True)
class QueryTable:
    params: tuple[Param, ...]
    source: str


V1_OLD = "OTC historical_apis/training_management_old_version/training_jobs/"
V1_SPECS = "OTC historical_apis/training_management_old_version/resource_and_engine_specifications/"
#: endpoint name (the emulator's route name) → its documented query parameters
QUERY: dict[str, QueryTable] = {
    "list_jobs": QueryTable((Param("per_page", 1, 1000), Param("page", 1, 65535), Param("status", 0, 22),
                             Param("sortBy", choices=("job_name", "job_desc", "status", "duration", "version_count",
                                                      "create_time")),
                             Param("order", choices=("asc", "desc")), Param("search_content", text=True),
                             Param("workspace_id", text=True)),
                            V1_OLD + "querying_a_training_job_list.rst"),
    "list_versions": QueryTable((Param("per_page", 1, 1000), Param("page", 0, 65535)),
                                V1_OLD + "obtaining_training_job_versions.rst"),
    "built_in_algorithms": QueryTable((Param("per_page", 1, 100), Param("page", 1, 65535),
                                       Param("sortBy", choices=("engine", "model_name", "model_precision",
                                                                "model_usage", "model_size", "create_time",
                                                                "parameter")),
                                       Param("order", choices=("asc", "desc")), Param("search_content", text=True)),
                                      V1_OLD + "querying_a_built-in_algorithm.rst"),
    "aom_log": QueryTable((Param("log_file", text=True), Param("lines", 0, 500), Param("order", choices=("asc", "desc")),
                           Param("base_line", text=True)),
                          V1_OLD + "querying_training_job_logs.rst (the line-based aom-log API)"),
    "byte_log": QueryTable((Param("log_file", text=True), Param("start_byte", -1, 2**62),
                            Param("offset", -2048, 2048)), "shared/modelarts-api.md §2.10 [inference]"),
    "resource_specs": QueryTable((Param("job_type", choices=("train", "inference")), Param("engine_id", 0, 2**62),
                                  Param("project_type", 0, 2**31)),
                                 V1_SPECS + "querying_job_resource_specifications.rst"),
    "ai_engines": QueryTable((Param("job_type", choices=("train", "inference")),),
                             V1_SPECS + "querying_job_engine_specifications.rst"),
    "v2_algorithms": QueryTable((Param("offset", 0, 2**31), Param("limit", 1, 50), Param("sort_by", text=True),
                                 Param("order", choices=("asc", "desc")), Param("group_by", text=True),
                                 Param("searches", text=True), Param("workspace_id", text=True)),
                                "SDK ListAlgorithmsRequest; support.huaweicloud.com api-modelarts ListAlgorithms"),
    "v2_aom_log": QueryTable((Param("base_line", text=True), Param("lines", 1, 500),
                              Param("order", choices=("asc", "desc"))),
                             "SDK ShowTrainingJobLogsFromAomRequest"),
    "v2_flavors": QueryTable((Param("flavor_type", choices=("CPU", "GPU", "Ascend")),),
                             "SDK ShowTrainingJobFlavorsRequest"),
    "v2_engines": QueryTable((), "SDK ShowTrainingJobEnginesRequest"),
    "v2_search_jobs": QueryTable((), "SDK ListTrainingJobsRequest (body: JobSearches)"),
    "iam_token": QueryTable((Param("nocatalog", choices=("true", "false")),),
                            "IAM API reference: Obtaining an IAM User Token (KeystoneCreateUserTokenByPassword)"),
    "iam_projects": QueryTable((Param("name", text=True), Param("domain_id", text=True),
                                Param("enabled", choices=("true", "false")), Param("is_domain", choices=("true", "false")),
                                Param("parent_id", text=True), Param("page", 1, 2**31), Param("per_page", 1, 5000)),
                               "IAM API reference: Querying Project List (KeystoneListProjects)"),
}

#: body ranges the SDK states only in docstrings: (endpoint, JSON path) → (low, high)
BODY_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("v2_search_jobs", "offset"): (0, 2**31),  # JobSearches.offset: a page index, minimum 0
    ("v2_search_jobs", "limit"): (1, 50),  # JobSearches.limit: 1–50
}


def query_problem(endpoint: str, query: list[tuple[str, str]]) -> str | None:
    """What is wrong with this query for the endpoint's documented table (None: nothing, or no table)."""
    table = QUERY.get(endpoint)
    if table is None:
        return None
    known = {p.name: p for p in table.params}
    for name, value in query:
        param = known.get(name)
        if param is None:
            return f"unknown query parameter {name!r}"
        if param.text:
            continue
        if param.choices:
            if value not in param.choices:
                return f"{name} must be one of {', '.join(param.choices)}, got {value!r}"
            continue
        try:
            number = int(value)
        except ValueError:
            return f"{name} must be an integer, got {value!r}"
        if (param.low is not None and number < param.low) or (param.high is not None and number > param.high):
            return f"{name} must be within [{param.low}, {param.high}], got {number}"
    return None


# ---------------------------------------------------------------------------------------------- v1 answers
_ENVELOPE = ("is_success", "error_message", "error_code")
_VERSION = ("job_id", "job_name", "job_desc", "version_id", "version_name", "pre_version_id", "engine_type",
            "engine_name", "engine_id", "engine_version", "status", "app_url", "boot_file_url", "create_time",
            "parameter", "duration", "spec_id", "core", "cpu", "gpu", "gpu_num", "gpu_type", "worker_server_num",
            "data_url", "train_url", "log_url", "dataset_version_id", "dataset_id", "data_source", "model_id",
            "model_metric_list", "system_metric_list", "user_image_url", "user_command", "resource_id",
            "dataset_name", "spec_code", "start_time", "volumes", "dataset_version_name", "pool_name", "pool_id",
            "nas_mount_path", "nas_share_addr", "nas_type")
#: seen in a real version-detail answer (shared/modelarts-api.md §2.7, the S-cn app case), not in the field table
_VERSION_OBSERVED = ("flavor_code", "max_num", "storage", "no_resource", "pool_type", "job_type", "error_result")


@dataclass(frozen=True)
class AnswerKeys:
    top: frozenset[str]
    items: tuple[str, frozenset[str]] | None  # (list key, keys of each item)
    source: str


def _keys(*groups: tuple[str, ...]) -> frozenset[str]:
    return frozenset(k for group in groups for k in group)


#: endpoint → the keys its (successful) v1 answer may carry: the page's response table, plus keys observed in
#: real answers where noted. The conformance tests refuse any other key.
V1_ANSWERS: dict[str, AnswerKeys] = {
    "create_job": AnswerKeys(_keys(_ENVELOPE, ("job_id", "job_name", "status", "create_time", "version_id",
                                               "resource_id", "version_name")), None,
                             V1_OLD + "creating_a_training_job.rst"),
    "create_version": AnswerKeys(_keys(_ENVELOPE, ("job_id", "job_name", "status", "create_time", "version_id",
                                                   "version_name", "resource_id")), None,
                                 V1_OLD + "creating_a_version_of_a_training_job.rst (+ resource_id as on create)"),
    "list_jobs": AnswerKeys(_keys(_ENVELOPE, ("job_total_count", "job_count_limit", "jobs", "quotas")),
                            ("jobs", _keys(("job_id", "job_name", "version_id", "status", "create_time", "duration",
                                            "job_desc", "version_count"))),
                            V1_OLD + "querying_a_training_job_list.rst"),
    "get_version": AnswerKeys(_keys(_ENVELOPE, _VERSION, _VERSION_OBSERVED), None,
                              V1_OLD + "querying_the_details_about_a_training_job_version.rst; §2.7 observed keys"),
    "list_versions": AnswerKeys(_keys(_ENVELOPE, ("job_id", "job_name", "job_desc", "version_count", "versions")),
                                ("versions", _keys(_VERSION, _VERSION_OBSERVED)),
                                V1_OLD + "obtaining_training_job_versions.rst; §2.7 observed keys"),
    "stop_version": AnswerKeys(_keys(_ENVELOPE), None, V1_OLD + "stopping_a_training_job.rst"),
    "log_file_names": AnswerKeys(_keys(_ENVELOPE, ("log_file_list",)), None,
                                 V1_OLD + "obtaining_the_name_of_a_training_job_log_file.rst"),
    "aom_log": AnswerKeys(_keys(_ENVELOPE, ("content", "lines", "start_line", "end_line")), None,
                          V1_OLD + "querying_training_job_logs.rst"),
    "built_in_algorithms": AnswerKeys(
        _keys(_ENVELOPE, ("model_total_count", "models")),
        ("models", _keys(("model_id", "model_name", "model_usage", "model_precision", "model_size",
                          "model_train_dataset", "model_dataset_format", "model_description_url", "parameter",
                          "create_time", "engine_id", "engine_name", "engine_version"))),
        V1_OLD + "querying_a_built-in_algorithm.rst"),
    "resource_specs": AnswerKeys(_keys(_ENVELOPE, ("spec_total_count", "specs")),
                                 ("specs", _keys(("spec_id", "core", "cpu", "gpu_num", "gpu_type", "spec_code",
                                                  "max_num", "unit_num", "storage", "interface_type",
                                                  "no_resource"))),
                                 V1_SPECS + "querying_job_resource_specifications.rst"),
    "ai_engines": AnswerKeys(_keys(_ENVELOPE, ("engines",)),
                             ("engines", _keys(("engine_type", "engine_name", "engine_id", "engine_version"))),
                             V1_SPECS + "querying_job_engine_specifications.rst"),
}


def answer_problems(endpoint: str, answer: object) -> list[str]:
    """Keys of a v1 answer that its documented table does not have."""
    table = V1_ANSWERS.get(endpoint)
    if table is None or not isinstance(answer, dict):
        return []
    found = [f"$.{key}: not a documented field" for key in sorted(set(answer) - table.top)]
    if table.items is not None:
        list_key, item_keys = table.items
        for index, item in enumerate(answer.get(list_key) or []):
            found += [f"$.{list_key}[{index}].{key}: not a documented field" for key in sorted(set(item) - item_keys)]
    return found
