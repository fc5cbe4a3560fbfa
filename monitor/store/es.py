"""Thin Elasticsearch adapter: the client factory, the news index and an idempotent bulk sink."""

from __future__ import annotations

import difflib
import inspect
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, HttpHeaders, SerializationError, Urllib3HttpNode
from elastic_transport._models import DEFAULT, DefaultType
from elastic_transport._node import NodeApiResponse
from elasticsearch import ApiError, Elasticsearch

from monitor.backoff import backoff_delays
from monitor.contracts import REASON_LIMIT, Rejected
from monitor.news.schemas import EncodedNews
from monitor.stage_settings import ElasticsearchSettings, SettingsError
from monitor.telemetry.es_series import EsMetrics

log = logging.getLogger(__name__)

__all__ = ["EsNewsSink", "make_client"]

RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
BULK_DOCS = 500  # documents per bulk request, at most
BULK_BYTES = 10_000_000  # bytes per bulk request, at most (a single larger document still goes alone)
# A whole bulk request refused with these: some document in it is at fault; halve until it stands alone.
DOCUMENT_STATUS = frozenset({400, 413})


class PlainJsonNode(Urllib3HttpNode):
    """Sends application/json and application/x-ndjson instead of Elastic's versioned media types.

    Servers that speak the Elasticsearch API but not its compatibility headers (OpenSearch, osmem) need it.
    """

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers:
            headers = headers.copy()
            for name in list(headers):
                value = headers[name]
                if "vnd.elasticsearch+" in value:
                    headers[name] = "application/x-ndjson" if "ndjson" in value else "application/json"
        return super().perform_request(method, target, body=body, headers=headers, request_timeout=request_timeout)


def make_client(settings: ElasticsearchSettings) -> Elasticsearch:
    options: dict[str, Any] = {
        "request_timeout": settings.request_timeout,
        "verify_certs": settings.verify_certs,
        "max_retries": settings.max_retries,
        "retry_on_timeout": True,
    }
    if settings.api_key:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        options["basic_auth"] = (settings.username, password)
    if settings.ca_certs:
        options["ca_certs"] = str(settings.ca_certs)
    if settings.plain_json:
        options["node_class"] = PlainJsonNode
    options.update(checked_client_options(settings.client_options))
    return Elasticsearch(settings.urls, **options)


