"""A small, real training script: logistic regression on a CSV of (x1, x2, label), pure Python.

ModelArts runs it as ``python quickstart_train.py --data_url=<dir> --train_url=<dir> --epochs=N --lr=F``.
It writes ``model.json`` and ``metrics.json`` to ``--train_url``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_url", required=True)
    parser.add_argument("--train_url", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--epoch_seconds", type=float, default=0.0, help="pause per epoch (a bigger model)")
    args, _ = parser.parse_known_args()

    rows = []
    for name in sorted(os.listdir(args.data_url)):
        if name.endswith(".csv"):
            with open(os.path.join(args.data_url, name)) as handle:
                rows += [(float(a), float(b), int(c)) for a, b, c in csv.reader(handle)]
    print(f"loaded {len(rows)} rows from {args.data_url}", flush=True)
    w1 = w2 = bias = 0.0
    loss = accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        loss = correct = 0.0
        for x1, x2, label in rows:
            p = 1 / (1 + math.exp(-(w1 * x1 + w2 * x2 + bias)))
            loss -= math.log(p if label else 1 - p)
            correct += (p >= 0.5) == bool(label)
            w1 -= args.lr * (p - label) * x1
            w2 -= args.lr * (p - label) * x2
            bias -= args.lr * (p - label)
        loss, accuracy = loss / len(rows), correct / len(rows)
        print(f"epoch {epoch}/{args.epochs} loss={loss:.4f} accuracy={accuracy:.3f}", flush=True)
        time.sleep(args.epoch_seconds)
    os.makedirs(args.train_url, exist_ok=True)
    with open(os.path.join(args.train_url, "model.json"), "w") as handle:
        json.dump({"w1": w1, "w2": w2, "bias": bias}, handle)
    with open(os.path.join(args.train_url, "metrics.json"), "w") as handle:
        json.dump({"loss": round(loss, 4), "accuracy": round(accuracy, 4), "rows": len(rows),
                   "epochs": args.epochs}, handle)
    print("training finished", flush=True)


if __name__ == "__main__":
    main()
