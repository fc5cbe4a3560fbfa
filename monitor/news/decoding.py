"""Decode raw Kafka values into NewsItems, or say exactly why not (pure).

Every failure of one message, whatever the input, becomes an InvalidMessage: deeply nested JSON
(RecursionError), integers past Python's digit limit (ValueError), lone surrogates that cannot be written
back out as UTF-8, and anything else a hostile producer can think of.

Stricter than `json.loads`: NaN/Infinity literals, numbers that overflow to infinity and duplicate keys are
refused (RFC 8259 leaves their meaning open), and so are control characters other than tab and newlines,
dates outside 1970..2200, and contents without a single letter or digit (nothing for the model to read).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

from pydantic import ValidationError

from monitor.news.schemas import NewsItem

# A JSON escape of a control character other than tab, newline and carriage return.
_CONTROL_ESCAPE = re.compile(r"\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_CONTROL_CHARS = frozenset(chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127])
_TEXT_FIELDS = ("id", "url", "source", "title", "text", "language", "story_id")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# A \uD800-\uDFFF escape: a surrogate, paired (an emoji) or alone (not encodable); checked only when present.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class InvalidMessage(ValueError):
    """A raw message that is not a valid NewsItem; `stage` is decode or validate."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        field = ".".join(str(p) for p in error["loc"]) or "item"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


def _parse(raw: bytes) -> object:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage("decode", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return _DECODER.decode(text)
    except _Refused as exc:
        raise InvalidMessage("decode", f"invalid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidMessage("decode", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidMessage("decode", "invalid JSON: nested too deeply") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. an integer over Python's digit limit
        raise InvalidMessage("decode", f"invalid JSON: {str(exc)[:200]}") from None


class _Refused(Exception):
    """Raised from inside json.loads for input that parses but is not acceptable JSON."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _Refused(f"duplicate key {duplicate[:100]!r}")
    return result


def _no_constant(name: str) -> object:
    raise _Refused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"number {text[:50]} overflows")
    return value


def _validate(data: object) -> NewsItem:
    if not isinstance(data, dict):
        raise InvalidMessage("decode", f"expected a JSON object, got {type(data).__name__}")
    try:
        return NewsItem.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage("validate", f"invalid news item: {_describe(exc)}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # a validator tripping over odd input
        raise InvalidMessage("validate", f"invalid news item: {type(exc).__name__}: {str(exc)[:200]}") from None


def _check_encodable(item: NewsItem, raw: bytes) -> None:
    """Lone surrogates decode from JSON escapes but cannot be written to Elasticsearch or Kafka."""
    if b"\\u" not in raw or not _SURROGATE_ESCAPE.search(raw.decode("utf-8")):
        return
    try:
        item.to_json()
    except UnicodeEncodeError as exc:
        raise InvalidMessage("validate", f"invalid news item: unpaired surrogate ({exc.reason})") from None


def _check_control(item: NewsItem, raw: bytes) -> None:
    if b"\\u00" not in raw or not _CONTROL_ESCAPE.search(raw.decode("utf-8")):
        return
    for name in _TEXT_FIELDS:
        value = getattr(item, name) or ""
        bad = next((c for c in value if c in _CONTROL_CHARS), None)
        if bad is not None:
            raise InvalidMessage("validate", f"invalid news item: {name}: control character U+{ord(bad):04X}")
    if any(c in _CONTROL_CHARS for ticker in item.tickers for c in ticker):
        raise InvalidMessage("validate", "invalid news item: tickers: control character")


def _check_sense(item: NewsItem) -> None:
    for name in ("published_at", "fetched_at"):
        value = getattr(item, name)
        if value is not None and not EARLIEST <= value < LATEST:
            raise InvalidMessage("validate", f"invalid news item: {name}: {value.isoformat()} is outside 1970..2200")
    if not any(c.isalnum() for c in item.content):
        raise InvalidMessage("validate", "invalid news item: title and text have no letter or digit")


# Built once: `json.loads` with hooks builds a new decoder for every message.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite)


def decode_news(raw: bytes | None) -> NewsItem:
    """Parse one message value; raises InvalidMessage with a human-readable reason."""
    if not raw:
        raise InvalidMessage("decode", "empty message")
    item = _validate(_parse(raw))
    _check_encodable(item, raw)
    _check_control(item, raw)
    _check_sense(item)
    return item
