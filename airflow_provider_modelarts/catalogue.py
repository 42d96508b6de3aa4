"""Typed catalogue entries: what a name in the seed's parameters resolves to, per API version.

v1: resource specs, AI engines and built-in algorithms (``/v1/{project_id}/job/...``); v2: training flavors,
engines and algorithms (``/v2/{project_id}/training-job-flavors`` …). No raw API dict crosses a module boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.models import _int_or_none, parse_id


# ---------------------------------------------------------------------------------------------------- v1
@dataclass(frozen=True)
class ResourceSpec:
    spec_id: int
    spec_code: str
    max_num: int
    no_resource: bool = False

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> ResourceSpec:
        return cls(
            spec_id=parse_id(body.get("spec_id"), field_name="spec_id"),
            spec_code=str(body.get("spec_code")),
            max_num=int(body.get("max_num") or 1),
            no_resource=bool(body.get("no_resource", False)),
        )


@dataclass(frozen=True)
class AiEngine:
    engine_id: int
    engine_name: str
    engine_version: str
    engine_type: int | None = None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> AiEngine:
        return cls(
            engine_id=parse_id(body.get("engine_id"), field_name="engine_id"),
            engine_name=str(body.get("engine_name")),
            engine_version=str(body.get("engine_version")),
            engine_type=_int_or_none(body.get("engine_type")),
        )


@dataclass(frozen=True)
class BuiltInAlgorithm:
    model_id: int
    model_name: str
    engine_id: int | None = None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> BuiltInAlgorithm:
        return cls(
            model_id=parse_id(body.get("model_id"), field_name="model_id"),
            model_name=str(body.get("model_name")),
            engine_id=_int_or_none(body.get("engine_id")),
        )


# ---------------------------------------------------------------------------------------------------- v2
#: SpecResource.flavor_id (SDK docstring): the flavors a GPU/Ascend dedicated pool takes; a CPU pool takes none
POOL_FLAVORS = ("modelarts.pool.visual.xlarge", "modelarts.pool.visual.2xlarge", "modelarts.pool.visual.4xlarge",
                "modelarts.pool.visual.8xlarge", "modelarts.pool.visual.16xlarge")


@dataclass(frozen=True)
class Flavor:
    """One entry of ``GET /v2/{project_id}/training-job-flavors``."""

    flavor_id: str
    flavor_name: str
    flavor_type: str
    max_num: int | None = None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Flavor:
        info = body.get("flavor_info") or {}
        return cls(flavor_id=str(body.get("flavor_id") or ""), flavor_name=str(body.get("flavor_name") or ""),
                   flavor_type=str(body.get("flavor_type") or ""), max_num=_int_or_none(info.get("max_num")))


@dataclass(frozen=True)
class Engine:
    """One entry of ``GET /v2/{project_id}/training-job-engines``."""

    engine_id: str
    engine_name: str
    engine_version: str

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Engine:
        return cls(engine_id=str(body.get("engine_id") or ""), engine_name=str(body.get("engine_name") or ""),
                   engine_version=str(body.get("engine_version") or ""))


@dataclass(frozen=True)
class Algorithm:
    """One entry of ``GET /v2/{project_id}/algorithms`` (``metadata.id`` / ``metadata.name``)."""

    algorithm_id: str
    name: str

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Algorithm:
        metadata = body.get("metadata") or {}
        return cls(algorithm_id=str(metadata.get("id") or ""), name=str(metadata.get("name") or ""))
