"""The shared `Emulator` state of one server process and its accessor for request handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from .clock import Clock
from .runtime import FaultQueue, Stats, Throttle
from .store import Store

EXTENSION_KEY = "qbo_emulator"
DROP_KEY = "qbo_emulator.drop"
DEFAULT_DB = Path("instance") / "qbo_emulator.db"
SLEPT_KEY = "qbo_emulator.slept"  # seconds a request slept on purpose (latency, slow fault)


@dataclass
class Emulator:
    """Everything the request handlers share inside one server process."""

    store: Store
    clock: Clock
    latency_ms: float = 0.0
    control: bool = False
    limits: bool = True  # QBO's throttle (off: `--no-limits`, for the benchmark's scale runs)
    batch_limit: int = 30
    throttle: Throttle = field(init=False)
    faults: FaultQueue = field(default_factory=FaultQueue)
    stats: Stats = field(default_factory=Stats)
    realms: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.clock, enabled=self.limits)


def emulator() -> Emulator:
    emu: Emulator = current_app.extensions[EXTENSION_KEY]
    return emu
