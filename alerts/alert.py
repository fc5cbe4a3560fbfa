"""The alert data model (Alertmanager's): labels identify an alert, annotations describe it.

Pure data: the state changes the detector emits, with the scope and onset their evidence is looked up by.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from alerts.scopes import ScopeKey
from monitor.times import iso

ALERT_NAME = "NegativeNewsSpike"
Status = Literal["firing", "resolved"]


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit id of a label set (what Alertmanager calls the fingerprint)."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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
    # what the detector watched and when the episode began: where its evidence is looked up (not in payloads)
    scope: ScopeKey | None = None
    onset: datetime | None = None

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
