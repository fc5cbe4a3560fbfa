"""Interfaces of what the evaluator persists, with in-memory versions (tests, backtests, runs without ES).

Elasticsearch versions: alerts/es_store.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from alerts.model import AlertEvent


class StateStore(Protocol):
    def load(self) -> tuple[dict[str, Any], datetime | None]:
        """The detector snapshot and the last evaluated window end (None: never evaluated)."""
        ...

    def save(self, states: dict[str, Any], last_end: datetime) -> None: ...


class Lease(Protocol):
    def acquire(self, now: datetime) -> bool:
        """Take or renew the right to evaluate; False while another evaluator holds it."""
        ...

    def release(self) -> None: ...


class History(Protocol):
    def record(self, events: list[AlertEvent]) -> None:
        """Keep alert events for dashboards (idempotent per event key)."""
        ...


class MemoryStateStore:
    def __init__(self) -> None:
        self.states: dict[str, Any] = {}
        self.last_end: datetime | None = None

    def load(self) -> tuple[dict[str, Any], datetime | None]:
        return dict(self.states), self.last_end

    def save(self, states: dict[str, Any], last_end: datetime) -> None:
        self.states, self.last_end = dict(states), last_end


class AlwaysLease:
    """The lease of a lone evaluator."""

    def acquire(self, now: datetime) -> bool:
        return True

    def release(self) -> None:
        return None


class MemoryHistory:
    def __init__(self) -> None:
        self.events: dict[str, AlertEvent] = {}

    def record(self, events: list[AlertEvent]) -> None:
        for event in events:
            self.events[event.key] = event
