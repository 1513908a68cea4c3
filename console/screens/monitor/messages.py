"""What the Monitor screen's workers post."""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from stores.monitor import PostgresMonitor, Sample
from stores.timing import OperationStats


@dataclass
class Sampled(Message):
    sample: Sample | None
    timings: list[OperationStats]
    monitor: PostgresMonitor | None
    seconds: float


@dataclass
class SampleFailed(Message):
    text: str
    timings: list[OperationStats]


@dataclass
class ActionDone(Message):
    text: str
    problem: bool
