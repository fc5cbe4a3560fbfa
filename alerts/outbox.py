"""The delivery outbox: every notification is stored before it is sent, and stays until delivered or dropped.

A delivery's id is derived from the alert event and the target, so adding the same notification twice (after
a crash between storing and the detector's state being saved) keeps one delivery: nothing sent twice.

Exactly one sender at a time per delivery: `claim` takes due deliveries by moving their next attempt past the
time a send can take (compare-and-swap on the stored version), so the evaluator's immediate delivery, the
scheduled delivery job and other evaluator processes never send the same delivery at once; `update` after the
attempt succeeds only on the version it claimed (a delivery rewritten meanwhile by `put` is left pending).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

Kind = Literal["alertmanager", "slack", "alertmanager_api"]
State = Literal["pending", "delivered", "failed"]
KINDS: tuple[Kind, ...] = ("alertmanager", "slack", "alertmanager_api")


@dataclass(frozen=True)
class Target:
    """A receiver: a webhook (Alertmanager v4 JSON or Slack) or an Alertmanager's API (`alertmanager_api`).
    Only its id is stored with deliveries: Slack URLs are secrets."""

    url: str
    kind: Kind

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.kind} {self.url}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Delivery:
    """One notification to one target, with the exact body to send and its retry bookkeeping. `version` is
    the stored version a claim saw (not stored itself)."""

    id: str
    target: str
    kind: Kind
    body: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    state: State = "pending"
    last_error: str = ""
    version: tuple[int, int] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["version"]
        data["created_at"] = self.created_at.isoformat()
        data["next_attempt_at"] = self.next_attempt_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], version: tuple[int, int] | None = None) -> Delivery:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "version"}
        return cls(
            **{
                **known,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "next_attempt_at": datetime.fromisoformat(data["next_attempt_at"]),
            },
            version=version,
        )

    def retried(self, at: datetime, error: str) -> Delivery:
        return replace(self, attempts=self.attempts + 1, next_attempt_at=at, last_error=error)

    def finished(self, state: State, error: str = "") -> Delivery:
        return replace(self, attempts=self.attempts + 1, state=state, last_error=error)


class Outbox(Protocol):
    def add(self, deliveries: list[Delivery]) -> None:
        """Store new deliveries; ids already stored are left as they are (idempotent)."""
        ...

    def put(self, deliveries: list[Delivery]) -> None:
        """Store deliveries, replacing any with the same id (a newer state of the same alert to re-send)."""
        ...

    def claim(
        self,
        now: datetime,
        until: datetime,
        target: str | None = None,
        limit: int = 100,
        exclude: Collection[str] = (),
    ) -> list[Delivery]:
        """Pending deliveries due at `now` (of `target`, or of any target but those in `exclude`; oldest
        first), each taken by this caller alone: their next attempt moves to `until`, so no other claim returns
        them before then."""
        ...

    def update(self, delivery: Delivery) -> bool:
        """Store a claimed delivery's new state; False (nothing stored) when it changed since the claim."""
        ...

    def backlog(self) -> dict[Kind, int]:
        """Pending deliveries per kind of receiver."""
        ...
