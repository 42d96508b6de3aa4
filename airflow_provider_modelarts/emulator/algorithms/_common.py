"""Helpers shared by the bundled built-in algorithm scripts (standard library only)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_url", required=True)
    parser.add_argument("--train_url", required=True)
    parser.add_argument("--max_epoches", type=int, default=2)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--max_depth", type=int, default=3)
    args, _ = parser.parse_known_args()
    return args


def read_files(data_url: str) -> list[Path]:
    return sorted(p for p in Path(data_url).rglob("*") if p.is_file())


def write_outputs(train_url: str, model: dict, metrics: dict) -> None:
    out = Path(train_url)
    out.mkdir(parents=True, exist_ok=True)
    rank = os.environ.get("DLS_TASK_INDEX", "0")
    if rank == "0":
        (out / "model.json").write_text(json.dumps(model, indent=2))
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"wrote model and metrics to {train_url}", flush=True)
