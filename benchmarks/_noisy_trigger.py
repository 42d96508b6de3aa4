"""A trigger with no provider code in it: it logs ``lines`` lines every ``interval`` seconds and fires after
``seconds`` (or at the epoch time ``until``) — what a trigger that tails a log does, minus the HTTP. With
``lines=0`` it is benchmark 8's baseline: it wakes as often as a ``TrainingJobTrigger`` polls and does nothing
else, so what it costs the triggerer is Airflow's own share (``benchmarks/triggerer_deadlock.py`` uses it noisy)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class NoisyTrigger(BaseTrigger):
    """:param seconds: when to fire, counted from the trigger's start. :param until: when to fire, epoch seconds
    (instead of ``seconds``): checked at each wake-up, like a poll. :param interval: seconds between wake-ups.
    :param lines: lines logged per wake-up."""

    def __init__(self, *, seconds: float = 0.0, interval: float = 10.0, lines: int = 1,
                 until: float | None = None) -> None:
        super().__init__()
        self.seconds, self.interval, self.lines, self.until = seconds, interval, lines, until

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("benchmarks._noisy_trigger.NoisyTrigger",
                {"seconds": self.seconds, "interval": self.interval, "lines": self.lines, "until": self.until})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        end = self.until if self.until is not None else time.time() + self.seconds
        await asyncio.sleep(self.interval * random.random())
        burst = 0
        while time.time() < end:
            burst += 1
            for line in range(self.lines):
                self.log.info("[worker-0] burst %d line %d: epoch loss 0.%06d", burst, line, random.randrange(10**6))
            await asyncio.sleep(self.interval)
        yield TriggerEvent({"status": "success"})
