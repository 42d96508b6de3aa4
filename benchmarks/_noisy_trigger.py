"""A trigger with no provider code in it, for ``benchmarks/triggerer_deadlock.py``: it logs ``lines`` lines every
``interval`` seconds and fires after ``seconds`` — what a trigger that tails a log does, minus the HTTP."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class NoisyTrigger(BaseTrigger):
    """:param seconds: when to fire. :param interval: seconds between bursts. :param lines: lines per burst."""

    def __init__(self, *, seconds: float, interval: float = 10.0, lines: int = 1) -> None:
        super().__init__()
        self.seconds, self.interval, self.lines = seconds, interval, lines

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("benchmarks._noisy_trigger.NoisyTrigger",
                {"seconds": self.seconds, "interval": self.interval, "lines": self.lines})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        loop = asyncio.get_running_loop()
        end = loop.time() + self.seconds
        await asyncio.sleep(self.interval * random.random())
        burst = 0
        while loop.time() < end:
            burst += 1
            for line in range(self.lines):
                self.log.info("[worker-0] burst %d line %d: epoch loss 0.%06d", burst, line, random.randrange(10**6))
            await asyncio.sleep(self.interval)
        yield TriggerEvent({"status": "success"})
