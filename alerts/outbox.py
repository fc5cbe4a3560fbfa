"""The delivery outbox: every notification is stored before it is sent, and stays until delivered or dropped.

A delivery's id is derived from the alert event and the target, so adding the same notification twice (after
a crash between storing and the detector's state being saved) keeps one delivery: nothing sent twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

Kind = Literal["alertmanager", "slack"]
State = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class Target:
    """A webhook receiver. Only its id is stored with deliveries: Slack URLs are secrets."""

    url: str
    kind: Kind

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.kind} {self.url}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Delivery:
    """One notification to one target, with the exact body to send and its retry bookkeeping."""

    id: str
    target: str
    kind: Kind
    body: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    state: State = "pending"
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["next_attempt_at"] = self.next_attempt_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delivery:
        return cls(
            **{
                **data,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "next_attempt_at": datetime.fromisoformat(data["next_attempt_at"]),
            }
        )

    def retried(self, at: datetime, error: str) -> Delivery:
        return replace(self, attempts=self.attempts + 1, next_attempt_at=at, last_error=error)

    def finished(self, state: State, error: str = "") -> Delivery:
        return replace(self, attempts=self.attempts + 1, state=state, last_error=error)


class Outbox(Protocol):
    def add(self, deliveries: list[Delivery]) -> None:
        """Store new deliveries; ids already stored are left as they are (idempotent)."""
        ...

    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        ...

    def update(self, delivery: Delivery) -> None:
        """Store a delivery's new state after an attempt."""
        ...


class MemoryOutbox:
    """An outbox in a dict: for backtests, tests and runs without Elasticsearch."""

    def __init__(self) -> None:
        self.items: dict[str, Delivery] = {}

    def add(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self.items.setdefault(delivery.id, delivery)

    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        ready = [d for d in self.items.values() if d.state == "pending" and d.next_attempt_at <= now]
        return sorted(ready, key=lambda d: (d.next_attempt_at, d.id))[:limit]

    def update(self, delivery: Delivery) -> None:
        self.items[delivery.id] = delivery
