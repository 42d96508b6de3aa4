"""Validate a JSON value against an official ``huaweicloudsdkmodelarts`` model (openapi_types/attribute_map)."""

from __future__ import annotations

import re
from typing import Any

import huaweicloudsdkmodelarts.v1.model as sdk

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(str, (.+)\)$")


def problems(value: Any, type_name: str, path: str = "$") -> list[str]:
    """Every way ``value`` breaks the SDK type: unknown key, wrong type, wrong nesting."""
    if value is None:
        return []
    if (match := _LIST.match(type_name)) is not None:
        if not isinstance(value, list):
            return [f"{path}: expected a list ({type_name}), got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in problems(item, match.group(1), f"{path}[{i}]")]
    if (match := _DICT.match(type_name)) is not None:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return [f"{path}: expected an object with string keys ({type_name})"]
        return [p for k, item in value.items() for p in problems(item, match.group(1), f"{path}.{k}")]
    primitive = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "object": (object,)}
    if type_name in primitive:
        ok = isinstance(value, primitive[type_name]) and not (type_name in ("int", "float") and
                                                              isinstance(value, bool))
        return [] if ok else [f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"]
    model = getattr(sdk, type_name, None)
    if model is None:
        return [f"{path}: unknown SDK type {type_name}"]
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({type_name}), got {type(value).__name__}"]
    by_json = {json_key: attr for attr, json_key in model.attribute_map.items()}
    found = []
    for key, item in value.items():
        if key not in by_json:
            found.append(f"{path}.{key}: not a field of {type_name}")
            continue
        found += problems(item, model.openapi_types[by_json[key]], f"{path}.{key}")
    return found
