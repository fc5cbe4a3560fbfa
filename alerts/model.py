"""The alert data model (Alertmanager's): labels identify an alert, annotations describe it.

Pure data: counts per scope and step, and the state changes the detector emits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from monitor.times import iso

ALERT_NAME = "NegativeNewsSpike"
Status = Literal["firing", "resolved"]
ScopeKey = tuple[str, str]  # (kind, value): ("all", ""), ("topic", "earnings"), ("ticker", "AAPL")


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit id of a label set (what Alertmanager calls the fingerprint)."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Series:
    """Negative and total counts per step bucket, oldest first."""

    negatives: list[int]
    totals: list[int]
    # distinct stories (plus news without a story id) per bucket where the source knows them, whatever the rule
    # counts: the burst tests judge stories (a syndicated story's copies are not a burst)
    story_negatives: list[int] | None = None
    story_totals: list[int] | None = None


@dataclass(frozen=True)
class Observation:
    """One scope's counts in one step [start, end), for one rule: what the detector judges."""

    rule: str
    scope: ScopeKey
    start: datetime
    end: datetime
    negatives: int
    volume: int
    story_negatives: int | None = None  # the same step's distinct stories, where the source knows them
    story_volume: int | None = None

    def stories(self) -> tuple[int, int] | None:
        """(negative stories, stories) in the step, or None where the source counts items only."""
        if self.story_negatives is None or self.story_volume is None:
            return None
        return self.story_negatives, self.story_volume


@dataclass(frozen=True)
class AlertEvent:
    """A state change (or a repeat) of one alert: what is indexed, notified and printed by the backtest."""

    status: Status
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    at: datetime  # when the detector emitted it (the evaluated window's end)
    values: dict[str, float] = field(default_factory=dict)
    repeat: int = 0  # 0 for the first firing notification of an episode, 1.. for re-sends
    evidence: tuple[dict[str, Any], ...] = ()  # the episode's most negative headlines (title, source, url, ...)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def key(self) -> str:
        """Unique per notification: the alert, its episode, its status and repeat count."""
        return f"{self.fingerprint}-{int(self.starts_at.timestamp())}-{self.status}-{self.repeat}"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": iso(self.starts_at),
            "endsAt": iso(self.ends_at) if self.ends_at else None,
            "fingerprint": self.fingerprint,
            "at": iso(self.at),
            "repeat": self.repeat,
            "values": self.values,
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertEvent:
        return cls(
            status=data["status"],
            labels=dict(data["labels"]),
            annotations=dict(data["annotations"]),
            starts_at=datetime.fromisoformat(data["startsAt"]),
            ends_at=datetime.fromisoformat(data["endsAt"]) if data.get("endsAt") else None,
            at=datetime.fromisoformat(data["at"]),
            values=dict(data.get("values", {})),
            repeat=int(data.get("repeat", 0)),
            evidence=tuple(dict(item) for item in data.get("evidence", [])),
        )
