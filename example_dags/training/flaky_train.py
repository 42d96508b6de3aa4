"""Fails on its first run, succeeds on the next: shows task retries turning V0001 FAILED into V0002.

It remembers the first run with a marker file next to itself (its code directory, which the emulator runs it
in); on real ModelArts, point --marker_url at an OBS-mounted path instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--data_url", required=True)
parser.add_argument("--train_url", required=True)
parser.add_argument("--run_key", default="default")
args, _ = parser.parse_known_args()
marker = f".failed-once-{args.run_key}"
print("flaky training starting", flush=True)
if not os.path.exists(marker):
    open(marker, "w").close()
    for step in range(5):
        print(f"step {step}: ok", flush=True)
    print("RuntimeError: CUDA out of memory (simulated) - failing this run on purpose", flush=True)
    sys.exit(1)
os.makedirs(args.train_url, exist_ok=True)
with open(os.path.join(args.train_url, "metrics.json"), "w") as handle:
    json.dump({"accuracy": 0.9}, handle)
print("second run: training finished", flush=True)
