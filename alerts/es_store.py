"""What the evaluator keeps in Elasticsearch: detector state, the one-evaluator lease, the delivery outbox
and the alert history (`finmon-alerts`, for Kibana). Thin adapters on the indices of `alerts.indices`, each
created when missing; the logic lives in pure modules.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from alerts.indices import HISTORY_MAPPING, OUTBOX_MAPPING, STATE_MAPPING
from alerts.model import AlertEvent
from alerts.outbox import Delivery
from monitor.store.es_setup import ensure_index
from monitor.times import iso

log = logging.getLogger(__name__)


class EsStateStore:
    """The detector's snapshot and the last evaluated window end, in one document."""

    DOC = "detector"

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client, self.index = client, index
        ensure_index(client, index, STATE_MAPPING)

    def load(self) -> tuple[dict[str, Any], datetime | None]:
        try:
            source = self.client.get(index=self.index, id=self.DOC)["_source"]
        except NotFoundError:
            return {}, None
        last = source.get("last_end")
        return dict(source.get("states", {})), datetime.fromisoformat(last) if last else None

    def save(self, states: dict[str, Any], last_end: datetime) -> None:
        self.client.index(
            index=self.index, id=self.DOC, document={"states": states, "last_end": last_end.isoformat()}, refresh=True
        )


class EsLease:
    """One evaluator at a time: a lease document taken with create / compare-and-swap (if_seq_no)."""

    DOC = "lease"

    def __init__(self, client: Elasticsearch, index: str, owner: str, duration: timedelta) -> None:
        self.client, self.index, self.owner, self.duration = client, index, owner, duration
        ensure_index(client, index, STATE_MAPPING)

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; False while another live evaluator holds it."""
        document = {"owner": self.owner, "expires_at": (now + self.duration).isoformat()}
        try:
            self.client.index(index=self.index, id=self.DOC, document=document, op_type="create", refresh=True)
            return True
        except ConflictError:
            pass
        try:
            current = self.client.get(index=self.index, id=self.DOC)
        except NotFoundError:
            return False  # released in between: take it on the next run
        held_by, expires = current["_source"].get("owner"), datetime.fromisoformat(current["_source"]["expires_at"])
        if held_by != self.owner and expires > now:
            return False
        try:
            self.client.index(
                index=self.index,
                id=self.DOC,
                document=document,
                refresh=True,
                if_seq_no=current["_seq_no"],
                if_primary_term=current["_primary_term"],
            )
        except ConflictError:
            return False
        if held_by != self.owner:
            log.warning("took over the alert evaluator lease from %s (expired %s)", held_by, expires)
        return True

    def release(self) -> None:
        try:
            current = self.client.get(index=self.index, id=self.DOC)
            if current["_source"].get("owner") == self.owner:
                self.client.delete(
                    index=self.index,
                    id=self.DOC,
                    refresh=True,
                    if_seq_no=current["_seq_no"],
                    if_primary_term=current["_primary_term"],
                )
        except (NotFoundError, ConflictError):
            pass


class EsOutbox:
    """Deliveries as documents (id = delivery id); `create` keeps the first copy of a notification."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client, self.index = client, index
        ensure_index(client, index, OUTBOX_MAPPING)

    def add(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            try:
                self.client.index(index=self.index, id=delivery.id, document=delivery.to_json(), op_type="create")
            except ConflictError:
                log.debug("delivery %s already in the outbox", delivery.id)
        self.client.indices.refresh(index=self.index)

    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        query = {
            "bool": {"filter": [{"term": {"state": "pending"}}, {"range": {"next_attempt_at": {"lte": iso(now)}}}]}
        }
        response = self.client.search(
            index=self.index, query=query, size=limit, sort=[{"next_attempt_at": {"order": "asc"}}]
        )
        return [Delivery.from_json(hit["_source"]) for hit in response["hits"]["hits"]]

    def update(self, delivery: Delivery) -> None:
        self.client.index(index=self.index, id=delivery.id, document=delivery.to_json(), refresh=True)


class EsHistory:
    """Every alert event as a document of `finmon-alerts` (idempotent ids), flattened for Kibana."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client, self.index = client, index
        ensure_index(client, index, HISTORY_MAPPING)

    def record(self, events: list[AlertEvent]) -> None:
        for event in events:
            self.client.index(index=self.index, id=event.key, document=history_document(event))
        if events:
            self.client.indices.refresh(index=self.index)


def history_document(event: AlertEvent) -> dict[str, Any]:
    return {
        "status": event.status,
        "fingerprint": event.fingerprint,
        "labels": event.labels,
        "annotations": event.annotations,
        "summary": event.annotations.get("summary", ""),
        "starts_at": iso(event.starts_at),
        "ends_at": iso(event.ends_at) if event.ends_at else None,
        "at": iso(event.at),
        "repeat": event.repeat,
        **event.values,
    }
