"""What the evaluator keeps in Elasticsearch: detector state, the one-evaluator lease, the delivery outbox
and the alert history (`finmon-alerts`, for Kibana). Thin adapters on the indices of `alerts.alert_indices`, each
created when missing; the logic lives in pure modules.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from alerts.alert import AlertEvent
from alerts.alert_indices import HISTORY_MAPPING, OUTBOX_MAPPING, STATE_MAPPING
from alerts.outbox import KINDS, Delivery, Kind
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
    """Deliveries as documents (id = delivery id); `create` keeps the first copy of a notification, claims and
    updates are compare-and-swap on the document's sequence number."""

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

    def put(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self.client.index(index=self.index, id=delivery.id, document=delivery.to_json())
        if deliveries:
            self.client.indices.refresh(index=self.index)

    def claim(
        self,
        now: datetime,
        until: datetime,
        target: str | None = None,
        limit: int = 100,
        exclude: Collection[str] = (),
    ) -> list[Delivery]:
        filters: list[dict[str, Any]] = [
            {"term": {"state": "pending"}},
            {"range": {"next_attempt_at": {"lte": iso(now)}}},
        ]
        if target is not None:
            filters.append({"term": {"target": target}})
        query: dict[str, Any] = {"bool": {"filter": filters}}
        if exclude:
            query["bool"]["must_not"] = [{"terms": {"target": list(exclude)}}]
        response = self.client.search(
            index=self.index,
            query=query,
            size=limit,
            sort=[{"next_attempt_at": {"order": "asc"}}],
            seq_no_primary_term=True,
        )
        claimed = [self._claim(hit, until) for hit in response["hits"]["hits"]]
        return [delivery for delivery in claimed if delivery is not None]

    def _claim(self, hit: dict[str, Any], until: datetime) -> Delivery | None:
        delivery = replace(Delivery.from_json(hit["_source"]), next_attempt_at=until)
        try:
            written = self.client.index(
                index=self.index,
                id=delivery.id,
                document=delivery.to_json(),
                if_seq_no=hit["_seq_no"],
                if_primary_term=hit["_primary_term"],
                refresh=True,
            )
        except ConflictError:  # another sender took it (or it was rewritten) since the search
            return None
        return replace(delivery, version=(written["_seq_no"], written["_primary_term"]))

    def update(self, delivery: Delivery) -> bool:
        version: dict[str, Any] = {}
        if delivery.version is not None:
            version = {"if_seq_no": delivery.version[0], "if_primary_term": delivery.version[1]}
        try:
            self.client.index(index=self.index, id=delivery.id, document=delivery.to_json(), refresh=True, **version)
        except ConflictError:
            log.debug("delivery %s changed while it was sent; its new state stays pending", delivery.id)
            return False
        return True

    def backlog(self) -> dict[Kind, int]:
        counts: dict[Kind, int] = {}
        for kind in KINDS:
            query = {"bool": {"filter": [{"term": {"state": "pending"}}, {"term": {"kind": kind}}]}}
            counts[kind] = int(self.client.count(index=self.index, query=query)["count"])
        return counts


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
