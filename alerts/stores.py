"""Interfaces of what the evaluator persists: its state, its lease, the alert history.

Elasticsearch versions: alerts/es_store.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from alerts.alert import AlertEvent


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
