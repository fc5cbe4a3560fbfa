"""Decode raw Kafka values into NewsItems, or say exactly why not (pure)."""

from __future__ import annotations

import json

from pydantic import ValidationError

from monitor.schemas import NewsItem


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


def decode_news(raw: bytes | None) -> NewsItem:
    """Parse one message value; raises InvalidMessage with a human-readable reason."""
    if not raw:
        raise InvalidMessage("decode", "empty message")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage("decode", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage("decode", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise InvalidMessage("decode", f"expected a JSON object, got {type(data).__name__}")
    try:
        return NewsItem.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage("validate", f"invalid news item: {_describe(exc)}") from None
