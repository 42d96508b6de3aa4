"""Built-in 'XGBoost_Classifier' stand-in: fits a one-feature threshold classifier on CSV rows 'x,label'."""

from __future__ import annotations

import csv

from _common import parse_args, read_files, write_outputs

args = parse_args()
rows = []
for path in read_files(args.data_url):
    if path.suffix == ".csv":
        with path.open() as handle:
            rows += [(float(r[0]), r[1]) for r in csv.reader(handle) if r and r[0].replace(".", "", 1).isdigit()]
best = (0.0, 0.0)
for threshold in sorted({x for x, _ in rows}):
    accuracy = sum((x >= threshold) == (label == "1") for x, label in rows) / max(1, len(rows))
    best = max(best, (accuracy, threshold))
print(f"rows={len(rows)} best threshold={best[1]} accuracy={best[0]:.3f}", flush=True)
write_outputs(args.train_url, {"algorithm": "XGBoost_Classifier", "threshold": best[1]},
              {"accuracy": round(best[0], 4), "rows": len(rows)})
