"""finmon's alerts beside Alertmanager's view of them (pure): the latest event of each alert episode from
the alerts index, Alertmanager's `GET /api/v2/alerts` answer read defensively, and the two matched by the
labels that identify a finmon alert (rule, scope, topic or ticker; Alertmanager's fingerprint differs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

IDENTITY = ("rule", "scope", "topic", "ticker")
MAX_IDS = 20  # silence / inhibiting alert ids kept per alert (a page row, not a dump)

Identity = tuple[tuple[str, str], ...]


def identity(labels: Mapping[str, Any]) -> Identity:
    """The labels that name one finmon alert, empty ones left out (Alertmanager drops empty labels)."""
    found = ((name, labels.get(name)) for name in IDENTITY)
    return tuple((name, str(value)) for name, value in found if value not in (None, ""))


def display_url(url: str) -> str:
    """An Alertmanager as the page names it: no credentials, no query (user:password@, ?token=)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class AmAlert:
    """One alert as an Alertmanager holds it: active, silenced, inhibited (or unprocessed, just received)."""

    state: str
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value[:MAX_IDS]) if isinstance(value, list) else ()


def am_alert(status: Any) -> AmAlert:
    """Alertmanager's `status` object: `suppressed` becomes silenced (by a silence) or inhibited (by another
    alert); a silence wins where both hold, as it is the one an operator set."""
    status = status if isinstance(status, dict) else {}
    silenced, inhibited = _ids(status.get("silencedBy")), _ids(status.get("inhibitedBy"))
    state = str(status.get("state", "unknown"))
    if state == "suppressed":
        state = "silenced" if silenced else "inhibited" if inhibited else "suppressed"
    return AmAlert(state, silenced, inhibited)


class BadAnswer(ValueError):
    """An Alertmanager answered something that is not a list of alerts."""


def am_alerts(answer: Any) -> dict[Identity, AmAlert]:
    """finmon's alerts (those with a `rule` and a `scope` label) in an `/api/v2/alerts` answer, by identity."""
    if not isinstance(answer, list):
        raise BadAnswer(f"expected a list of alerts, got {type(answer).__name__}")
    found: dict[Identity, AmAlert] = {}
    for item in answer:
        labels = item.get("labels") if isinstance(item, dict) else None
        if not isinstance(labels, dict) or "rule" not in labels or "scope" not in labels:
            continue
        found[identity(labels)] = am_alert(item.get("status"))
    return found


@dataclass(frozen=True)
class AmView:
    """What one Alertmanager said: its alerts, or why it could not be read."""

    url: str
    alerts: dict[Identity, AmAlert] = field(default_factory=dict)
    error: str | None = None

    def state_of(self, key: Identity | None) -> dict[str, Any]:
        """The state of the alert `key` names (None: an episode Alertmanager does not hold, an older one)."""
        row: dict[str, Any] = {"url": self.url}
        if self.error is not None:
            return {**row, "state": "unreachable", "error": self.error}
        alert = self.alerts.get(key) if key is not None else None
        if alert is None:
            return {**row, "state": "absent"}
        return {
            **row,
            "state": alert.state,
            "silenced_by": list(alert.silenced_by),
            "inhibited_by": list(alert.inhibited_by),
        }

    def summary(self) -> dict[str, Any]:
        if self.error is not None:
            return {"url": self.url, "reachable": False, "error": self.error}
        return {"url": self.url, "reachable": True, "alerts": len(self.alerts)}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def latest_episodes(hits: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The newest event of each alert episode (fingerprint + start) from hits sorted newest first."""
    seen: set[tuple[str, str]] = set()
    rows = []
    for hit in hits:
        source = hit.get("_source") if isinstance(hit, Mapping) else None
        if not isinstance(source, Mapping) or not isinstance(source.get("labels"), Mapping):
            continue
        episode = (str(source.get("fingerprint")), str(source.get("starts_at")))
        if episode in seen:
            continue
        seen.add(episode)
        rows.append(_row(source))
    return rows


def _row(source: Mapping[str, Any]) -> dict[str, Any]:
    labels = source["labels"]
    scope = str(labels.get("scope", ""))
    return {
        "fingerprint": str(source.get("fingerprint", "")),
        "rule": str(labels.get("rule", "")),
        "scope": scope,
        "key": str(labels.get(scope, "")) if scope in ("topic", "ticker") else "",
        "severity": str(labels.get("severity", "")),
        "status": str(source.get("status", "")),
        "starts_at": _text(source.get("starts_at")),
        "ends_at": _text(source.get("ends_at")),
        "at": _text(source.get("at")),
        "summary": str(source.get("summary", "")),
        "identity": identity(labels),
    }


def merged(episodes: Sequence[dict[str, Any]], views: Sequence[AmView]) -> list[dict[str, Any]]:
    """Each episode with its state in every Alertmanager; firing ones first, then newest first. Alertmanager
    holds one alert per identity: it is the newest episode's, an older one of the same scope reads as absent."""
    rows, seen = [], set()
    for episode in sorted(episodes, key=_when, reverse=True):
        key = episode["identity"]
        row = {name: value for name, value in episode.items() if name != "identity"}
        row["alertmanager"] = [view.state_of(None if key in seen else key) for view in views]
        seen.add(key)
        rows.append(row)
    rows.sort(key=lambda row: row["status"] != "firing")  # stable: newest first within each
    return rows


def _when(row: Mapping[str, Any]) -> datetime:
    return moment(row["at"]) or datetime.min.replace(tzinfo=UTC)


def alerts_request(alerts_time: str, end: str, size: int) -> dict[str, Any]:
    """The newest alert events up to the window's end (a firing alert may have started long before it)."""
    query = {"bool": {"filter": [{"range": {alerts_time: {"lte": end, "format": "strict_date_optional_time"}}}]}}
    return {"size": size, "sort": [{alerts_time: {"order": "desc"}}], "query": query}


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 time (Z or an offset; naive read as UTC), or None where it is not one."""
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def in_window(row: Mapping[str, Any], start: datetime) -> bool:
    """Still firing, or ended within the window."""
    ended = moment(row["ends_at"] or row["at"])
    return row["status"] == "firing" or (ended is not None and ended >= start)
