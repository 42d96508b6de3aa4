"""Validation of a v2 create body (``POST /v2/{project_id}/training-jobs``) from its documented rules.

Each rule names its source: SDK = the ``huaweicloudsdkmodelarts.v1.model`` class (field and docstring), OTC =
the error-code appendix that gives the code and HTTP status answered. The shape itself (unknown keys, types) is
the SDK model's, checked by the conformance tests; here are the rules a real service enforces on top of it.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_modelarts.catalogue import POOL_FLAVORS
from airflow_provider_modelarts.emulator import catalog
from airflow_provider_modelarts.emulator.errors import EmulatorError

INVALID_PARAM = (400, "ModelArts.2788")  # OTC InvalidParam
CHANNEL_ERROR = (400, "ModelArts.2753")  # OTC InputsOutputsMessageError
FLAVOR_NOT_FOUND = (400, "ModelArts.2781")  # OTC FlavorNotFound
FLAVOR_OUT_OF_RANGE = (400, "ModelArts.2793")  # OTC FlavorOutOfRange
INVALID_FLAVOR = (400, "ModelArts.2763")  # OTC DoNotHaveFlavor: "The selected flavor is invalid."
POOL_NOT_FOUND = (404, "ModelArts.2890")  # OTC PoolNotFound

#: Job.kind (SDK docstring enum)
KINDS = ("job", "federated_pool_job", "edge_job", "hetero_job", "mrs_job", "autosearch_job", "diag_job",
         "visualization_job")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # JobMetadata.name (SDK)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # JobAlgorithm.environments (SDK): ≤ 100 pairs


def _fail(code: tuple[int, str], message: str) -> EmulatorError:
    return EmulatorError(code, message, style="v2")


def _require(condition: bool, message: str, code: tuple[int, str] = INVALID_PARAM) -> None:
    if not condition:
        raise _fail(code, message)


def validate_v2_body(body: dict[str, Any]) -> None:
    """Raise the documented v2 error for the first rule the body breaks."""
    _require(body.get("kind", "job") in KINDS, f"Invalid parameter(kind): expected one of {', '.join(KINDS)}.")
    metadata = body.get("metadata")
    _require(isinstance(metadata, dict), "Invalid parameter(metadata): required.")
    name = metadata.get("name")
    _require(isinstance(name, str) and bool(NAME_RE.match(name)),
             "Invalid parameter(metadata.name): 1-64 characters from letters, digits, '-' and '_'.")
    _require(len(str(metadata.get("description") or "")) <= 256,
             "Invalid parameter(metadata.description): at most 256 characters.")
    algorithm = body.get("algorithm")
    _require(isinstance(algorithm, dict), "Invalid parameter(algorithm): required.")
    _check_algorithm(algorithm)
    _check_channels(algorithm.get("inputs") or [], "inputs")
    _check_channels(algorithm.get("outputs") or [], "outputs")
    _check_resource((body.get("spec") or {}).get("resource"))


def _check_algorithm(algorithm: dict[str, Any]) -> None:
    engine = algorithm.get("engine") or {}
    subscribed = algorithm.get("subscription_id") or algorithm.get("item_version_id")
    ways = [bool(algorithm.get("id")), bool(subscribed), bool(engine.get("image_url")),
            bool(engine.get("engine_id") or engine.get("engine_name"))]
    _require(sum(ways) == 1, "Invalid parameter(algorithm): exactly one of id, subscription_id + item_version_id, "
                             "engine.image_url (custom image), engine (engine_id or engine_name + engine_version).")
    if subscribed:  # JobAlgorithm: "应与item_version_id一同出现" — they go together
        _require(bool(algorithm.get("subscription_id")) and bool(algorithm.get("item_version_id")),
                 "Invalid parameter(algorithm.subscription_id): goes together with algorithm.item_version_id.")
    if engine.get("engine_name") and not engine.get("engine_id"):
        _require(bool(engine.get("engine_version")),
                 "Invalid parameter(algorithm.engine.engine_version): required with engine_name.")
    # JobAlgorithm.code_dir / boot_file: "应与boot_file一同出现" — together, unless id or a subscription is given
    if algorithm.get("code_dir") or algorithm.get("boot_file"):
        _require(bool(algorithm.get("code_dir")) and bool(algorithm.get("boot_file")),
                 "Invalid parameter(algorithm.code_dir): goes together with algorithm.boot_file.")
    elif ways[3]:
        raise _fail(INVALID_PARAM, "Invalid parameter(algorithm.code_dir): required with an engine.")
    if ways[2]:
        _require(bool(algorithm.get("command")), "Invalid parameter(algorithm.command): required with a custom "
                                                 "image.")
    environments = algorithm.get("environments") or {}
    _require(isinstance(environments, dict) and len(environments) <= 100
             and all(isinstance(k, str) and ENV_NAME_RE.match(k) and len(k) <= 8192 and isinstance(v, str)
                     and len(v) <= 4096 for k, v in environments.items()),
             "Invalid parameter(algorithm.environments): at most 100 string pairs; names of letters, digits and "
             "'_' not starting with a digit.")
    parameters = algorithm.get("parameters") or []
    _require(isinstance(parameters, list) and all(isinstance(p, dict) and isinstance(p.get("name"), str)
                                                  and p.get("name") for p in parameters),
             "Invalid parameter(algorithm.parameters): a list of {name, value}.")
    names = [p["name"] for p in parameters]
    _require(len(names) == len(set(names)), "parameter key repeat.", (400, "ModelArts.2767"))


def _check_channels(channels: Any, kind: str) -> None:
    """Input: a name and one ``remote`` — ``obs.obs_url`` or ``dataset`` (id + version_id); output: a name and
    ``remote.obs.obs_url`` (SDK Input / Output). Channel names are unique."""
    _require(isinstance(channels, list), f"input and output channel information is not standardized ({kind}).",
             CHANNEL_ERROR)
    seen: set[str] = set()
    for index, channel in enumerate(channels):
        where = f"{kind}[{index}]"
        _require(isinstance(channel, dict) and isinstance(channel.get("name"), str) and bool(channel.get("name")),
                 f"input and output channel information is not standardized ({where}.name is required).",
                 CHANNEL_ERROR)
        _require(channel["name"] not in seen, f"input and output channel information is not standardized "
                                              f"(duplicate channel {channel['name']}).", CHANNEL_ERROR)
        seen.add(channel["name"])
        remote = channel.get("remote") or {}
        obs = (remote.get("obs") or {}).get("obs_url")
        dataset = remote.get("dataset") or {}
        if kind == "outputs":
            _require(bool(obs) and not dataset, f"input and output channel information is not standardized "
                                                f"({where}.remote.obs.obs_url is required).", CHANNEL_ERROR)
        else:
            _require(bool(obs) != bool(dataset), f"input and output channel information is not standardized "
                                                 f"({where}: one of remote.obs, remote.dataset).", CHANNEL_ERROR)
            if dataset:
                _require(bool(dataset.get("id")) and bool(dataset.get("version_id")),
                         f"input and output channel information is not standardized ({where}.remote.dataset "
                         f"needs id and version_id).", CHANNEL_ERROR)


def _check_resource(resource: Any) -> None:
    _require(isinstance(resource, dict), "Invalid parameter(spec.resource): required.")
    count = resource.get("node_count", 1)
    _require(isinstance(count, int) and not isinstance(count, bool) and count >= 1,
             "Invalid parameter(spec.resource.node_count): an integer >= 1.")
    flavor, pool_id = resource.get("flavor_id"), resource.get("pool_id")
    if pool_id:
        pool = catalog.pool(str(pool_id))
        if pool is None:
            raise _fail(POOL_NOT_FOUND, f"Pool ({pool_id}) does not exist")
        if pool["flavor_type"] == "CPU":
            _require(not flavor, "The selected flavor is invalid: a CPU dedicated pool takes no flavor_id.",
                     INVALID_FLAVOR)
        else:
            _require(flavor in POOL_FLAVORS, f"The selected flavor is invalid: a {pool['flavor_type']} dedicated "
                                             f"pool takes one of {', '.join(POOL_FLAVORS)}.", INVALID_FLAVOR)
        _require(count <= pool["max_node_count"], f"The number of flavor instances ({count}) exceeds the maximum "
                                                  f"({pool['max_node_count']}).", FLAVOR_OUT_OF_RANGE)
        return
    _require(bool(flavor), "Invalid parameter(spec.resource.flavor_id): required without a pool_id.")
    spec = catalog.spec_by_code(str(flavor))
    if spec is None:
        raise _fail(FLAVOR_NOT_FOUND, f"Flavor ({flavor}) not found.")
    _require(count <= spec["max_num"], f"The number of flavor instances ({count}) exceeds the maximum "
                                       f"({spec['max_num']}).", FLAVOR_OUT_OF_RANGE)
