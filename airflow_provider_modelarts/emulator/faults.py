"""Fault injection: a small spec language, a seeded RNG, changeable at runtime.

Spec: rules separated by ``;``. A rule is ``ENDPOINT=FAULT[/PHASE][@PROBABILITY][#COUNT]``:

- ``ENDPOINT``: an endpoint name (see ``ENDPOINTS`` in :mod:`.app`, e.g. ``create_job``, ``get_version``,
  ``aom_log``, ``iam_token``) or ``*`` for every API endpoint.
- ``FAULT``: an HTTP status (``429``, ``500``, ``502``, ``503``, ``504``; ``429:2`` adds ``Retry-After: 2``),
  ``drop`` (close the connection without an answer), ``latency:SECONDS``, or a documented error code
  (``ModelArts.2819``: answered with the status and message of ``errors.DOCUMENTED_CODES``).
- ``PHASE``: ``before`` (default: the operation does not happen) or ``after`` (it happens, then the answer
  is replaced or lost — e.g. a job created whose create response never arrives).
- ``PROBABILITY``: 0–1, default 1. ``COUNT``: fire at most this many times.

Example: ``create_job=drop/after#1; *=503@0.2; get_version=latency:5@0.1``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

_RULE_RE = re.compile(
    r"^(?P<endpoint>\*|[a-z0-9_]+)=(?P<kind>\d{3}|drop|latency|ModelArts\.\d{4})(?::(?P<arg>[0-9.]+))?"
    r"(?:/(?P<phase>before|after))?(?:@(?P<prob>[0-9.]+))?(?:#(?P<count>\d+))?$"
)
STATUSES = {429, 500, 502, 503, 504}


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    endpoint: str
    kind: str  # "status" | "drop" | "latency"
    status: int = 0
    arg: float | None = None
    phase: str = "before"
    probability: float = 1.0
    remaining: int | None = None
    code: str | None = None


def parse(spec: str | None) -> list[Fault]:
    faults: list[Fault] = []
    for raw in (spec or "").replace("\n", ";").split(";"):
        rule = raw.strip().replace(" ", "")
        if not rule:
            continue
        match = _RULE_RE.match(rule)
        if not match:
            raise FaultSpecError(f"bad fault rule {rule!r}: expected ENDPOINT=FAULT[/PHASE][@PROBABILITY][#COUNT]")
        kind = match["kind"]
        status = 0
        if kind.isdigit():
            status = int(kind)
            if status not in STATUSES:
                raise FaultSpecError(f"bad fault rule {rule!r}: status must be one of {sorted(STATUSES)}")
            kind = "status"
        code = None
        if kind.startswith("ModelArts."):
            from airflow_provider_modelarts.emulator.errors import DOCUMENTED_CODES

            if kind not in DOCUMENTED_CODES:
                raise FaultSpecError(f"bad fault rule {rule!r}: code must be one of {sorted(DOCUMENTED_CODES)}")
            kind, code = "code", kind
        if kind == "latency" and match["arg"] is None:
            raise FaultSpecError(f"bad fault rule {rule!r}: latency needs seconds, e.g. latency:5")
        probability = float(match["prob"]) if match["prob"] else 1.0
        if not 0 <= probability <= 1:
            raise FaultSpecError(f"bad fault rule {rule!r}: probability must be within 0..1")
        faults.append(Fault(match["endpoint"], kind, status, float(match["arg"]) if match["arg"] else None,
                            match["phase"] or "before", probability,
                            int(match["count"]) if match["count"] else None, code))
    return faults


class FaultInjector:
    def __init__(self, spec: str | None = None, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.faults = parse(spec)
        self.fired = 0

    def set(self, spec: str | None, seed: int | None = None) -> None:
        faults = parse(spec)
        with self._lock:
            self.faults = faults
            if seed is not None:
                self._rng.seed(seed)

    def pick(self, endpoint: str, phase: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.phase != phase or fault.endpoint not in ("*", endpoint):
                    continue
                if fault.remaining == 0:
                    continue
                if self._rng.random() >= fault.probability:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                self.fired += 1
                return fault
        return None
