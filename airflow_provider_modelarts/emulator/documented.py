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
