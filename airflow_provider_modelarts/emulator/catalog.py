"""Lookup catalogues the emulator serves (§2.12): AI engines, resource specs, built-in algorithms.

Ids follow the real values quoted in ``shared/modelarts-api.md`` where it gives them.
"""

from __future__ import annotations

import json
from pathlib import Path

ALGORITHMS_DIR = Path(__file__).parent / "algorithms"

AI_ENGINES = [
    {"engine_type": 1, "engine_name": "TensorFlow", "engine_id": 3, "engine_version": "TF-1.8.0-python2.7"},
    {"engine_type": 1, "engine_name": "TensorFlow", "engine_id": 4, "engine_version": "TF-1.8.0-python3.6"},
    {"engine_type": 1, "engine_name": "TensorFlow", "engine_id": 5, "engine_version": "TF-2.1.0-python3.6"},
    {"engine_type": 2, "engine_name": "MXNet", "engine_id": 17, "engine_version": "MXNet-1.2.1-python3.6"},
    {"engine_type": 6, "engine_name": "Scikit Learn", "engine_id": 90, "engine_version": "Scikit_Learn-0.18.1-python3.6"},
    {"engine_type": 9, "engine_name": "XGBoost-Sklearn", "engine_id": 100,
     "engine_version": "XGBoost-0.80-Sklearn-0.18.1-python3.6"},
    {"engine_type": 10, "engine_name": "PyTorch", "engine_id": 122, "engine_version": "PyTorch-1.0.0-python3.6"},
    {"engine_type": 10, "engine_name": "PyTorch", "engine_id": 123, "engine_version": "PyTorch-1.3.0-python3.6"},
    {"engine_type": 17, "engine_name": "MindSpore-GPU", "engine_id": 160, "engine_version": "MindSpore-1.3.0-python3.7"},
]

RESOURCE_SPECS = [
    {"spec_id": 7, "core": "2", "cpu": "8", "gpu_num": 0, "gpu_type": "", "spec_code": "modelarts.vm.cpu.2u",
     "flavor_name": "Computing CPU(2U) instance", "unit_num": 1, "max_num": 2, "storage": "", "interface_type": 1, "no_resource": False},
    {"spec_id": 27, "core": "8", "cpu": "32", "gpu_num": 0, "gpu_type": "", "spec_code": "modelarts.vm.cpu.8u",
     "flavor_name": "Computing CPU(8U) instance", "unit_num": 1, "max_num": 5, "storage": "", "interface_type": 1, "no_resource": False},
    {"spec_id": 40, "core": "8", "cpu": "64", "gpu_num": 1, "gpu_type": "v100", "spec_code": "modelarts.vm.gpu.free",
     "flavor_name": "Computing GPU(free) instance", "unit_num": 1, "max_num": 1, "storage": "", "interface_type": 1, "no_resource": False},
]


def _params(*items: tuple[str, str, bool]) -> str:
    return json.dumps([{"label": label, "value": value, "placeholder_cn": "", "placeholder_en": label,
                        "required": required} for label, value, required in items])


BUILT_IN_ALGORITHMS = [
    {"model_id": 1, "model_name": "Faster_RCNN_ResNet_v1_50", "model_usage": 2, "model_precision": "74.2%(mAP)",
     "model_size": 121067855, "model_train_dataset": "PASCAL VOC2007", "model_dataset_format": "labels.txt",
     "model_description_url": "", "parameter": _params(("max_epoches", "2", False), ("learning_rate", "0.01", False)),
     "create_time": 1551839522000, "engine_id": 4, "engine_name": "TensorFlow", "engine_version": "TF-1.8.0-python3.6",
     "script": "faster_rcnn.py"},
    {"model_id": 4, "model_name": "ResNet_v2_50", "model_usage": 1, "model_precision": "75.55%(top1)",
     "model_size": 102503801, "model_train_dataset": "ImageNet", "model_dataset_format": "labels.txt",
     "model_description_url": "", "parameter": _params(("max_epoches", "2", False)),
     "create_time": 1551839522000, "engine_id": 17, "engine_name": "MXNet", "engine_version": "MXNet-1.2.1-python3.6",
     "script": "resnet.py"},
    {"model_id": 7, "model_name": "XGBoost_Classifier", "model_usage": 3, "model_precision": "",
     "model_size": 1024, "model_train_dataset": "CSV", "model_dataset_format": "csv",
     "model_description_url": "", "parameter": _params(("max_depth", "3", False)),
     "create_time": 1551839522000, "engine_id": 100, "engine_name": "XGBoost-Sklearn",
     "engine_version": "XGBoost-0.80-Sklearn-0.18.1-python3.6", "script": "linear_classifier.py"},
]


#: Dedicated resource pools of the emulated account (a GPU pool takes the documented pool flavors, a CPU pool no
#: flavor_id: SpecResource.flavor_id in the SDK)
POOLS = [
    {"pool_id": "pool-gpu-demo", "flavor_type": "GPU", "max_node_count": 4},
    {"pool_id": "pool-cpu-demo", "flavor_type": "CPU", "max_node_count": 4},
]


def pool(pool_id: str) -> dict | None:
    return next((p for p in POOLS if p["pool_id"] == pool_id), None)


def public_algorithm(algorithm: dict) -> dict:
    return {k: v for k, v in algorithm.items() if k != "script"}


def engine(engine_id: int) -> dict | None:
    return next((e for e in AI_ENGINES if e["engine_id"] == engine_id), None)


def spec_by_id(spec_id: int) -> dict | None:
    return next((s for s in RESOURCE_SPECS if s["spec_id"] == spec_id), None)


def spec_by_code(code: str) -> dict | None:
    return next((s for s in RESOURCE_SPECS if s["spec_code"] == code), None)


def algorithm(model_id: int) -> dict | None:
    return next((a for a in BUILT_IN_ALGORITHMS if a["model_id"] == model_id), None)
