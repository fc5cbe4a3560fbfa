"""A hostile mix for news.raw: good news interleaved with every kind of bad message (test support, pure).

Used by the worker's integration test on both Elasticsearch-API servers and reusable against a real
cluster: each message says whether it is good news (to be indexed exactly once) or poison (to be
dead-lettered with a reason), so a run is checked by counting.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

MB = 1_000_000
# A poison that only Elasticsearch refuses: its published_at carries a time, which an index mapping
# `published_at` as {"type": "date", "format": "yyyy-MM-dd"} (see `strict_date_mapping`) cannot parse.
ES_REJECTED_DATE = "2026-11-20T10:00:00Z"


@dataclass(frozen=True)
class Message:
    """One record for news.raw: its value (None = tombstone), key, headers, and what must happen to it."""

    name: str
    value: bytes | None
    good: bool
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _json(item: object) -> bytes:
    return json.dumps(item).encode()


def good_news(run: str, count: int) -> list[Message]:
    """Distinct, valid news items (no published_at, so the strict date mapping accepts them)."""
    return [
        Message(
            f"good-{i}",
            _json(
                {"title": f"Acme shares move {i} after earnings", "url": f"https://e.example/{run}/{i}", "source": "w"}
            ),
            good=True,
            key=f"good-{i}".encode(),
        )
        for i in range(count)
    ]


def _structure(run: str) -> Iterator[tuple[str, bytes | None]]:
    yield "deep-array", b"[" * 100_000
    yield "deep-object", b'{"a":' * 100_000
    yield "deep-closed-array", b"[" * 50_000 + b"]" * 50_000
    yield "deep-in-a-field", b'{"title": "t", "extra": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    yield "empty", b""
    yield "tombstone", None  # sent with a key: a true tombstone
    yield "whitespace", b"   \n"
    yield "number", b"42"
    yield "string", b'"Acme shares up"'
    yield "list", b'[{"title": "Acme shares up"}]'
    yield "json-null", b"null"
    yield "json-true", b"true"
    yield "truncated-json", b'{"title": "Acme'
    yield "invalid-utf8", b'{"title": "Acme \xff\xfe shares"}'
    yield "binary", bytes(range(256)) * 8
    yield "utf16", '{"title": "Acme shares up"}'.encode("utf-16")


def _fields(run: str) -> Iterator[tuple[str, bytes | None]]:
    url = f"https://e.example/{run}/poison"
    yield "missing-title-and-text", _json({"url": url})
    yield "empty-object", b"{}"
    yield "title-int", _json({"title": 12345, "url": url})
    yield "title-list", _json({"title": ["Acme", "shares"], "url": url})
    yield "title-object", _json({"title": {"en": "Acme"}, "url": url})
    yield "tickers-string", _json({"title": "Acme up", "tickers": "ACME"})
    yield "title-nan", b'{"title": NaN}'
    yield "infinity-field", b'{"title": "Acme up", "score": Infinity}'
    yield "huge-float", b'{"title": "Acme up", "score": 1e999}'
    yield "huge-int", b'{"title": "Acme up", "n": ' + b"9" * 10_000 + b"}"
    yield "date-words", _json({"title": "Acme up", "published_at": "next tuesday"})
    yield "date-year-0", _json({"title": "Acme up", "published_at": "0000-01-01T00:00:00Z"})
    yield "date-year-1", _json({"title": "Acme up", "published_at": "0001-01-01T00:00:00Z"})
    yield "date-year-99999", _json({"title": "Acme up", "published_at": "99999-01-01T00:00:00Z"})
    yield "date-month-13", _json({"title": "Acme up", "published_at": "2026-13-45T00:00:00Z"})
    yield "date-huge-epoch", _json({"title": "Acme up", "published_at": 10**30})
    yield "lone-surrogate-title", b'{"title": "Acme \\ud800 up"}'
    yield "lone-surrogate-text", b'{"title": "Acme up", "text": "x \\udfff y"}'
    yield "nul-title", b'{"title": "Acme\\u0000 up"}'
    yield "control-chars", b'{"title": "Acme \\u0007\\u001b[31m up"}'
    yield "duplicate-keys", b'{"title": "Acme up", "title": "Acme down"}'
    yield "long-url", _json({"title": "Acme up", "url": "https://e.example/" + "a" * 100_000})
    yield "schema-version-99", _json({"v": 99, "title": "Acme up"})
    yield "no-letters", _json({"title": "\u200b\u200b \u2063", "url": url})
    yield "punctuation-only", _json({"title": "!!! ... ???"})


def _huge(run: str) -> Iterator[tuple[str, bytes | None]]:
    yield "title-1.2MB", _json({"title": "A" * (12 * MB // 10), "url": f"https://e.example/{run}/t"})
    yield "text-8MB", _json({"title": "Acme up", "text": "word " * (8 * MB // 5)})
    yield "binary-3MB", random.Random(7).randbytes(3 * MB)


def poison(run: str, *, huge: bool = True) -> list[Message]:
    """Every bad message, each once; `huge` adds the multi-megabyte ones (the broker must accept 10 MB)."""
    parts = [_structure(run), _fields(run)] + ([_huge(run)] if huge else [])
    messages = [Message(name, value, good=False, key=name.encode()) for part in parts for name, value in part]
    odd_headers = [("\u00e9\u0000", b"\xff\xfe"), ("x" * 1000, b"y" * 10_000), ("dup", b"1"), ("dup", b"2")]
    messages.append(Message("binary-key-poison", b"\x00\x01 not json", good=False, key=b"\xff\x00\xfe" * 100))
    messages.append(Message("huge-key-poison", b"not json", good=False, key=b"k" * 200_000))
    messages.append(Message("odd-headers-poison", b"{not json}", good=False, headers=odd_headers))
    return messages


def quirky_good_news(run: str) -> list[Message]:
    """Valid news that arrives oddly (binary key, odd headers, escapes): must be indexed like any other."""
    url = f"https://e.example/{run}/quirky"
    odd_headers = [("\u00e9", b"\xff\xfe\x00"), ("dup", b"1"), ("dup", b"2")]
    return [
        Message("good-binary-key", _json({"title": "Bonds rally on binary key", "url": url + "/1"}), True, b"\xff\x00"),
        Message(
            "good-odd-headers", _json({"title": "Gold up on odd headers", "url": url + "/2"}), True, None, odd_headers
        ),
        Message("good-emoji", b'{"title": "Rocket \\ud83d\\ude80 stocks up", "url": "' + url.encode() + b'/3"}', True),
        Message("good-newlines", _json({"title": "Oil\tfalls", "text": "line one\nline two", "url": url + "/4"}), True),
    ]


def es_rejected(run: str) -> Message:
    """Valid for finmon, refused by an index whose mapping is `strict_date_mapping` (a per-document error)."""
    item = {
        "title": "Acme up, dated to the second",
        "url": f"https://e.example/{run}/dated",
        "published_at": ES_REJECTED_DATE,
    }
    return Message("es-rejects-document", _json(item), good=False)


def strict_date_mapping(mapping: dict) -> dict:
    """The news mapping with a published_at format that refuses date-times (same field type)."""
    properties = {**mapping["properties"], "published_at": {"type": "date", "format": "yyyy-MM-dd"}}
    return {**mapping, "properties": properties}


def mix(good: list[Message], bad: list[Message], seed: int = 0) -> list[Message]:
    """Bad messages spread through the good ones at random places (the good keep their order)."""
    rng = random.Random(seed)
    slots = sorted(rng.randrange(len(good) + 1) for _ in bad)
    shuffled = rng.sample(bad, len(bad))
    out: list[Message] = []
    cursor = 0
    for slot, message in zip(slots, shuffled, strict=True):
        out += good[cursor:slot]
        out.append(message)
        cursor = slot
    return out + good[cursor:]
