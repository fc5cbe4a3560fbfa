"""The review page's routes: the page, its session (the same-origin token and the label names), the queue,
and the two write endpoints (store a label, undo one).

Writes are refused unless the page is served on loopback, the request comes from the page's own origin
(Origin must equal `http://<Host>`, and Host is a loopback name, checked by `Routes`), it carries the
token only the page can read (no CORS: another site's script cannot read `/api/review/session`), and its
body is a small JSON object with known fields. Every refusal is a JSON error saying why.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from elastic_transport import TransportError
from elasticsearch import ApiError

from monitor.dashboard import static_dir
from monitor.dashboard.page_routes import LOOPBACK, es_failure, static_reply
from monitor.dashboard.review import UnknownNews
from monitor.dashboard.timerange import UnknownRange
from monitor.labels.files import SENTIMENT, TOPIC, LabelNames
from monitor.telemetry.http_server import Reply, Request, Route, error_reply, json_reply

TOKEN_HEADER = "x-finmon-token"
QUEUE_SIZE, MAX_QUEUE = 50, 200
MAX_ID, MAX_LABELLER = 256, 64
LABEL_FIELDS = {"news_id", SENTIMENT, TOPIC, "labeller"}


class Review(Protocol):
    def queue(self, range_name: str, size: int) -> dict[str, Any]: ...
    def counts(self) -> dict[str, Any]: ...
    def label(self, news_id: str, sentiment: str | None, topic: str | None, labeller: str | None) -> dict[str, Any]: ...
    def undo(self, news_id: str) -> dict[str, Any]: ...


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_write(request: Request, token: str, bind_host: str) -> None:
    """Refused unless a same-origin request of the page itself, on loopback."""
    if request.method != "POST":
        raise Refused(405, f"{request.method} is not allowed here: POST a JSON object")
    if bind_host not in LOOPBACK:
        raise Refused(403, "labels are only taken on loopback (FINMON_DASHBOARD__HOST is not a loopback address)")
    origin, host = request.headers.get("origin"), request.headers.get("host")
    if not origin or origin != f"http://{host}":
        raise Refused(403, f"cross-site request refused: Origin {origin!r} is not this page (http://{host})")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Refused(403, "cross-site request refused (Sec-Fetch-Site)")
    if not hmac.compare_digest(request.headers.get(TOKEN_HEADER, "").encode(), token.encode()):
        raise Refused(403, "missing or wrong X-Finmon-Token: reload the review page")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refused(415, "send the body as application/json")


def json_object(body: bytes, allowed: set[str]) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "the body is not a JSON object") from None
    if not isinstance(value, dict):
        raise Refused(400, "the body is not a JSON object")
    if unknown := sorted(set(value) - allowed):
        raise Refused(400, f"unknown field(s) {', '.join(unknown)}: expected {', '.join(sorted(allowed))}")
    return value


def short_string(value: Any, name: str, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refused(400, f"`{name}` is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(400, f"`{name}` must be a string of at most {limit} characters")
    return value.strip()


def parse_label(body: bytes, names: LabelNames) -> tuple[str, str | None, str | None, str | None]:
    """(news id, sentiment, topic, labeller) of a label request; Refused says what is wrong."""
    value = json_object(body, LABEL_FIELDS)
    news_id = short_string(value.get("news_id"), "news_id", MAX_ID, required=True)
    try:
        sentiment = names.canonical(SENTIMENT, value.get(SENTIMENT))
        topic = names.canonical(TOPIC, value.get(TOPIC))
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    if sentiment is None and topic is None:
        raise Refused(400, "a label needs a sentiment or a topic")
    assert news_id is not None
    return news_id, sentiment, topic, short_string(value.get("labeller"), "labeller", MAX_LABELLER)


def queue_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUEUE:
        raise Refused(400, f"size must be a whole number from 1 to {MAX_QUEUE}")
    return int(text)


class ReviewRoutes:
    """The review page's routes, for `Routes(extra=...)`."""

    def __init__(self, review: Review, names: LabelNames, bind_host: str, default_range: str = "7d") -> None:
        self.review, self.names, self.bind_host, self.default_range = review, names, bind_host, default_range
        self.token = secrets.token_urlsafe(32)

    def routes(self) -> dict[str, Route]:
        return {
            "/review": self._reading(lambda _: static_reply(static_dir(), "review.html")),
            "/api/review/session": self._reading(self._session),
            "/api/review/queue": self._reading(self._queue),
            "/api/labels": self._writing(self._label),
            "/api/labels/undo": self._writing(self._undo),
        }

    def _session(self, _: Request) -> Reply:
        names = {"sentiments": list(self.names.sentiments), "topics": list(self.names.topics)}
        writable = self.bind_host in LOOPBACK
        return json_reply(200, {"token": self.token, "writable": writable, "range": self.default_range, **names})

    def _queue(self, request: Request) -> Reply:
        size = queue_size(request.query("size", str(QUEUE_SIZE)))
        return json_reply(200, self.review.queue(request.query("range", self.default_range), size))

    def _label(self, request: Request) -> Reply:
        news_id, sentiment, topic, labeller = parse_label(request.body, self.names)
        return json_reply(200, self.review.label(news_id, sentiment, topic, labeller))

    def _undo(self, request: Request) -> Reply:
        value = json_object(request.body, {"news_id"})
        news_id = short_string(value.get("news_id"), "news_id", MAX_ID, required=True)
        assert news_id is not None
        return json_reply(200, self.review.undo(news_id))

    def _reading(self, route: Route) -> Route:
        def read(request: Request) -> Reply:
            if request.method != "GET":
                return error_reply(405, f"{request.method} is not allowed here (GET)")
            return _answered(route, request)

        return read

    def _writing(self, route: Route) -> Route:
        def write(request: Request) -> Reply:
            try:
                check_write(request, self.token, self.bind_host)
            except Refused as exc:
                return error_reply(exc.status, str(exc))
            return _answered(route, request)

        return write


def _answered(route: Callable[[Request], Reply], request: Request) -> Reply:
    try:
        return route(request)
    except Refused as exc:
        return error_reply(exc.status, str(exc))
    except UnknownRange as exc:
        return error_reply(400, str(exc))
    except UnknownNews as exc:
        return error_reply(404, str(exc))
    except (ApiError, TransportError) as exc:
        return es_failure(exc)