def checked_client_options(extra: dict[str, Any]) -> dict[str, Any]:
    """FINMON_ES__CLIENT_OPTIONS when every key is a keyword of the Elasticsearch client, else a SettingsError
    naming the setting, the unknown keys and the nearest real ones."""
    known = [name for name in inspect.signature(Elasticsearch.__init__).parameters if name not in ("self", "hosts")]
    unknown = sorted(set(extra) - set(known))
    if unknown:
        hints = {key: difflib.get_close_matches(key, known, n=1) for key in unknown}
        said = ", ".join(f"{key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "") for key, hint in hints.items())
        raise SettingsError(f"FINMON_ES__CLIENT_OPTIONS: not a keyword of the Elasticsearch client: {said}")
    return extra


class SinkStopped(Exception):
    """The sink was asked to stop while it was still retrying; nothing of the batch may be acknowledged."""


class EsNewsSink:
    """Writes ScoredNews with `create` (the news id as `_id`): a replay or a redelivery never duplicates.

    When the index is a rollover alias (`finmon setup` with ILM), `create` only guards the current write
    index, so each batch first asks the alias (all backing indices) which ids it already holds and skips
    them; what remains possible is a redelivery within one refresh interval of a rollover.

    Retries connection errors and 429/5xx with backoff until they succeed or `stop()` is called;
    returns the documents rejected for good (e.g. mapping errors) so the caller can dead-letter them.
    """

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        *,
        prepare: Callable[[], None],
        max_backoff: float = 30.0,
        sleep: Callable[[float], bool] | None = None,
        metrics: EsMetrics | None = None,
    ) -> None:
        self.client = client
        self.index = index
        # index setup, run (with the same retries) before the first write: a worker started while
        # Elasticsearch is down waits for it instead of failing
        self._prepare = prepare
        self.metrics = metrics or EsMetrics()
        self.alias = False
        self.max_backoff = max_backoff
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._index_ready = False

    def stop(self) -> None:
        self._stopping.set()

    def write(self, docs: Sequence[EncodedNews]) -> list[Rejected]:
        pending = {news.doc.id: news for news in docs}
        rejected: list[Rejected] = []
        delays: Iterator[float] = backoff_delays(0.2, self.max_backoff)
        while pending:
            try:
                if not self._index_ready:
                    self._prepare()
                    self.alias = bool(self.client.indices.exists_alias(name=self.index))
                    self._index_ready = True
                retry, failed = self._isolating_bulk(self._not_indexed(list(pending.values())))
            except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.meta.status not in RETRIABLE_STATUS:
                    raise
                retry, failed = list(pending), []
                self.metrics.es_bulk_errors.labels("unavailable").inc()
                log.warning("Elasticsearch unavailable (%s); retrying", type(exc).__name__)
            rejected += [Rejected(pending[i].doc, reason) for i, reason in failed]
            pending = {i: pending[i] for i in retry}
            if pending:
                self.metrics.es_retries.inc()
                if self._sleep(next(delays)):
                    raise SinkStopped(f"{len(pending)} documents not indexed")
        return rejected

    def _not_indexed(self, docs: list[EncodedNews]) -> list[EncodedNews]:
        """Behind a rollover alias: leave out documents an older backing index already holds."""
        if not self.alias or not docs:
            return docs
        response = self.client.search(
            index=self.index, query={"ids": {"values": [d.doc.id for d in docs]}}, source=False, size=len(docs)
        )
        found = {hit["_id"] for hit in response["hits"]["hits"]}
        self.metrics.es_duplicates.inc(len(found))
        return [d for d in docs if d.doc.id not in found]

    def _isolating_bulk(self, docs: list[EncodedNews]) -> tuple[list[str], list[tuple[str, str]]]:
        """`_bulk`, except that a request refused as a whole (400, 413, a document that does not serialise)
        is split in halves until the documents at fault are alone, and those are rejected."""
        try:
            return self._bulk(docs)
        except (ApiError, SerializationError, ValueError, TypeError) as exc:
            if isinstance(exc, ApiError) and exc.meta.status not in DOCUMENT_STATUS:
                raise
            if len(docs) == 1:
                self.metrics.es_bulk_errors.labels("rejected").inc()
                return [], [
                    (docs[0].doc.id, f"elasticsearch rejected the document: {type(exc).__name__}: {exc}"[:REASON_LIMIT])
                ]
            middle = len(docs) // 2
            retry_a, failed_a = self._isolating_bulk(docs[:middle])
            retry_b, failed_b = self._isolating_bulk(docs[middle:])
            return retry_a + retry_b, failed_a + failed_b

    def _bulk(self, docs: list[EncodedNews]) -> tuple[list[str], list[tuple[str, str]]]:
        """Bulk requests of prepared NDJSON lines (`es_document`); returns
        ids to retry and (id, reason) of documents rejected for good."""
        retry: list[str] = []
        failed: list[tuple[str, str]] = []
        for chunk in _chunks(self.index, docs):
            self.metrics.es_bulk_requests.inc()
            response = self.client.bulk(operations=chunk, refresh=False)  # type: ignore[arg-type]  # NDJSON lines
            if not response.get("errors"):
                continue
            for item in response["items"]:
                self._item(next(iter(item.values())), retry, failed)
        return retry, failed

    def _item(self, result: dict[str, Any], retry: list[str], failed: list[tuple[str, str]]) -> None:
        status = result.get("status", 0)
        if status < 300:
            return
        if status == 409:  # already indexed by an earlier delivery: that is success
            self.metrics.es_duplicates.inc()
        elif status in RETRIABLE_STATUS:
            self.metrics.es_bulk_errors.labels("retriable").inc()
            retry.append(result["_id"])
        else:
            self.metrics.es_bulk_errors.labels("rejected").inc()
            error = result.get("error", {})
            reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
            failed.append((result["_id"], f"elasticsearch rejected ({status}): {reason}"[:REASON_LIMIT]))


def _chunks(index: str, docs: Sequence[EncodedNews]) -> Iterator[list[bytes]]:
    """NDJSON lines (`create` action, document) in requests of at most BULK_DOCS documents / BULK_BYTES."""
    lines: list[bytes] = []
    size = 0
    for news in docs:
        action = b'{"create":{"_index":%s,"_id":%s}}' % (json.dumps(index).encode(), json.dumps(news.doc.id).encode())
        source = es_document(news)
        if lines and (len(lines) >= 2 * BULK_DOCS or size + len(source) > BULK_BYTES):
            yield lines
            lines, size = [], 0
        lines += [action, source]
        size += len(action) + len(source) + 2
    if lines:
        yield lines


def es_document(news: EncodedNews) -> bytes:
    """The news index's JSON document: the news.scored record (its fields by alias, no None) plus `event_at`.

    Built from the bytes news.scored also gets, so a document is serialised by pydantic once, in one pass (the
    same fields and values as `json.dumps` over `model_dump`, a third of the time)."""
    body = news.json
    return b'%s,"event_at":"%s"}' % (body[:-1], news.doc.event_at.isoformat().encode())  # ISO: nothing to escape
