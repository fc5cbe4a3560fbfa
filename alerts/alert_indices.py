"""The Elasticsearch indices alerts owns, their names and mappings (pure: no client).

The alert history is the configured index (FINMON_ES__ALERTS_INDEX, `finmon-alerts`, what Kibana shows);
the delivery outbox and the detector state with the one-evaluator lease live next to it, in `<history>-outbox`
and `<history>-state`. All three are small plain indices (history documents are rewritten by id, which a
rollover would duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.store.mappings import IndexSpec

HISTORY_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "status": {"type": "keyword"},
        "fingerprint": {"type": "keyword"},
        "labels": {
            "properties": {
                k: {"type": "keyword"} for k in ("alertname", "rule", "scope", "topic", "ticker", "severity")
            }
        },
        "summary": {"type": "text"},
        "starts_at": {"type": "date"},
        "ends_at": {"type": "date"},
        "at": {"type": "date"},
        "repeat": {"type": "integer"},
        "negative_share": {"type": "float"},
        "baseline_share": {"type": "float"},
        "lift": {"type": "float"},
        "volume": {"type": "integer"},
        "negatives": {"type": "integer"},
        "p_value": {"type": "double"},
        "z": {"type": "float"},
    },
}
OUTBOX_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "state": {"type": "keyword"},
        "target": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "attempts": {"type": "integer"},
        "created_at": {"type": "date"},
        "next_attempt_at": {"type": "date"},
    },
}
STATE_MAPPING: dict[str, Any] = {"dynamic": False, "properties": {"owner": {"type": "keyword"}}}


@dataclass(frozen=True)
class AlertIndices:
    """The names of alerts' indices, all derived from the history index's."""

    history: str

    @property
    def outbox(self) -> str:
        return f"{self.history}-outbox"

    @property
    def state(self) -> str:
        return f"{self.history}-state"

    def specs(self) -> list[IndexSpec]:
        """What `finmon setup` creates or checks for alerts."""
        return [
            IndexSpec(self.history, HISTORY_MAPPING),
            IndexSpec(self.outbox, OUTBOX_MAPPING),
            IndexSpec(self.state, STATE_MAPPING),
        ]
