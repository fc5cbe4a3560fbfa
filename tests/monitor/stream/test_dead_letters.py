"""Dead-letter records fit the producer's limit, and say so when they were cut (pure)."""

from __future__ import annotations

import hashlib

from monitor.stream.dead_letters import KEY_LIMIT, DlqRecord, Source, dlq_record

SOURCE = Source("news.raw", 3, 42)
LIMIT = 1_000_000


def size(record: DlqRecord) -> int:
    return len(record.value) + len(record.key or b"") + sum(len(k) + len(v) for k, v in record.headers)


def test_a_small_dead_letter_is_kept_byte_for_byte() -> None:
    record = dlq_record(b"not json", b"k", "decode", "invalid JSON", SOURCE, "2026-11-20T00:00:00", LIMIT)
    headers = dict(record.headers)
    assert record.value == b"not json" and record.key == b"k"
    assert headers["finmon.error.reason"] == b"invalid JSON" and headers["finmon.source.offset"] == b"42"
    assert "original-size" not in headers


def test_an_oversized_dead_letter_is_truncated_with_its_size_and_digest() -> None:
    raw = b"A" * 8_000_000
    record = dlq_record(raw, b"k", "validate", "text too long", SOURCE, "now", LIMIT)
    headers = dict(record.headers)
    assert size(record) < LIMIT and raw.startswith(record.value) and len(record.value) > LIMIT // 2
    assert headers["original-size"] == b"8000000"
    assert headers["sha256"] == hashlib.sha256(raw).hexdigest().encode()
    assert b"truncated from 8000000" in headers["finmon.error.reason"]


def test_a_huge_key_and_a_long_reason_are_cut_too() -> None:
    key = b"k" * 200_000
    record = dlq_record(b"x", key, "decode", "why " * 1000, SOURCE, "now", 20_000)
    headers = dict(record.headers)
    assert record.key == key[:KEY_LIMIT] and headers["original-key-size"] == b"200000"
    assert len(headers["finmon.error.reason"]) <= 1100 and headers["finmon.error.reason"].endswith(b"bytes)")
    assert size(record) < 20_000


def test_a_reason_that_is_not_utf8_encodable_still_becomes_a_header() -> None:
    record = dlq_record(b"x", None, "index", "bad \udc80 surrogate", SOURCE, "now", LIMIT)
    assert dict(record.headers)["finmon.error.reason"] == b"bad \\udc80 surrogate"
