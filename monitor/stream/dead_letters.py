"""The record a dead letter becomes on news.dlq: original bytes and why, cut to fit the broker (pure).

A dead letter can never fail for size: a value (or key) that would make the record larger than the
producer's limit is truncated, and the record says so: `original-size` and `sha256` headers carry the
original's size and digest, and the reason ends with what was cut.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from monitor.contracts import REASON_LIMIT

KEY_LIMIT = 4096  # bytes of a key kept; a longer key is cut (and its size and digest recorded)
# bytes kept free for the record and batch framing the producer adds when a dead letter is cut to fit its
# request size (news.scored's check of whether a record fits keeps its own, larger margin: kafka_output)
DLQ_FRAMING_MARGIN = 2048


@dataclass(frozen=True)
class Source:
    """Where the message came from."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class DlqRecord:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def _text(value: str) -> bytes:
    return value.encode("utf-8", "backslashreplace")


def dlq_record(
    raw: bytes, key: bytes | None, stage: str, reason: str, source: Source, failed_at: str, max_size: int
) -> DlqRecord:
    """The dead-letter record for one message, never larger than `max_size` bytes."""
    extra: list[tuple[str, bytes]] = []
    if key is not None and len(key) > KEY_LIMIT:
        extra += [
            ("original-key-size", str(len(key)).encode()),
            ("key-sha256", hashlib.sha256(key).hexdigest().encode()),
        ]
        reason += f" (key truncated from {len(key)} to {KEY_LIMIT} bytes)"
        key = key[:KEY_LIMIT]
    headers = _headers(stage, reason, source, failed_at)
    room = max_size - DLQ_FRAMING_MARGIN - len(key or b"") - _size(headers + extra) - 2 * REASON_LIMIT
    if len(raw) > room:
        room = max(room, 0)
        extra += [("original-size", str(len(raw)).encode()), ("sha256", hashlib.sha256(raw).hexdigest().encode())]
        reason += f" (dead letter truncated from {len(raw)} to {room} bytes: see the original-size and sha256 headers)"
        headers = _headers(stage, reason, source, failed_at)
        raw = raw[:room]
    return DlqRecord(key, raw, headers + extra)


def _headers(stage: str, reason: str, source: Source, failed_at: str) -> list[tuple[str, bytes]]:
    return [
        ("finmon.error.stage", stage.encode()),
        ("finmon.error.reason", _text(_shorten(reason))),
        ("finmon.source.topic", _text(source.topic)),
        ("finmon.source.partition", str(source.partition).encode()),
        ("finmon.source.offset", str(source.offset).encode()),
        ("finmon.failed_at", failed_at.encode()),
    ]


def _shorten(reason: str) -> str:
    """At most REASON_LIMIT characters, keeping the start (what failed) and the end (what was cut)."""
    if len(reason) <= REASON_LIMIT:
        return reason
    return reason[: REASON_LIMIT // 2] + " … " + reason[-(REASON_LIMIT // 2 - 3) :]


def _size(headers: list[tuple[str, bytes]]) -> int:
    return sum(len(name) + len(value) + 8 for name, value in headers)
