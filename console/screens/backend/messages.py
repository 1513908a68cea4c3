"""What the Backend screen's workers post; the screen's handlers own the widgets and the engines."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message

from console.screens.backend.sides import Side
from stores.transfer.drill import DrillReport, DrillStep
from stores.transfer.snapshot_file import MemoryTransfer
from stores.transfer.switch import SwitchReport


@dataclass
class SideOpened(Message):
    engine: Any


@dataclass
class SideFailed(Message):
    text: str


@dataclass
class CountsLoaded(Message):
    memory: Side
    postgres: Side


@dataclass
class SwitchReady(Message):
    target: Any
    source_rows: int | None
    target_counts: dict[str, int] | None


@dataclass
class Progressed(Message):
    step: str | None
    table: str
    done: int
    expected: int


@dataclass
class SwitchEnded(Message):
    target: Any
    report: SwitchReport | None
    problem: str | None


@dataclass
class DrillStepped(Message):
    step: DrillStep


@dataclass
class DrillEnded(Message):
    postgres: Any
    report: DrillReport | None
    path: Path | None
    problem: str | None


@dataclass
class Verified(Message):
    differences: list[str] | None
    problem: str | None


@dataclass
class TransferEnded(Message):
    kind: str
    engine: Any
    path: str
    replace: bool
    transfer: MemoryTransfer | None
    problem: str | None
